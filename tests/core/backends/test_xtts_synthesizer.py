"""XTTS-v2 at its library seam: licence gate, clear errors, latent caching, text splitting, joining."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.backends import xtts_synthesizer
from core.backends.xtts_synthesizer import (
    XTTS_CHAR_LIMITS,
    XTTS_SAMPLE_RATE,
    CpmlNotAccepted,
    XTTSOptions,
    XTTSSynthesizer,
)
from core.i18n import t
from core.ports import EngineUnavailable, SpeechSynthesizer, VoiceSpec
from core.voice.text_split import TextTooLong

CHUNK_SAMPLES = 2400  # 0.1 s at 24 kHz per chunk from the fake model


class FakeConfig:
    gpt_cond_len = 30
    gpt_cond_chunk_len = 4
    max_ref_len = 30
    sound_norm_refs = False


class FakeXtts:
    """Stands in for ``TTS.tts.models.xtts.Xtts``: records calls, returns tone bursts."""

    def __init__(self) -> None:
        self.config = FakeConfig()
        self.latent_calls: list[dict[str, Any]] = []
        self.inference_calls: list[tuple[str, str, Any, Any, dict[str, Any]]] = []

    def get_conditioning_latents(self, **kwargs: Any) -> tuple[Any, Any]:
        self.latent_calls.append(kwargs)
        seed = sum(len(p) for p in kwargs["audio_path"])
        return np.full((1, 32, 1024), seed, dtype=np.float32), np.full((1, 512, 1), 0.5, dtype=np.float32)

    def inference(self, text: str, language: str, gpt: Any, spk: Any, **kwargs: Any) -> dict[str, Any]:
        self.inference_calls.append((text, language, gpt, spk, kwargs))
        return {"wav": [0.25] * CHUNK_SAMPLES}


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "xtts_v2"
    directory.mkdir()
    for name in ("config.json", "model.pth", "vocab.json"):
        (directory / name).write_bytes(b"{}")
    return directory


@pytest.fixture
def clips(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "clip_a.wav", tmp_path / "clip_b.wav"
    a.write_bytes(b"RIFF-a")
    b.write_bytes(b"RIFF-b")
    return a, b


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Path, str, FakeXtts]]:
    """Replace the seam; each load returns a fresh fake model and is recorded."""
    calls: list[tuple[Path, str, FakeXtts]] = []

    def fake_load(model_dir: Path, device: str) -> FakeXtts:
        model = FakeXtts()
        calls.append((model_dir, device, model))
        return model

    monkeypatch.setattr(xtts_synthesizer, "_load_xtts", fake_load)
    return calls


def _synth(model_dir: Path, **kwargs: Any) -> XTTSSynthesizer:
    return XTTSSynthesizer(XTTSOptions(model_dir=model_dir, accept_cpml=True, device="cpu", **kwargs))


def test_refuses_to_start_without_licence_acknowledgement(model_dir: Path) -> None:
    with pytest.raises(CpmlNotAccepted) as info:
        XTTSSynthesizer(XTTSOptions(model_dir=model_dir))
    message = str(info.value)
    assert "Coqui Public Model License" in message
    assert "non-commercial" in message
    assert "accept_cpml" in message
    assert isinstance(info.value, EngineUnavailable)


def test_missing_model_dir_is_a_clear_error(tmp_path: Path, model_dir: Path) -> None:
    with pytest.raises(EngineUnavailable, match="model directory not found"):
        XTTSSynthesizer(XTTSOptions(model_dir=tmp_path / "nowhere", accept_cpml=True))
    with pytest.raises(EngineUnavailable, match="model directory not found"):
        XTTSSynthesizer(XTTSOptions(accept_cpml=True))
    (model_dir / "model.pth").unlink()
    with pytest.raises(EngineUnavailable, match=r"lacks model\.pth"):
        XTTSSynthesizer(XTTSOptions(model_dir=model_dir, accept_cpml=True))


@pytest.mark.skipif(importlib.util.find_spec("TTS") is not None, reason="coqui-tts is installed here")
async def test_missing_package_names_the_extra(model_dir: Path, clips: tuple[Path, Path]) -> None:
    synth = _synth(model_dir)
    with pytest.raises(EngineUnavailable, match="coqui-tts") as info:
        await synth.synthesize("hello", language="en", voice=VoiceSpec(profile_id="p", reference_clips=clips))
    assert info.value.extra == "xtts"


async def test_speaks_a_clone_at_24khz(model_dir: Path, clips: tuple[Path, Path], loads: list[Any]) -> None:
    synth = _synth(model_dir)
    assert isinstance(synth, SpeechSynthesizer)
    assert synth.clones_voice is True
    assert t("ko", synth.label_key)
    speech = await synth.synthesize(
        "보고 싶었어.", language="ko", voice=VoiceSpec(profile_id="p", reference_clips=clips)
    )
    assert speech.is_clone is True
    assert speech.engine == "xtts"
    assert speech.sample_rate == XTTS_SAMPLE_RATE == 24000
    assert speech.audio.dtype == np.float32
    assert speech.audio.size == CHUNK_SAMPLES
    (loaded_dir, device, model) = loads[0]
    assert loaded_dir == model_dir
    assert device == "cpu"
    text, language, _gpt, _spk, kwargs = model.inference_calls[0]
    assert (text, language) == ("보고 싶었어.", "ko")
    assert kwargs["enable_text_splitting"] is False
    assert model.latent_calls[0]["audio_path"] == [str(c) for c in clips]
    assert model.latent_calls[0]["max_ref_length"] == 30


async def test_latents_computed_once_per_profile(
    model_dir: Path, clips: tuple[Path, Path], loads: list[Any]
) -> None:
    synth = _synth(model_dir)
    voice = VoiceSpec(profile_id="grandma", reference_clips=clips)
    for _ in range(3):
        await synth.synthesize("Hello dear.", language="en", voice=voice)
    other = VoiceSpec(profile_id="grandpa", reference_clips=clips[:1])
    await synth.synthesize("Hello dear.", language="en", voice=other)
    model = loads[0][2]
    assert len(loads) == 1
    assert len(model.latent_calls) == 2
    assert len(model.inference_calls) == 4
    # A new recording added to the profile changes its clips: the latents are recomputed.
    clips[1].write_bytes(b"RIFF-b-new")
    await synth.synthesize("Hello dear.", language="en", voice=voice)
    assert len(model.latent_calls) == 3


async def test_lru_evicts_oldest_profile(model_dir: Path, clips: tuple[Path, Path], loads: list[Any]) -> None:
    synth = _synth(model_dir, latent_cache_size=1)
    a = VoiceSpec(profile_id="a", reference_clips=clips)
    b = VoiceSpec(profile_id="b", reference_clips=clips)
    for voice in (a, b, a):
        await synth.synthesize("Hi.", language="en", voice=voice)
    assert len(loads[0][2].latent_calls) == 3


async def test_disk_cache_survives_a_restart_and_forget_removes_it(
    model_dir: Path, clips: tuple[Path, Path], loads: list[Any], tmp_path: Path
) -> None:
    cache = tmp_path / "latents"
    voice = VoiceSpec(profile_id="star/42", reference_clips=clips)
    first = _synth(model_dir, latent_cache_dir=cache)
    await first.synthesize("Hi.", language="en", voice=voice)
    await first.aclose()
    assert len(list(cache.glob("*.npz"))) == 1

    second = _synth(model_dir, latent_cache_dir=cache)
    await second.synthesize("Hi.", language="en", voice=voice)
    fresh_model = loads[1][2]
    assert fresh_model.latent_calls == []
    gpt = fresh_model.inference_calls[0][2]
    assert float(np.asarray(gpt).mean()) == pytest.approx(sum(len(str(c)) for c in clips))

    assert second.forget("star/42") == 1
    assert list(cache.glob("*.npz")) == []
    await second.synthesize("Hi.", language="en", voice=voice)
    assert len(fresh_model.latent_calls) == 1


async def test_damaged_cache_file_is_recomputed(
    model_dir: Path, clips: tuple[Path, Path], loads: list[Any], tmp_path: Path
) -> None:
    cache = tmp_path / "latents"
    voice = VoiceSpec(profile_id="p", reference_clips=clips)
    await _synth(model_dir, latent_cache_dir=cache).synthesize("Hi.", language="en", voice=voice)
    for path in cache.glob("*.npz"):
        path.write_bytes(b"garbage")
    synth = _synth(model_dir, latent_cache_dir=cache)
    await synth.synthesize("Hi.", language="en", voice=voice)
    assert len(loads[1][2].latent_calls) == 1


async def test_long_text_split_within_language_limits_and_joined_with_gaps(
    model_dir: Path, clips: tuple[Path, Path], loads: list[Any]
) -> None:
    synth = _synth(model_dir, gap_s=0.2)
    voice = VoiceSpec(profile_id="p", reference_clips=clips)
    korean = " ".join(["오늘은 날씨가 참 좋구나 우리 강아지 밥은 잘 먹었니"] * 12)
    speech = await synth.synthesize(korean, language="ko", voice=voice)
    model = loads[0][2]
    texts = [call[0] for call in model.inference_calls]
    assert len(texts) >= 4
    assert all(len(text) <= XTTS_CHAR_LIMITS["ko"] == 95 for text in texts)
    assert "".join(texts).replace(" ", "") == korean.replace(" ", "")
    gap = round(0.2 * XTTS_SAMPLE_RATE)
    assert speech.audio.size == len(texts) * CHUNK_SAMPLES + (len(texts) - 1) * gap
    assert np.all(speech.audio[CHUNK_SAMPLES : CHUNK_SAMPLES + gap] == 0)

    english = "I love you. " * 40
    await synth.synthesize(english, language="en", voice=voice)
    en_texts = [call[0] for call in model.inference_calls[len(texts) :]]
    assert all(len(text) <= 250 for text in en_texts)
    assert all(text.endswith(".") for text in en_texts)


async def test_input_errors(
    model_dir: Path, clips: tuple[Path, Path], loads: list[Any], tmp_path: Path
) -> None:
    synth = _synth(model_dir, max_chars=100)
    voice = VoiceSpec(profile_id="p", reference_clips=clips)
    with pytest.raises(ValueError, match="reference clips"):
        await synth.synthesize("hi", language="en", voice=None)
    with pytest.raises(ValueError, match="reference clips"):
        await synth.synthesize("hi", language="en", voice=VoiceSpec(profile_id="p"))
    with pytest.raises(ValueError, match="not 'fr'"):
        await synth.synthesize("salut", language="fr", voice=voice)
    with pytest.raises(TextTooLong):
        await synth.synthesize("x" * 101, language="en", voice=voice)
    missing = VoiceSpec(profile_id="p", reference_clips=(tmp_path / "gone.wav",))
    with pytest.raises(ValueError, match="reference clip not found"):
        await synth.synthesize("hi", language="en", voice=missing)
