"""Qwen3-TTS and Chatterbox at their seams (no weights here): the calls they make, and one clear line for
each way they cannot run (package missing, weights missing, no kept voice)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.backends import chatterbox_synthesizer, qwen3_tts_synthesizer
from core.backends.chatterbox_synthesizer import ChatterboxOptions, ChatterboxSynthesizer
from core.backends.qwen3_tts_synthesizer import Qwen3TTSOptions, Qwen3TTSSynthesizer
from core.ports import EngineUnavailable, SpeechSynthesizer, VoiceSpec


def _voice(tmp_path: Path, text: str | None = "밥은 먹었니") -> VoiceSpec:
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"RIFF")
    return VoiceSpec(profile_id="p1", reference_clips=(clip,), reference_text=text)


class FakeQwen:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def generate_voice_clone(self, **kwargs: Any) -> tuple[list[np.ndarray], int]:
        self.calls.append(kwargs)
        return [np.ones(2400, np.float32) * 0.1], 24000


class FakeChatterbox:
    sr = 24000

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def generate(self, text: str, **kwargs: Any) -> np.ndarray:
        self.calls.append((text, kwargs))
        return np.ones((1, 4800), np.float32) * 0.1


async def test_qwen3_clones_from_the_kept_clip_and_its_transcript(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeQwen()
    loaded: list[tuple[str, str | None]] = []
    monkeypatch.setattr(qwen3_tts_synthesizer, "_load_qwen", lambda m, d: loaded.append((m, d)) or fake)
    synth = Qwen3TTSSynthesizer(Qwen3TTSOptions(model="Qwen/Qwen3-TTS-12Hz-0.6B-Base", chunk_chars=20))
    assert isinstance(synth, SpeechSynthesizer) and synth.clones_voice
    voice = _voice(tmp_path)
    speech = await synth.synthesize(
        "오늘은 날씨가 좋구나. 산책이라도 다녀오렴. 밥 꼭 챙겨 먹고.", language="ko", voice=voice
    )
    assert speech.is_clone and speech.sample_rate == 24000 and speech.engine == "qwen3-tts"
    assert loaded == [("Qwen/Qwen3-TTS-12Hz-0.6B-Base", None)]
    assert len(fake.calls) >= 2  # long text in chunks
    first = fake.calls[0]
    assert first["language"] == "Korean" and first["ref_audio"] == str(voice.reference_clips[0])
    assert first["ref_text"] == "밥은 먹었니" and first["x_vector_only_mode"] is False
    await synth.synthesize("Hello.", language="en", voice=_voice(tmp_path, text=None))
    assert fake.calls[-1]["language"] == "English" and fake.calls[-1]["x_vector_only_mode"] is True


async def test_chatterbox_clones_from_the_kept_clip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeChatterbox()
    monkeypatch.setattr(chatterbox_synthesizer, "_load_chatterbox", lambda d, dev: fake)
    synth = ChatterboxSynthesizer(ChatterboxOptions())
    speech = await synth.synthesize("보고 싶다.", language="ko", voice=_voice(tmp_path))
    assert speech.audio.shape == (4800,) and speech.sample_rate == 24000
    assert fake.calls[0][1] == {"language_id": "ko", "audio_prompt_path": str(tmp_path / "clip.wav")}


@pytest.mark.parametrize("synth", [Qwen3TTSSynthesizer(), ChatterboxSynthesizer()])
async def test_cloning_needs_a_kept_voice(synth: SpeechSynthesizer) -> None:
    with pytest.raises(EngineUnavailable, match="/voice"):
        await synth.synthesize("hi", language="en", voice=None)


@pytest.mark.parametrize("synth", [Qwen3TTSSynthesizer(), ChatterboxSynthesizer()])
async def test_cloning_refuses_a_language_it_does_not_declare(
    synth: SpeechSynthesizer, tmp_path: Path
) -> None:
    assert synth.capabilities.supports("ko-KR") and not synth.capabilities.supports("ja")
    with pytest.raises(ValueError, match="not 'ja'"):  # never English words in its place
        await synth.synthesize("こんにちは", language="ja", voice=_voice(tmp_path))


def test_missing_packages_say_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real_import = builtins.__import__

    def no_engines(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith(("qwen_tts", "chatterbox")):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_engines)
    with pytest.raises(EngineUnavailable) as qwen:
        qwen3_tts_synthesizer._load_qwen("Qwen/Qwen3-TTS-12Hz-1.7B-Base", None)
    assert "pip install qwen-tts" in str(qwen.value) and "\n" not in str(qwen.value)
    with pytest.raises(EngineUnavailable) as cbox:
        chatterbox_synthesizer._load_chatterbox(None, None)
    assert "pip install chatterbox-tts" in str(cbox.value) and "\n" not in str(cbox.value)


def test_missing_weights_say_where_to_put_them(tmp_path: Path) -> None:
    with pytest.raises(EngineUnavailable, match="huggingface-cli download Qwen/Qwen3-TTS"):
        qwen3_tts_synthesizer._load_qwen(str(tmp_path / "no-such-dir"), None)
    with pytest.raises(EngineUnavailable, match="huggingface-cli download ResembleAI/chatterbox"):
        chatterbox_synthesizer._load_chatterbox(tmp_path / "no-such-dir", None)


def test_settings_choose_the_backend(tmp_path: Path) -> None:
    from bot.engines import build_synthesizer
    from bot.settings import Settings

    qwen = build_synthesizer(
        Settings(data_dir=tmp_path, tts={"backend": "qwen3", "qwen_model": "/models/qwen"})
    )
    assert isinstance(qwen, Qwen3TTSSynthesizer) and qwen.options.model == "/models/qwen"
    cbox = build_synthesizer(Settings(data_dir=tmp_path, tts={"backend": "chatterbox"}))
    assert isinstance(cbox, ChatterboxSynthesizer)
