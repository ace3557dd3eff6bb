"""Pitch, speaking rate and voice traits on synthetic tones and espeak-ng voices."""

from __future__ import annotations

import numpy as np
import pytest

from core.voice.analysis import (
    VoiceTraits,
    count_syllable_nuclei,
    f0_track,
    gender_hint,
    median_f0,
    speaking_rate_wpm,
    voice_traits,
)
from tests.support.speech import SyntheticVoice, requires_espeak, silence, speak

SR = 16000


def _tone(freq: float, seconds: float = 1.5, sr: int = SR) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    # A harmonic-rich tone: YIN must find the fundamental, not the louder-looking second harmonic.
    wave = 0.3 * np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(2 * np.pi * 2 * freq * t)
    return wave.astype(np.float32)


@pytest.mark.parametrize("freq", [75.0, 110.0, 196.0, 330.0])
def test_median_f0_of_tones(freq: float) -> None:
    f0 = median_f0(_tone(freq), SR)
    assert f0 is not None
    assert f0 == pytest.approx(freq, rel=0.02)


def test_other_sample_rates_and_stereo() -> None:
    tone = _tone(150.0, sr=44100)
    assert median_f0(tone, 44100) == pytest.approx(150.0, rel=0.02)
    stereo = np.stack([tone, tone], axis=1)
    assert median_f0(stereo, 44100) == pytest.approx(150.0, rel=0.02)


def test_silence_and_noise_have_no_pitch() -> None:
    assert median_f0(silence(2.0), SR) is None
    assert median_f0(np.zeros(10, dtype=np.float32), SR) is None
    noise = np.random.default_rng(1).normal(0, 0.2, SR * 2).astype(np.float32)
    assert median_f0(noise, SR) is None
    assert voice_traits(silence(1.0), SR) == VoiceTraits(
        median_f0_hz=None, words_per_minute=None, gender_hint=None
    )


def test_silence_around_a_tone_does_not_shift_it() -> None:
    audio = np.concatenate([silence(2.0), _tone(200.0, 0.6), silence(2.0)])
    assert median_f0(audio, SR) == pytest.approx(200.0, rel=0.02)
    track = f0_track(audio, SR)
    assert np.isnan(track[:150]).all()


def test_bad_sample_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        median_f0(_tone(100.0), 0)


def test_gender_hint_bands() -> None:
    assert gender_hint(110.0) == "male"
    assert gender_hint(220.0) == "female"
    assert gender_hint(160.0) is None
    assert gender_hint(None) is None


def test_rate_from_transcript_words() -> None:
    # 10 one-second "words" with short gaps: about 60 words over about 10 s of speaking.
    parts = []
    for _ in range(10):
        parts += [_tone(150.0, 0.8), silence(0.2)]
    audio = np.concatenate(parts)
    wpm = speaking_rate_wpm(audio, SR, transcript_words=10)
    assert wpm == pytest.approx(60.0, rel=0.05)
    assert speaking_rate_wpm(audio, SR, transcript_words=0) is None
    assert speaking_rate_wpm(silence(3.0), SR, transcript_words=10) is None


def test_long_pauses_do_not_count_as_speaking_time() -> None:
    burst = np.concatenate([_tone(150.0, 0.8), silence(0.2)] * 5)
    audio = np.concatenate([burst, silence(3.0), burst])
    assert speaking_rate_wpm(audio, SR, transcript_words=10) == pytest.approx(60.0, rel=0.08)


def test_syllable_nuclei_of_pulses() -> None:
    # Eight 150 ms bursts separated by quiet: eight nuclei.
    parts = []
    for _ in range(8):
        parts += [_tone(180.0, 0.15), silence(0.12)]
    assert count_syllable_nuclei(np.concatenate(parts), SR) == 8


@requires_espeak
def test_espeak_higher_pitch_gives_higher_f0() -> None:
    text = "I will always remember the summer we spent by the sea."
    f0s = [median_f0(speak(text, SyntheticVoice(pitch=p)), SR) for p in (10, 50, 90)]
    assert all(f is not None for f in f0s)
    assert f0s[0] < f0s[1] < f0s[2]  # type: ignore[operator]
    female = median_f0(speak(text, SyntheticVoice(pitch=50, variant="f2")), SR)
    assert female is not None
    assert female > 170


@requires_espeak
def test_espeak_korean_pitch() -> None:
    text = "엄마, 오늘 저녁에 김치찌개 해 줄게."
    low = median_f0(speak(text, SyntheticVoice(voice="ko", pitch=20)), SR)
    high = median_f0(speak(text, SyntheticVoice(voice="ko", pitch=90)), SR)
    assert low is not None
    assert high is not None
    assert high > low * 1.5


@requires_espeak
def test_espeak_speaking_rate_tracks_speed() -> None:
    text = "We walked to the river and talked about the old days until the sun went down over the hills."
    words = len(text.split())
    slow = speak(text, SyntheticVoice(speed=110))
    fast = speak(text, SyntheticVoice(speed=250))
    slow_est, fast_est = speaking_rate_wpm(slow, SR, None), speaking_rate_wpm(fast, SR, None)
    assert slow_est is not None
    assert fast_est is not None
    assert fast_est > slow_est * 1.5
    # Without a transcript the estimate stays within 35% of the count-based rate.
    exact = speaking_rate_wpm(slow, SR, words)
    assert exact is not None
    assert slow_est == pytest.approx(exact, rel=0.35)


@requires_espeak
def test_voice_traits_of_an_espeak_woman() -> None:
    audio = speak("Good morning, sweetheart. Did you sleep well?", SyntheticVoice(pitch=70, variant="f4"))
    traits = voice_traits(audio, SR)
    assert traits.gender_hint == "female"
    assert traits.words_per_minute is not None
    assert 80 < traits.words_per_minute < 350
