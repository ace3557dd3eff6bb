"""Voice memories end to end through the scripted console: /voice keeps them, /memories plays the real clips.

Fake speaker engines (tests/core/flows/voice_fakes.py) separate a low and a high voice; a fake recogniser
"hears" one phrase per call, so the test knows which clip holds which words.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from sqlalchemy import func, select, text

from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.domain.audio import SpeakerTurn, Transcript
from core.domain.stars import Star
from core.flows.voice_setup import VoiceSetupFlow
from core.i18n import t
from core.ports import Audio, ProgressCallback
from core.storage import models
from core.voice.analysis import median_f0
from core.voice.audio import decode_audio, is_ai_generated
from core.voice.memories import MAX_SPAN_S, VoiceMemoryService, star_spans
from core.voice.memory_commands import clock
from tests.core.flows.voice_fakes import HIGH, LOW, TWO_VOICES, fake_engines, write_recording
from tests.support.app import ScriptedConsole
from tests.support.stt import KO_EN, FakeSpeechToText

_VOICE_NOTE = re.compile(r"음성 메시지 \(([\d.]+)초\) 저장됨: (\S+)")  # the console line, in Korean
PHRASES = ("김치찌개 끓여 놨으니까 먹고 가", "밥은 꼭 챙겨 먹어", "우리 딸 사랑해")


class PhraseSTT(FakeSpeechToText):
    """Hears the next of ``phrases`` in each audio it is given (in the order it is asked)."""

    def __init__(self, phrases: tuple[str, ...], *, languages: frozenset[str] = KO_EN) -> None:
        super().__init__(languages=languages)
        self.phrases = list(phrases)

    async def hear(
        self, audio: Audio, sample_rate: int, language: str | None, progress: ProgressCallback | None
    ) -> Transcript:
        self.text = self.phrases.pop(0) if self.phrases else ""
        return await super().hear(audio, sample_rate, language, progress)


def _memories(app: App) -> VoiceMemoryService:
    flow = app.engine.router.flows[VoiceSetupFlow.kind]
    assert isinstance(flow, VoiceSetupFlow) and flow.memories is not None
    flow.engines = fake_engines()
    return flow.memories


async def _star(app: App, user_id: str = "local") -> Star:
    user = await local_user(app, user_id)
    await ensure_demo_star(app, user)
    return (await app.stars.list_owned(user.id))[0]


async def _keep_low_voice(console: ScriptedConsole, tmp_path: Path) -> str:
    """Consent, send the two-voice recording (low voice 3 x 3 s), say "2 people", pick the low voice."""
    await console.say("/voice", "1")
    rec = write_recording(tmp_path / "family.m4a", TWO_VOICES)
    await console.say(f"/voice {rec}", "2")
    return await console.say("1")


async def _blob_keys(app: App) -> list[str]:
    list_keys = app.blobs.keys  # a blob store, not a dict
    return [k async for k in list_keys()]


async def _counts(app: App) -> dict[str, int]:
    async with app.db.read() as s:
        counts = {
            table.name: int(await s.scalar(select(func.count()).select_from(table)) or 0)
            for table in models.Base.metadata.sorted_tables
        }
        counts["fts_voice_memories"] = int(
            await s.scalar(text("SELECT count(*) FROM fts_voice_memories")) or 0
        )
        return counts


def test_only_the_star_turns_are_planned_merged_and_windowed() -> None:
    turns = [
        SpeakerTurn(start=0.0, end=2.0, speaker="A"),
        SpeakerTurn(start=2.5, end=4.0, speaker="A"),  # close: merged with the first
        SpeakerTurn(start=4.2, end=5.0, speaker="B"),
        SpeakerTurn(start=5.1, end=6.0, speaker="A"),  # B spoke in between: a new span
        SpeakerTurn(start=6.1, end=6.3, speaker="A"),  # too short to hold words
        SpeakerTurn(start=10.0, end=75.0, speaker="A"),  # a monologue: cut into windows
    ]
    spans = star_spans(turns, "A")
    assert spans[:2] == [(0.0, 4.0), (5.1, 6.0)]
    assert all(end - start <= MAX_SPAN_S for start, end in spans)
    assert spans[2][0] == 10.0 and spans[-1][1] == 75.0 and len(spans) == 5
    assert star_spans(turns, "B") == [(4.2, 5.0)] and star_spans(turns, "C") == []
    assert clock(12.7) == "00:12" and clock(3725) == "1:02:05"


async def test_voice_setup_keeps_memories_and_memories_plays_the_real_clip(
    vos_app: App, tmp_path: Path
) -> None:
    memories = _memories(vos_app)
    memories.stt = stt = PhraseSTT(PHRASES)
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    out = await _keep_low_voice(console, tmp_path)
    assert "목소리를 간직했어요" in out
    assert t("ko", "voicememory.transcribing") in out  # progress while transcribing
    assert "실제 말 3개" in out and "/memories 김치찌개" in out
    # Only the star's three 3-second turns went to the recogniser, never the other voice.
    assert [round(c.seconds) for c in stt.calls] == [3, 3, 3]
    assert sum(c.seconds for c in stt.calls) < 9.5

    out = await console.say("/memories 김치찌개")
    notes = _VOICE_NOTE.findall(out)
    assert len(notes) == 1, out
    # The caption: who, that it is a real recording, where in it (the order of the turns is the recogniser's).
    assert re.search(r"🎙 엄마 · 실제 녹음 · 00:0[0-9]\n\s*“김치찌개 끓여 놨으니까 먹고 가”", out), out
    duration, path = float(notes[0][0]), Path(notes[0][1])
    decoded = decode_audio(path)
    assert abs(decoded.duration_s - 3.0) < 0.2 and abs(duration - decoded.duration_s) < 0.2
    assert not is_ai_generated(path)  # their real voice: never tagged as synthetic
    f0 = median_f0(decoded.samples, decoded.sample_rate)
    assert f0 is not None and abs(f0 - LOW) < 10 and abs(f0 - HIGH) > 50

    out = await console.say("/memories 밥")  # one syllable: below the trigram index, found by LIKE
    assert len(_VOICE_NOTE.findall(out)) == 1 and PHRASES[1] in out
    out = await console.say("/memories 사랑해요")  # a particle is stripped
    assert PHRASES[2] in out and len(_VOICE_NOTE.findall(out)) == 1
    out = await console.say("/memories 된장찌개")
    assert _VOICE_NOTE.findall(out) == [] and "찾지 못했어요" in out
    out = await console.say("/memories")
    assert "목소리 기억 3개" in out and all(p in out for p in PHRASES) and _VOICE_NOTE.findall(out) == []
    assert "/memories 김치찌개" in out  # the longest word of the examples as a hint

    user = await local_user(vos_app, "local")
    purposes = [u.purpose for u in await vos_app.rights.blob_refs.list_for(user.id, star.id)]
    assert purposes.count("voice_memory") == 3

    out = await console.say("/forget", "1")
    assert "삭제했어요" in out
    counts = await _counts(vos_app)
    for table in ("voice_memories", "fts_voice_memories", "voice_recordings", "blob_refs", "stars"):
        assert counts[table] == 0, (table, counts)
    assert await _blob_keys(vos_app) == []
    assert not path.exists()


async def test_forget_me_deletes_memories_and_their_clips(vos_app: App, tmp_path: Path) -> None:
    memories = _memories(vos_app)
    memories.stt = PhraseSTT(PHRASES)
    await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await _keep_low_voice(console, tmp_path)
    out = await console.say("/memories 김치찌개")
    clip = Path(_VOICE_NOTE.findall(out)[0][1])
    assert (await _counts(vos_app))["voice_memories"] == 3 and clip.is_file()
    await console.say("/forget_me", "1")
    counts = await _counts(vos_app)
    assert all(v == 0 for v in counts.values()), counts
    assert await _blob_keys(vos_app) == [] and not clip.exists()


async def test_another_user_never_hears_them(vos_app: App, tmp_path: Path) -> None:
    memories = _memories(vos_app)
    memories.stt = PhraseSTT(PHRASES)
    star = await _star(vos_app, "alice")
    alice = ScriptedConsole(vos_app, user_id="alice")
    await _keep_low_voice(alice, tmp_path)
    assert len(_VOICE_NOTE.findall(await alice.say("/memories 김치찌개"))) == 1

    bob_user = await local_user(vos_app, "bob")
    bob = ScriptedConsole(vos_app, user_id="bob")
    await ensure_demo_star(vos_app, bob_user)  # Bob's own star of the same name has no memories
    out = await bob.say("/memories 김치찌개")
    assert _VOICE_NOTE.findall(out) == [] and PHRASES[0] not in out
    await vos_app.users.set_active_star(bob_user.id, star.id)  # even pointing at Alice's star
    out = await bob.say("/memories 김치찌개", "/memories")
    assert _VOICE_NOTE.findall(out) == [] and PHRASES[0] not in out and "3개" not in out
    assert await memories.search(bob_user.id, star.id, "김치찌개") == []
    assert await memories.count(bob_user.id, star.id) == 0


async def test_without_a_recogniser_the_voice_is_still_kept(vos_app: App, tmp_path: Path) -> None:
    memories = _memories(vos_app)
    memories.stt = None
    memories.stt_missing = "faster-whisper is not installed"
    star = await _star(vos_app)
    out = await _keep_low_voice(ScriptedConsole(vos_app), tmp_path)
    assert "목소리를 간직했어요" in out and "음성 인식을 이 설치본에서 쓸 수 없어서" in out
    assert "faster-whisper is not installed" in out
    user = await local_user(vos_app, "local")
    assert await vos_app.engine.router.flows[VoiceSetupFlow.kind].profiles.profile(user.id, star.id)  # type: ignore[attr-defined]
    counts = await _counts(vos_app)
    assert counts["voice_memories"] == 0 and counts["flows"] == 0
    out = await ScriptedConsole(vos_app).say("/memories 김치찌개")
    assert "아직 엄마의 목소리 기억이 없어요" in out


async def test_another_recording_adds_memories_of_the_same_voice(vos_app: App, tmp_path: Path) -> None:
    memories = _memories(vos_app)
    memories.stt = PhraseSTT((*PHRASES, "바다 보러 가자"))
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await _keep_low_voice(console, tmp_path)
    second = write_recording(
        tmp_path / "call.ogg", [(None, 0.3), (HIGH, 2.5), (None, 0.5), (LOW, 4.0), (None, 0.3)]
    )
    out = await console.say("/voice", "1", f"/voice {second}", "7")
    assert "추가했어요" in out and "실제 말 1개" in out
    user = await local_user(vos_app, "local")
    assert await memories.count(user.id, star.id) == 4
    out = await console.say("/memories 바다")
    notes = _VOICE_NOTE.findall(out)
    assert len(notes) == 1 and "00:03" in out
    decoded = decode_audio(notes[0][1])
    assert abs(decoded.duration_s - 4.0) < 0.2
    f0 = median_f0(decoded.samples, decoded.sample_rate)
    assert f0 is not None and abs(f0 - LOW) < 10
    assert np.isfinite(decoded.samples).all()
