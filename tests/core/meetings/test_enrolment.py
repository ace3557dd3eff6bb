"""Enrolled voices: matching, naming in imports, consent records, deletion by /forget_me and /optout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from core.domain.audio import Diarization
from core.domain.meetings import EnrolledVoice, MeetingScope, MeetingStatus
from core.meetings.enrolment import VoiceEnrolment, cosine, export_record, match_speakers
from core.meetings.optouts import MeetingOptOuts
from core.ports import Audio, EngineUnavailable, ProgressCallback
from core.storage.db import Database
from core.storage.optout_repository import MeetingOptOutRepository
from core.storage.voice_enrolment_repository import VoiceEnrolmentRepository
from core.voice.audio import AudioError
from tests.core.meetings.conftest import make_service, make_user
from tests.core.meetings.fakes import MEETING_TURNS, FakeDiarizer, write_wav

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _unit(*values: float) -> tuple[float, ...]:
    v = np.asarray(values, dtype=np.float64)
    return tuple(float(x) for x in v / np.linalg.norm(v))


def _voice(name: str, embedding: tuple[float, ...]) -> EnrolledVoice:
    return EnrolledVoice(
        id=name,
        owner_user_id="u",
        guild_id=None,
        platform_user_id=None,
        name=name,
        engine="test",
        seconds=10.0,
        consent_text="ok",
        consented_at=AT,
        embedding=embedding,
    )


@pytest.fixture
async def any_db(database_url: str) -> AsyncIterator[Database]:
    """SQLite, and PostgreSQL when configured."""
    database = Database(database_url)
    yield database
    await database.dispose()


def test_matching_is_one_to_one_above_the_threshold() -> None:
    alice, bob = _unit(1, 0, 0), _unit(0, 1, 0)
    clusters = {"S1": _unit(0.95, 0.2, 0.1), "S2": _unit(0.9, 0.3, 0.1), "S3": _unit(0, 0, 1)}
    # S1 is closest to Alice; S2 also resembles her but a name is given once; Bob matches nobody.
    assert match_speakers(clusters, [_voice("Alice", alice), _voice("Bob", bob)], 0.8) == {"S1": "Alice"}
    assert match_speakers(clusters, [], 0.8) == {}
    assert cosine((1.0, 0.0), (1.0, 0.0, 0.0)) == 0.0  # another engine's vector never matches


class _EmbeddingDiarizer(FakeDiarizer):
    """Scripted turns with one embedding per speaker, as the real diarizers return."""

    def __init__(self, embeddings: dict[str, tuple[float, ...]]) -> None:
        super().__init__(MEETING_TURNS)
        self.embeddings = embeddings

    async def diarize(
        self,
        audio: Audio,
        *,
        sample_rate: int = 16000,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Diarization:
        plain = await super().diarize(audio, sample_rate=sample_rate, num_speakers=num_speakers)
        return Diarization(turns=plain.turns, embeddings=self.embeddings, engine=self.name)


async def _enrol(
    repo: VoiceEnrolmentRepository, scope: MeetingScope, name: str, vector: tuple[float, ...]
) -> None:
    assert scope.user_id is not None
    await repo.enrol(
        owner_user_id=scope.user_id,
        guild_id=scope.guild_id,
        platform_user_id=None,
        name=name,
        embedding=vector,
        engine="test",
        seconds=12.0,
        consent_text=f"I agree ({name})",
        consented_at=AT,
    )


async def test_an_import_names_enrolled_speakers_of_its_scope_only(any_db: Database, tmp_path: Path) -> None:
    repo = VoiceEnrolmentRepository(any_db)
    alice = await make_user(any_db, "alice")
    carol = await make_user(any_db, "carol")
    await _enrol(repo, alice, "Bob Lee", _unit(0, 1, 0))
    service = make_service(
        any_db, tmp_path, diarizer=_EmbeddingDiarizer({"S1": _unit(1, 0.1, 0), "S2": _unit(0.05, 1, 0)})
    )  # type: ignore[arg-type]
    service.enrolment = VoiceEnrolment(repo, None)
    meeting = await service.import_file(alice, write_wav(tmp_path / "a.wav", 25))
    assert meeting.status is MeetingStatus.DONE, meeting.error
    speakers = [s.speaker for s in await service.transcript(alice, meeting.id) or []]
    assert speakers == ["Speaker 1", "Speaker 1", "Bob Lee", "Bob Lee", "Speaker 1"]
    summary = await service.summary(alice, meeting.id)
    assert summary is not None and any(a.owner == "Bob Lee" for a in summary.action_items)
    # Carol's meetings never see Alice's enrolments.
    other = await service.import_file(carol, write_wav(tmp_path / "b.wav", 25))
    assert {s.speaker for s in await service.transcript(carol, other.id) or []} == {"Speaker 1", "Speaker 2"}


async def test_enrolment_refuses_without_the_extra_and_without_enough_speech(
    any_db: Database, tmp_path: Path
) -> None:
    repo = VoiceEnrolmentRepository(any_db)
    scope = await make_user(any_db, "alice")
    assert scope.user_id is not None
    missing = VoiceEnrolment(repo, None)
    assert not missing.available
    with pytest.raises(EngineUnavailable):
        await missing.enrol(owner_user_id=scope.user_id, name="A", path=tmp_path / "x.wav", consent_text="ok")

    class _Encoder:
        name = "test"

        def embed(self, audio: Audio, *, sample_rate: int = 16000) -> np.ndarray:
            return np.ones(4, np.float32) / 2

    enrolment = VoiceEnrolment(repo, _Encoder)
    silent = tmp_path / "quiet.wav"
    write_wav(silent, 3)  # three seconds: under the minimum whatever the detector hears
    with pytest.raises(AudioError) as err:
        await enrolment.enrol(owner_user_id=scope.user_id, name="A", path=silent, consent_text="ok")
    assert err.value.key in {"enrol.too_short", "voice.audio.silent"}
    assert await repo.of_user(scope.user_id) == []


async def test_consent_is_recorded_listed_and_deleted_by_forget_me_and_optout(any_db: Database) -> None:
    repo = VoiceEnrolmentRepository(any_db)
    scope = await make_user(any_db, "alice")
    assert scope.user_id is not None
    await _enrol(repo, scope, "Alice", _unit(1, 0))
    await _enrol(repo, scope, "Alice K", _unit(1, 0))  # enrolling again replaces
    await repo.enrol(
        owner_user_id=scope.user_id,
        guild_id="g1",
        platform_user_id="999",
        name="Alice",
        embedding=_unit(1, 0),
        engine="test",
        seconds=9.0,
        consent_text="server wording",
        consented_at=AT,
    )
    voices = await repo.of_user(scope.user_id)
    assert [(v.name, v.guild_id) for v in voices] == [("Alice K", None), ("Alice", "g1")]
    record = export_record(voices[1])
    assert record["consent"] == "server wording" and record["consented_at"] == AT.isoformat()
    assert "embedding" not in record
    assert [v.name for v in await repo.for_scope(MeetingScope.of_guild("g1"))] == ["Alice"]

    optouts = MeetingOptOuts(MeetingOptOutRepository(any_db), forget_voice=repo.delete_member)
    await optouts.opt_out("g1", "999", ["Alice"])
    assert await repo.for_scope(MeetingScope.of_guild("g1")) == []
    assert await VoiceEnrolment(repo, None).forget_user(scope.user_id) == 1
    assert await repo.of_user(scope.user_id) == []


def test_cli_enroll_checks_its_options_before_reading_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    cli = CliRunner()
    missing = cli.invoke(app, ["meeting", "enroll", "Bo", str(tmp_path / "none.wav")])
    assert missing.exit_code == 2 and "no such file" in missing.output
    wav = write_wav(tmp_path / "a.wav", 2)
    member_alone = cli.invoke(app, ["meeting", "enroll", "Bo", str(wav), "--member", "123"])
    assert member_alone.exit_code == 2 and "--member" in member_alone.output
