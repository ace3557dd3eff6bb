"""/voice decodes the recording once: its samples wait on disk between the steps and go when the flow ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.runner import local_user
from bot.wiring import App
from core.domain.stars import Star
from core.domain.voice import VoiceProfile
from core.flows import voice_setup
from core.voice import profiles
from core.voice.audio import DecodedAudio, decode_audio, load_samples
from tests.core.flows.test_voice_setup import _commands, _flow, _keep_low_voice, _star
from tests.core.flows.voice_fakes import TWO_VOICES, fake_engines, write_recording
from tests.support.app import ScriptedConsole


@dataclass
class DecodeCounter:
    """Wraps ``decode_audio`` where a module imported it and remembers every file it decoded."""

    decoded: list[Path] = field(default_factory=list)

    def wrap(self, original: Callable[..., DecodedAudio]) -> Callable[..., DecodedAudio]:
        def counting(path: Path | str, **kwargs: Any) -> DecodedAudio:
            self.decoded.append(Path(path))
            return original(path, **kwargs)

        return counting


@pytest.fixture
def on_upload(monkeypatch: pytest.MonkeyPatch) -> DecodeCounter:
    """Decodes of the upload by the recording step."""
    counter = DecodeCounter()
    monkeypatch.setattr(voice_setup, "decode_audio", counter.wrap(voice_setup.decode_audio))
    return counter


@pytest.fixture
def on_blob(monkeypatch: pytest.MonkeyPatch) -> DecodeCounter:
    """Decodes of the stored blob by the later steps."""
    counter = DecodeCounter()
    monkeypatch.setattr(profiles, "decode_audio", counter.wrap(profiles.decode_audio))
    return counter


def _decoded_files(app: App, star: Star) -> list[Path]:
    return sorted((_flow(app).work_root / star.id / "decoded").glob("*"))


def _measures(profile: VoiceProfile) -> tuple[object, ...]:
    clips = [(c.blob_key, c.seconds, c.start, c.end) for c in profile.clips]
    return (
        profile.embedding,
        profile.median_f0_hz,
        profile.words_per_minute,
        profile.gender_hint,
        profile.total_seconds,
        profile.engine,
        clips,
    )


async def _profile(app: App, star: Star) -> VoiceProfile:
    user = await local_user(app, "local")
    voice_profiles = _commands(app).voice_profiles
    assert voice_profiles is not None
    profile = await voice_profiles.profile(user.id, star.id)
    assert profile is not None
    return profile


async def test_the_recording_is_decoded_once_and_its_samples_go_when_the_flow_ends(
    vos_app: App, tmp_path: Path, on_upload: DecodeCounter, on_blob: DecodeCounter
) -> None:
    _flow(vos_app).engines = fake_engines()
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    out = await _keep_low_voice(vos_app, tmp_path, console)  # upload, then separation
    assert "어느 목소리가" in out
    [kept] = _decoded_files(vos_app, star)
    samples = load_samples(kept)
    assert samples is not None and samples.dtype == np.float32
    np.testing.assert_array_equal(samples, decode_audio(tmp_path / "family.m4a").samples)
    out = await console.say("1")
    assert "목소리를 간직했어요" in out
    assert [p.name for p in on_upload.decoded] == ["family.m4a"]
    assert on_blob.decoded == []  # neither separation nor the pick decoded the recording again
    assert _decoded_files(vos_app, star) == []
    setup = _flow(vos_app).work_dir(star.id)
    assert sorted(p.name for p in setup.iterdir()) == ["speaker-1.ogg", "speaker-2.ogg", "timeline.png"]


async def test_without_its_samples_the_pick_decodes_the_blob_and_keeps_the_same_voice(
    vos_app: App, tmp_path: Path, on_blob: DecodeCounter
) -> None:
    _flow(vos_app).engines = fake_engines()
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await _keep_low_voice(vos_app, tmp_path, console)
    await console.say("1")
    first = await _profile(vos_app, star)
    assert on_blob.decoded == []

    rec = write_recording(tmp_path / "family.m4a", TWO_VOICES)
    out = await console.say("/voice", "2", f"/voice {rec}", "2")  # start over with the same recording
    assert "어느 목소리가" in out
    [kept] = _decoded_files(vos_app, star)
    kept.unlink()  # a restart on another machine, or a cleaned cache
    out = await console.say("1")
    assert "목소리를 간직했어요" in out
    assert len(on_blob.decoded) == 1 and on_blob.decoded[0].suffix != ".npy"  # the stored blob
    second = await _profile(vos_app, star)
    assert _measures(second) == _measures(first)
    assert _decoded_files(vos_app, star) == []


async def test_damaged_samples_are_decoded_again_and_rewritten_for_the_next_step(
    vos_app: App, tmp_path: Path, on_blob: DecodeCounter
) -> None:
    _flow(vos_app).engines = fake_engines()
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await console.say("/voice", "1")
    await console.say(f"/voice {write_recording(tmp_path / 'family.wav', TWO_VOICES)}")
    [kept] = _decoded_files(vos_app, star)
    whole = kept.read_bytes()
    kept.write_bytes(whole[: len(whole) // 2])  # cut off, as by a full disk
    out = await console.say("2")
    assert "어느 목소리가" in out and len(on_blob.decoded) == 1
    assert kept.read_bytes() == whole  # written again after decoding
    out = await console.say("2")  # too little speech: asked again, the samples stay for the next answer
    assert "너무 적어요" in out and _decoded_files(vos_app, star) == [kept]
    out = await console.say("1")
    assert "목소리를 간직했어요" in out and len(on_blob.decoded) == 1
    assert _decoded_files(vos_app, star) == []


@pytest.mark.parametrize("ending", ["/cancel", "/stars", "none"])
async def test_cancelling_replacing_or_declining_the_flow_deletes_the_samples(
    vos_app: App, tmp_path: Path, ending: str
) -> None:
    _flow(vos_app).engines = fake_engines()
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await _keep_low_voice(vos_app, tmp_path, console)
    assert len(_decoded_files(vos_app, star)) == 1
    await console.say("3" if ending == "none" else ending)  # [3]: none of them
    user = await local_user(vos_app, "local")
    assert await vos_app.engine.flow_repo.get(user.id) is None
    assert _decoded_files(vos_app, star) == []


async def test_adding_a_recording_deletes_its_samples_when_done(vos_app: App, tmp_path: Path) -> None:
    _flow(vos_app).engines = fake_engines()
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await _keep_low_voice(vos_app, tmp_path, console)
    await console.say("1")
    second = write_recording(tmp_path / "call.wav", TWO_VOICES)
    await console.say("/voice", "1", f"/voice {second}")
    assert len(_decoded_files(vos_app, star)) == 1
    out = await console.say("7")
    assert "추가했어요" in out
    assert _decoded_files(vos_app, star) == []


async def test_a_new_recording_replaces_the_samples_of_an_abandoned_one(vos_app: App, tmp_path: Path) -> None:
    _flow(vos_app).engines = fake_engines()
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await console.say("/voice", "1", f"/voice {write_recording(tmp_path / 'a.wav', TWO_VOICES)}")
    [old] = _decoded_files(vos_app, star)
    user = await local_user(vos_app, "local")
    running = await vos_app.engine.flow_repo.get(user.id)
    assert running is not None
    await vos_app.engine.flow_repo.save(
        user.id, running.kind, "recording", running.data
    )  # as if the answer never came
    await console.say(f"/voice {write_recording(tmp_path / 'b.wav', TWO_VOICES[:5])}")
    [new] = _decoded_files(vos_app, star)
    assert new != old and not old.exists()


async def test_forget_deletes_the_samples_of_an_unfinished_flow(vos_app: App, tmp_path: Path) -> None:
    flow = _flow(vos_app)
    flow.engines = fake_engines()
    star = await _star(vos_app)
    console = ScriptedConsole(vos_app)
    await _keep_low_voice(vos_app, tmp_path, console)
    assert len(_decoded_files(vos_app, star)) == 1
    flow.forget(star.id)
    assert _decoded_files(vos_app, star) == []


async def test_samples_that_cannot_be_kept_cost_a_decode_not_the_recording(
    vos_app: App, tmp_path: Path, on_blob: DecodeCounter, caplog: pytest.LogCaptureFixture
) -> None:
    flow = _flow(vos_app)
    flow.engines = fake_engines()
    star = await _star(vos_app)
    blocker = flow.work_root / star.id / "decoded"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("not a directory")  # as a full or read-only disk would refuse the file
    out = await _keep_low_voice(vos_app, tmp_path, ScriptedConsole(vos_app))
    assert "어느 목소리가" in out and len(on_blob.decoded) == 1
    assert "could not keep the decoded recording" in caplog.text
