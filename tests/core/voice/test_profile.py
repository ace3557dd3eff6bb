"""Voice profiles: reference clip choice, trimming, loudness, and finding the same voice in another file."""

from __future__ import annotations

import numpy as np
import pytest

from core.domain.audio import SpeakerTurn
from core.voice.profile import (
    NotEnoughSpeech,
    build_voice_profile,
    find_voice_segments,
    normalize_loudness,
    pick_reference_spans,
    trim_silence,
)
from tests.core.voice.test_separation import LINES, VOICES
from tests.support.extras import need
from tests.support.speech import SyntheticVoice, conversation, requires_espeak, silence

SR = 16000


class ToneEncoder:
    """A deterministic fake: the embedding is the normalised magnitude spectrum in 8 coarse bands."""

    name = "tone"

    def embed(self, audio: np.ndarray, *, sample_rate: int = 16000) -> np.ndarray:
        spectrum = np.abs(np.fft.rfft(audio, n=4096))[:2048].reshape(8, 256).sum(axis=1)
        return (spectrum / np.linalg.norm(spectrum)).astype(np.float32)


def tone(freq: float, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_trim_silence_finds_the_sound() -> None:
    audio = np.concatenate([silence(1.0), tone(300, 2.0), silence(0.5)])
    start, end = trim_silence(audio, SR)
    assert start == pytest.approx(1.0, abs=0.03)
    assert end == pytest.approx(3.0, abs=0.03)


def test_normalize_loudness_hits_target_without_clipping() -> None:
    quiet = tone(300, 1.0) * 0.01
    out = normalize_loudness(quiet, -20.0)
    assert 20 * np.log10(np.sqrt(np.mean(out**2))) == pytest.approx(-20.0, abs=0.2)
    assert np.max(np.abs(normalize_loudness(tone(300, 1.0) * 4, 0.0))) <= 0.9


def test_reference_spans_prefer_long_clean_turns_and_cap_total() -> None:
    turns = [
        SpeakerTurn(start=s, end=e, speaker=sp)
        for s, e, sp in [(0, 4, "A"), (5, 25, "A"), (26, 27, "B"), (28, 40, "A"), (40.5, 40.8, "A")]
    ]
    spans = pick_reference_spans(turns, "A", max_total_s=30)
    assert spans == [(5, 25), (28, 38)]


def test_profile_from_fake_encoder_and_matching() -> None:
    a, b = tone(300, 8.0), tone(2500, 8.0)
    audio = np.concatenate([silence(0.5), a, silence(0.5), b, silence(0.5)])
    turns = [SpeakerTurn(start=0.5, end=8.5, speaker="S1"), SpeakerTurn(start=9.0, end=17.0, speaker="S2")]
    profile = build_voice_profile(audio, SR, turns, "S1", ToneEncoder())
    assert 6.0 <= profile.total_seconds <= 30.0
    assert len(profile.clips) == len(profile.spans) == 1
    found = find_voice_segments(audio, SR, turns, profile.embedding, ToneEncoder(), threshold=0.9)
    assert [t.speaker for t in found] == ["S1"]


def test_too_little_speech_is_refused() -> None:
    audio = np.concatenate([silence(0.5), tone(200, 3.0)])
    with pytest.raises(NotEnoughSpeech) as info:
        build_voice_profile(audio, SR, [SpeakerTurn(start=0.5, end=3.5, speaker="S1")], "S1", ToneEncoder())
    assert info.value.seconds < 6.0


@requires_espeak
@pytest.mark.ml
@pytest.mark.slow
async def test_profile_finds_the_same_voice_in_another_recording() -> None:
    need("torch")
    need("resemblyzer")
    from core.backends.resemblyzer_diarizer import ResemblyzerDiarizer

    diarizer = ResemblyzerDiarizer()
    audio, _ = conversation(LINES, voices=VOICES)
    first = await diarizer.diarize(audio)
    star = first.turns[0].speaker  # the boris voice opens the conversation
    profile = build_voice_profile(audio, SR, first.turns, star, diarizer.encoder)
    assert 6.0 <= profile.total_seconds <= 30.0
    assert profile.embedding.shape == (256,)
    assert float(np.linalg.norm(profile.embedding)) == pytest.approx(1.0, abs=1e-4)

    # Another file: the star (voice 0) with a new voice, the star speaking second.
    other_voices = (SyntheticVoice(voice="en-us", pitch=70, speed=170, variant="m4"), VOICES[0])
    other, known = conversation(
        [
            (0, "Is anyone home? I brought the groceries."),
            (1, "Yes, put them on the kitchen table please."),
            (0, "Where do you keep the rice these days?"),
            (1, "In the cupboard, next to the tea and biscuits."),
        ],
        voices=other_voices,
    )
    second = await diarizer.diarize(other, num_speakers=2)
    found = find_voice_segments(other, SR, second.turns, profile.embedding, diarizer.encoder)
    assert found
    star_truth = [(k.start, k.end) for k in known if k.speaker == 1]
    for t in found:
        assert any(s - 0.3 <= t.start and t.end <= e + 0.3 for s, e in star_truth), t
    diarizer.close()
