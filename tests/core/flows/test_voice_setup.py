"""The /voice flow end to end through the scripted console, with deterministic fake speaker engines."""

from __future__ import annotations

import re
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import func, select

from bot.runner import ensure_demo_star, local_user
from bot.wiring import App
from core.commands import Commands
from core.domain.identity import Locale
from core.domain.stars import Star
from core.flows.voice_setup import VoiceSetupFlow
from core.i18n import t
from core.ports import SpeechCapabilities
from core.storage import models
from core.storage.repositories import ConsentRepository
from core.voice.audio import decode_audio, is_ai_generated
from core.voice.listen import VoiceService
from tests.core.flows.voice_fakes import (
    HIGH,
    LOW,
    TWO_VOICES,
    FakeDiarizer,
    RecordingSynthesizer,
    fake_engines,
    write_recording,
)
from tests.support.app import ScriptedConsole
from tests.support.stt import FakeSpeechToText

_SAVED = re.compile(r"(?:saved|저장됨): (\S+)")
VOICE_TABLES = ("voice_profiles", "voice_clips", "voice_recordings")


def _flow(app: App) -> VoiceSetupFlow:
    flow = app.engine.router.flows[VoiceSetupFlow.kind]
    assert isinstance(flow, VoiceSetupFlow)
    if flow.memories is not None and not isinstance(flow.memories.stt, FakeSpeechToText):
        flow.memories.stt = FakeSpeechToText()  # hears nothing: voice memories are tested on their own
    return flow


def _commands(app: App) -> Commands:
    commands = app.engine.router.commands["voice"].__self__  # type: ignore[attr-defined]
    assert isinstance(commands, Commands)
    return commands


async def _star(app: App, user_id: str = "local") -> Star:
    user = await local_user(app, user_id)
    await ensure_demo_star(app, user)
    return (await app.stars.list_owned(user.id))[0]


async def _counts(app: App) -> dict[str, int]:
    async with app.db.read() as s:
        return {
            t.name: int(await s.scalar(select(func.count()).select_from(t)) or 0)
            for t in models.Base.metadata.sorted_tables
        }


def _blob_keys(app: App) -> AsyncIterator[str]:
    list_keys = app.blobs.keys
    return list_keys()


async def _keep_low_voice(app: App, tmp_path: Path, console: ScriptedConsole) -> str:
    """Consent, send the two-voice recording, say "2 people", pick speaker 1 (the low voice)."""
    out = await console.say("/voice")
    assert "목소리 복제" in out and "[1]" in out
    out = await console.say("1")
    assert "녹음을 보내" in out
    rec = write_recording(tmp_path / "family.m4a", TWO_VOICES)
    out = await console.say(f"/voice {rec}")
    assert "몇 명" in out and "[7]" in out
    return await console.say("2")


async def test_voice_setup_keeps_the_chosen_voice_and_listen_uses_it(vos_app: App, tmp_path: Path) -> None:
    _flow(vos_app).engines = engines = fake_engines()
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    out = await _keep_low_voice(vos_app, tmp_path, console)
    assert isinstance(engines.diarizer, FakeDiarizer) and engines.diarizer.calls == [2]
    assert "목소리를 나누는 중" in out  # progress while separating
    notes = [Path(p) for p in _SAVED.findall(out) if p.endswith(".ogg")]
    assert len(notes) == 2 and "화자 1 · 9.0초" in out and "화자 2 · 4.0초" in out
    assert not any(is_ai_generated(p) for p in notes)  # real recordings are not tagged as synthetic
    png = next(Path(p) for p in _SAVED.findall(out) if p.endswith(".png"))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "어느 목소리가 엄마인가요?" in out
    out = await console.say("1")
    assert "목소리를 간직했어요" in out and "기본 espeak 음성" in out

    user = await local_user(vos_app, "local")
    consents = await ConsentRepository(vos_app.db).list_for(user.id, star.id)
    voice_consent = [c for c in consents if c.kind == "voice_clone"]
    assert len(voice_consent) == 1 and "목소리 복제" in voice_consent[0].text and voice_consent[0].given_at
    profile = await _commands(vos_app).voice_profiles.profile(user.id, star.id)  # type: ignore[union-attr]
    assert profile is not None and profile.total_seconds >= 6.0 and len(profile.clips) == 3
    assert profile.median_f0_hz is not None and abs(profile.median_f0_hz - LOW) < 5
    assert profile.gender_hint == "male" and profile.engine == "fake-pitch"
    purposes = [u.purpose for u in await vos_app.rights.blob_refs.list_for(user.id, star.id)]
    assert purposes.count("voice_clip") == 3 and purposes.count("voice_recording") == 1
    for clip in profile.clips:
        assert decode_audio(vos_app.blobs.local_path(clip.blob_key)).duration_s > 1.0

    synth = RecordingSynthesizer()
    commands = _commands(vos_app)
    commands.voice = VoiceService(synth, vos_app.guard, tmp_path / "cache", profiles=commands.voice_profiles)
    await console.say("비가 엄청 와")
    out = await console.say("/listen")
    assert "음성 메시지 (" in out
    # The message in the star's voice; then the spoken disclaimer in the engine's own voice (not a clone).
    spec, disclaimer = synth.voices[-2], synth.voices[-1]
    assert disclaimer is None
    assert spec is not None and spec.median_f0_hz == profile.median_f0_hz and spec.gender_hint == "male"
    assert spec.profile_id == profile.cache_id and len(spec.reference_clips) == 3
    assert all(p.is_file() for p in spec.reference_clips)

    out = await console.say("/export")
    zip_path = Path(_SAVED.findall(out)[0])
    with zipfile.ZipFile(zip_path) as zf:
        assert "voice_clone" in zf.read("consents.json").decode()
        assert sum("voice_clip" in n for n in zf.namelist()) == 3


