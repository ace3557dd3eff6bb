"""The espeak-ng backend, for real: Korean and English speech, traits honoured, text never executed."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from core.backends.espeak_synthesizer import (
    EspeakOptions,
    EspeakSynthesizer,
    SynthesisError,
    parse_wav,
    pitch_for_f0,
    speed_for_wpm,
    voice_settings,
)
from core.i18n import t
from core.ports import EngineUnavailable, SpeechSynthesizer, VoiceSpec
from core.voice.analysis import median_f0, speaking_rate_wpm
from core.voice.text_split import TextTooLong
from tests.support.speech import requires_espeak


def _rms(audio: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(audio, dtype=np.float64))))


def test_is_a_speech_synthesizer_and_not_a_clone() -> None:
    synth = EspeakSynthesizer()
    assert isinstance(synth, SpeechSynthesizer)
    assert synth.clones_voice is False
    assert t("ko", synth.label_key) == "기본 음성 (복제된 목소리가 아닙니다)"
    assert "not a clone" in t("en", synth.label_key)


def test_pitch_and_speed_mapping_is_monotonic_and_clamped() -> None:
    male = [pitch_for_f0(f, "male") for f in (60, 90, 110, 140, 200)]
    assert male == sorted(male)
    assert male[0] == 0
    assert male[-1] == 99
    assert pitch_for_f0(194, "female") == 50
    assert speed_for_wpm(10) == 80
    assert speed_for_wpm(10_000) == 450
    assert speed_for_wpm(208, "en") == 160
    assert speed_for_wpm(111, "ko-KR") == 150


def test_voice_settings_follow_the_star() -> None:
    opts = EspeakOptions()
    assert voice_settings("ko", None, opts).voice == "ko"
    female = voice_settings("en", VoiceSpec(profile_id="p", median_f0_hz=220.0, words_per_minute=156), opts)
    assert female.voice == "en-us+f2"
    assert female.speed == 120
    male = voice_settings("ko-KR", VoiceSpec(profile_id="p", median_f0_hz=110.0, gender_hint="male"), opts)
    assert male.voice == "ko"
    assert male.speed == opts.default_speed


def _wav(samples: np.ndarray, rate: int, declared: int | None = None) -> bytes:
    pcm = (samples * 32767).astype("<i2").tobytes()
    size = len(pcm) if declared is None else declared
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + size)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + (b"data" + struct.pack("<I", size) + pcm)
    )


def test_parse_wav_reads_streamed_header_to_the_end() -> None:
    samples = np.linspace(-0.5, 0.5, 100, dtype=np.float32)
    audio, rate = parse_wav(_wav(samples, 22050, declared=0x7FFFF000))
    assert rate == 22050
    assert audio.dtype == np.float32
    np.testing.assert_allclose(audio, samples, atol=1e-3)


def test_parse_wav_rejects_garbage() -> None:
    with pytest.raises(SynthesisError):
        parse_wav(b"not a wav at all")


async def test_missing_binary_names_the_apt_package() -> None:
    synth = EspeakSynthesizer(EspeakOptions(binary="espeak-ng-not-installed-here"))
    with pytest.raises(EngineUnavailable, match="apt-get install espeak-ng"):
        await synth.synthesize("hello", language="en")


async def test_rejects_unknown_language_empty_and_too_long_text() -> None:
    synth = EspeakSynthesizer(EspeakOptions(max_chars=50))
    with pytest.raises(ValueError, match="not 'fr'"):
        await synth.synthesize("bonjour", language="fr")
    with pytest.raises(ValueError, match="empty"):
        await synth.synthesize("  \n ", language="en")
    with pytest.raises(TextTooLong) as info:
        await synth.synthesize("x" * 51, language="en")
    assert info.value.max_chars == 50


@requires_espeak
async def test_korean_speech_is_audible_and_plausibly_long() -> None:
    speech = await EspeakSynthesizer().synthesize("안녕하세요. 오늘 날씨가 정말 좋네요.", language="ko")
    seconds = speech.audio.size / speech.sample_rate
    assert speech.is_clone is False
    assert speech.engine == "espeak"
    assert speech.audio.dtype == np.float32
    assert 1.0 < seconds < 8.0
    assert _rms(speech.audio) > 0.01
    assert np.abs(speech.audio).max() <= 1.0


@requires_espeak
async def test_english_speech_is_audible_and_plausibly_long() -> None:
    speech = await EspeakSynthesizer().synthesize("I made your favourite soup today.", language="en")
    seconds = speech.audio.size / speech.sample_rate
    assert 1.0 < seconds < 6.0
    assert _rms(speech.audio) > 0.01


@requires_espeak
async def test_higher_f0_in_the_voice_gives_higher_measured_f0() -> None:
    synth = EspeakSynthesizer()
    text = "The weather is lovely today and I miss you."
    low = await synth.synthesize(text, language="en", voice=VoiceSpec(profile_id="a", median_f0_hz=90.0))
    high = await synth.synthesize(text, language="en", voice=VoiceSpec(profile_id="b", median_f0_hz=240.0))
    f0_low = median_f0(low.audio, low.sample_rate)
    f0_high = median_f0(high.audio, high.sample_rate)
    assert f0_low is not None
    assert f0_high is not None
    assert f0_high > f0_low * 1.8
    # The calibration lands near the asked pitch.
    assert abs(f0_low - 90.0) < 20
    assert abs(f0_high - 240.0) < 45


@requires_espeak
async def test_faster_voice_speaks_faster() -> None:
    synth = EspeakSynthesizer()
    text = "We walked to the river and talked about the old days until the sun went down."
    slow = await synth.synthesize(text, language="en", voice=VoiceSpec(profile_id="s", words_per_minute=110))
    fast = await synth.synthesize(text, language="en", voice=VoiceSpec(profile_id="f", words_per_minute=260))
    assert fast.audio.size < slow.audio.size * 0.7
    rate = speaking_rate_wpm(fast.audio, fast.sample_rate, transcript_words=len(text.split()))
    assert rate is not None
    assert 180 < rate < 360


@requires_espeak
async def test_option_injection_is_spoken_not_executed(tmp_path: Path) -> None:
    target = tmp_path / "x.wav"
    synth = EspeakSynthesizer()
    speech = await synth.synthesize(f"-w {target}", language="en")
    speech2 = await synth.synthesize(f"-- -w {target} -m <speak>hi</speak>", language="en")
    assert not target.exists()
    assert speech.audio.size / speech.sample_rate > 0.5
    assert _rms(speech2.audio) > 0.01


@requires_espeak
async def test_long_text_is_spoken_in_chunks_without_loss() -> None:
    sentence = "This is one sentence of a long letter."
    synth = EspeakSynthesizer(EspeakOptions(chunk_chars=60))
    one = await synth.synthesize(sentence, language="en")
    many = await synth.synthesize(" ".join([sentence] * 4), language="en")
    ratio = many.audio.size / one.audio.size
    assert 3.0 < ratio < 5.0
