"""The meeting pipeline with fake engines: import, speakers, summary, failures, restart, rename, exports."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from core.domain.identity import Locale
from core.domain.meetings import MeetingSource, MeetingStatus
from core.meetings.service import INTERRUPTED, MeetingService
from core.ports import EngineUnavailable
from core.storage.db import Database
from tests.core.meetings.conftest import make_service, make_user
from tests.core.meetings.fakes import FakeSTT, segment, write_wav


async def test_mixed_recording_is_diarized_transcribed_summarized(
    service: MeetingService, sqlite_db: Database, tmp_path: Path
) -> None:
    scope = await make_user(sqlite_db, "alice")
    seen: list[tuple[float, str]] = []
    meeting = await service.import_file(
        scope, write_wav(tmp_path / "standup.wav", 25), progress=lambda f, s: seen.append((f, s))
    )
    assert meeting.status is MeetingStatus.DONE, meeting.error
    assert meeting.title == "standup"
    assert meeting.source is MeetingSource.MIXED
    assert 24.9 < meeting.duration_s < 25.1
    segments = await service.transcript(scope, meeting.id)
    assert segments is not None
    assert [s.speaker for s in segments] == ["Speaker 1", "Speaker 1", "Speaker 2", "Speaker 2", "Speaker 1"]
    summary = await service.summary(scope, meeting.id)
    assert summary is not None
    assert any("Friday" in d.text for d in summary.decisions)
    assert any(a.due_said == "by Monday" and a.at == (9.5,) for a in summary.action_items)
    assert any("landing page" in q.text for q in summary.open_questions)
    stages = [s for _, s in seen]
    assert {"decode", "separate", "transcribe", "summarize", "index", "done"} <= set(stages)
    fractions = [f for f, _ in seen]
    assert fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert meeting.audio_blob is not None
    assert await service.blobs.exists(meeting.audio_blob)


async def test_without_speaker_separation_everyone_is_one_speaker(
    sqlite_db: Database, tmp_path: Path
) -> None:
    service = make_service(sqlite_db, tmp_path)

    def missing() -> object:
        raise EngineUnavailable("no torch here", extra="voice")

    service.diarizer_factory = missing  # type: ignore[assignment]
    scope = await make_user(sqlite_db, "alice")
    meeting = await service.import_file(scope, write_wav(tmp_path / "a.wav", 25))
    assert meeting.status is MeetingStatus.DONE
    segments = await service.transcript(scope, meeting.id) or []
    assert {s.speaker for s in segments} == {"Speaker 1"}


async def test_craig_zip_tracks_are_named_and_merged_by_time(sqlite_db: Database, tmp_path: Path) -> None:
    stt = FakeSTT(
        by_seconds={
            3: [segment(0.0, 1.0, "Hello from Alice."), segment(2.0, 2.9, "Alice again.")],
            4: [segment(1.2, 1.8, "Bob here, I will review the code by Friday.")],
        }
    )
    service = make_service(sqlite_db, tmp_path, stt=stt)
    archive = tmp_path / "craig.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(write_wav(tmp_path / "a.wav", 3, seed=1), "1-alice.wav")
        zf.write(write_wav(tmp_path / "b.flac.wav", 4, seed=2), "2-bob.wav")
        zf.writestr("info.txt", "Craig recording")
    scope = await make_user(sqlite_db, "alice")
    meeting = await service.import_file(scope, archive, title="Code review")
    assert meeting.status is MeetingStatus.DONE, meeting.error
    assert meeting.source is MeetingSource.TRACKS
    segments = await service.transcript(scope, meeting.id) or []
    assert [(s.speaker, s.start) for s in segments] == [("alice", 0.0), ("bob", 1.2), ("alice", 2.0)]
    summary = await service.summary(scope, meeting.id)
    assert summary is not None
    assert [a.owner for a in summary.action_items] == ["bob"]


async def test_a_failure_keeps_the_audio_and_says_what_failed(sqlite_db: Database, tmp_path: Path) -> None:
    service = make_service(sqlite_db, tmp_path, stt=FakeSTT(fail=RuntimeError("decoder exploded")))
    scope = await make_user(sqlite_db, "alice")
    meeting = await service.import_file(scope, write_wav(tmp_path / "a.wav", 5))
    assert meeting.status is MeetingStatus.FAILED
    assert meeting.error == "transcribe: RuntimeError: decoder exploded"
    assert meeting.audio_blob is not None
    assert await service.blobs.exists(meeting.audio_blob)


async def test_a_file_that_is_not_audio_fails_at_decode_in_plain_words(
    service: MeetingService, sqlite_db: Database, tmp_path: Path
) -> None:
    scope = await make_user(sqlite_db, "alice")
    bogus = tmp_path / "notes.txt"
    bogus.write_text("not a recording")
    meeting = await service.import_file(scope, bogus, locale=Locale.EN)
    assert meeting.status is MeetingStatus.FAILED
    assert meeting.error is not None
    assert meeting.error.startswith("decode: ")
    assert "does not contain any audio" in meeting.error


async def test_restart_marks_unfinished_meetings_failed(service: MeetingService, sqlite_db: Database) -> None:
    scope = await make_user(sqlite_db, "alice")
    queued = await service.repo.create(scope, title="q", source=MeetingSource.MIXED, audio_blob=None)
    running = await service.repo.create(scope, title="p", source=MeetingSource.MIXED, audio_blob=None)
    await service.repo.set_progress(running.id, 0.4, "transcribe")
    recovered = await service.recover_interrupted()
    assert {m.id for m in recovered} == {queued.id, running.id}
    for m in await service.list_meetings(scope):
        assert m.status is MeetingStatus.FAILED
        assert m.error == INTERRUPTED
    assert await service.recover_interrupted() == []


async def test_rename_speaker_updates_transcript_summary_and_exports(
    service: MeetingService, sqlite_db: Database, tmp_path: Path
) -> None:
    scope = await make_user(sqlite_db, "alice")
    meeting = await service.import_file(scope, write_wav(tmp_path / "a.wav", 25))
    summary = await service.summary(scope, meeting.id)
    assert summary is not None
    assert any(a.owner == "Speaker 2" for a in summary.action_items)
    assert await service.rename_speaker(scope, meeting.id, "S2", "Minsu")
    assert not await service.rename_speaker(scope, meeting.id, "S9", "Nobody")
    segments = await service.transcript(scope, meeting.id) or []
    assert "Minsu" in {s.speaker for s in segments}
    summary = await service.summary(scope, meeting.id)
    assert summary is not None
    assert any(a.owner == "Minsu" for a in summary.action_items)
    data = json.loads((await service.export(scope, meeting.id, "json")) or b"{}")
    assert {s["speaker"] for s in data["segments"]} == {"Speaker 1", "Minsu"}
    png = await service.talk_time_png(scope, meeting.id, Locale.EN)
    assert png is not None
    assert png.startswith(b"\x89PNG")


async def test_delete_removes_transcript_and_unshared_audio(
    service: MeetingService, sqlite_db: Database, tmp_path: Path
) -> None:
    scope = await make_user(sqlite_db, "alice")
    meeting = await service.import_file(scope, write_wav(tmp_path / "a.wav", 25))
    assert meeting.audio_blob is not None
    assert await service.delete(scope, meeting.id)
    assert await service.get(scope, meeting.id) is None
    assert not await service.blobs.exists(meeting.audio_blob)
    assert await service.repo.segments(meeting.id) == []


async def test_engines_are_built_once_per_process_not_per_meeting(
    sqlite_db: Database, tmp_path: Path
) -> None:
    from tests.core.meetings.fakes import MEETING_SEGMENTS, MEETING_TURNS, FakeDiarizer

    built = {"stt": 0, "diarizer": 0}

    def new_stt() -> FakeSTT:
        built["stt"] += 1
        return FakeSTT(MEETING_SEGMENTS)

    def new_diarizer() -> FakeDiarizer:
        built["diarizer"] += 1
        return FakeDiarizer(MEETING_TURNS)

    service = make_service(sqlite_db, tmp_path)
    service.stt_factory = new_stt
    service.diarizer_factory = new_diarizer
    scope = await make_user(sqlite_db, "alice")
    for name in ("one", "two", "three"):
        meeting = await service.import_file(scope, write_wav(tmp_path / f"{name}.wav", 25))
        assert meeting.status is MeetingStatus.DONE, meeting.error
    assert built == {"stt": 1, "diarizer": 1}