async def test_too_little_speech_is_explained_and_another_speaker_can_be_picked(
    vos_app: App, tmp_path: Path
) -> None:
    _flow(vos_app).engines = fake_engines()
    await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await _keep_low_voice(vos_app, tmp_path, console)
    out = await console.say("2")  # the high voice has only 4 s
    assert "너무 적어요" in out and "어느 목소리가" in out
    out = await console.say("1")
    assert "목소리를 간직했어요" in out


async def test_declining_consent_stores_nothing(vos_app: App) -> None:
    _flow(vos_app).engines = fake_engines()
    await _star(vos_app)
    before = await _counts(vos_app)
    console = ScriptedConsole(vos_app)
    await console.say("/voice")
    out = await console.say("2")
    assert "아무것도 저장하지 않았" in out
    assert await _counts(vos_app) == before
    out = await console.say("/voice")  # asked again: a refusal is not remembered as consent
    assert "목소리 복제" in out


async def test_broken_silent_and_non_audio_files_get_a_clear_message(vos_app: App, tmp_path: Path) -> None:
    _flow(vos_app).engines = fake_engines()
    await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await console.say("/voice", "1")
    silent = write_recording(tmp_path / "silent.wav", [(None, 2.0)])
    out = await console.say(f"/voice {silent}")
    broken = tmp_path / "broken.ogg"
    broken.write_bytes(b"OggS" + b"\x00garbage" * 50)
    out_broken = await console.say(f"/file {broken}")
    text = tmp_path / "notes.txt"
    text.write_text("not a recording at all " * 20)
    out_text = await console.say(f"/file {text}")
    assert t("ko", "voice.audio.silent") in out
    assert t("ko", "voice.audio.broken") in out_broken
    assert t("ko", "voice.audio.not_audio") in out_text
    counts = await _counts(vos_app)
    assert all(counts[name] == 0 for name in VOICE_TABLES)
    good = write_recording(tmp_path / "ok.wav", TWO_VOICES)
    assert "몇 명" in await console.say(f"/voice {good}")  # still waiting for a recording


async def test_another_recording_adds_the_same_voice(vos_app: App, tmp_path: Path) -> None:
    _flow(vos_app).engines = fake_engines()
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await _keep_low_voice(vos_app, tmp_path, console)
    await console.say("1")
    user = await local_user(vos_app, "local")
    profiles = _commands(vos_app).voice_profiles
    assert profiles is not None
    first = await profiles.profile(user.id, star.id)
    assert first is not None
    out = await console.say("/voice")
    assert "이미 있어요" in out and "목소리 복제" not in out  # consent is not asked twice
    second = write_recording(
        tmp_path / "call.ogg", [(None, 0.3), (HIGH, 2.5), (None, 0.5), (LOW, 4.0), (None, 0.3)]
    )
    out = await console.say("1", f"/voice {second}", "7")
    assert "추가했어요" in out
    grown = await profiles.profile(user.id, star.id)
    assert grown is not None and grown.total_seconds > first.total_seconds + 3.0
    assert grown.revision == first.revision + 1 and grown.cache_id != first.cache_id
    assert grown.median_f0_hz is not None and abs(grown.median_f0_hz - LOW) < 5
    stranger = write_recording(tmp_path / "other.wav", [(None, 0.3), (HIGH, 3.0), (None, 0.3)])
    out = await console.say("/voice", "1", f"/voice {stranger}", "7")
    assert "찾지 못해서" in out
    assert (await profiles.profile(user.id, star.id)) == grown


async def test_forget_deletes_profile_rows_clip_blobs_and_cached_audio(vos_app: App, tmp_path: Path) -> None:
    _flow(vos_app).engines = fake_engines()
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    out = await _keep_low_voice(vos_app, tmp_path, console)
    sample = Path(_SAVED.findall(out)[0])
    await console.say("1")
    cache = tmp_path / "cache"
    commands = _commands(vos_app)
    commands.voice = VoiceService(
        RecordingSynthesizer(), vos_app.guard, cache, profiles=commands.voice_profiles
    )
    await console.say("밥 먹었어?")
    out = await console.say("/listen")
    note = Path(_SAVED.findall(out)[0])
    assert note.is_file() and sample.is_file()
    assert (await _counts(vos_app))["voice_clips"] == 3
    out = await console.say("/forget", "1")
    assert "삭제했어요" in out
    counts = await _counts(vos_app)
    for table in (*VOICE_TABLES, "stars", "consents", "blob_refs"):
        assert counts[table] == 0, (table, counts)
    assert [k async for k in _blob_keys(vos_app)] == []
    assert not note.exists() and not sample.exists() and not (cache / star.id).exists()


async def test_listen_refuses_a_language_the_synthesizer_does_not_speak(vos_app: App, tmp_path: Path) -> None:
    await _star(vos_app)
    console = ScriptedConsole(vos_app)
    english_only = RecordingSynthesizer(capabilities=SpeechCapabilities(languages=frozenset({"en"})))
    _commands(vos_app).voice = VoiceService(english_only, vos_app.guard, tmp_path / "cache")
    await console.say("밥 먹었어?")  # the demo star answers in Korean
    out = await console.say("/listen")
    assert t(Locale.KO, "synth.language_unsupported", language="ko", languages="en") in out
    assert english_only.voices == []  # never spoken in another language's voice


async def test_forget_me_deletes_the_voice_too(vos_app: App, tmp_path: Path) -> None:
    _flow(vos_app).engines = fake_engines()
    await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await _keep_low_voice(vos_app, tmp_path, console)
    await console.say("1")
    await console.say("/forget_me", "1")
    counts = await _counts(vos_app)
    assert all(v == 0 for v in counts.values()), counts
    assert [k async for k in _blob_keys(vos_app)] == []


async def test_another_user_cannot_use_or_see_the_profile(vos_app: App, tmp_path: Path) -> None:
    _flow(vos_app).engines = fake_engines()
    star = await _star(vos_app, "alice")
    alice = ScriptedConsole(vos_app, user_id="alice")
    await _keep_low_voice(vos_app, tmp_path, alice)
    await alice.say("1")
    bob_user = await local_user(vos_app, "bob")
    profiles = _commands(vos_app).voice_profiles
    assert profiles is not None
    assert await profiles.profile(bob_user.id, star.id) is None
    assert await profiles.voice_spec(bob_user.id, star.id) is None
    alice_user = await local_user(vos_app, "alice")
    profile = await profiles.profile(alice_user.id, star.id)
    assert profile is not None and profile.clips[0].recording_id
    assert await profiles.repo.get_recording(bob_user.id, profile.clips[0].recording_id) is None
    bob = ScriptedConsole(vos_app, user_id="bob")
    out = await bob.say("/voice")
    assert "목소리 복제" not in out and "엄마" not in out
    await vos_app.users.set_active_star(bob_user.id, star.id)  # even pointing at Alice's star
    out = await bob.say("/voice", "/listen")
    assert "목소리 복제" not in out and "음성 메시지 (" not in out
    assert await profiles.profile(alice_user.id, star.id) == profile


async def test_voice_without_the_extra_names_it(vos_app: App) -> None:
    _flow(vos_app).engines = None
    await _star(vos_app)
    out = await ScriptedConsole(vos_app).say("/voice")
    assert "'voice'" in out
    assert (await _counts(vos_app))["flows"] == 0
