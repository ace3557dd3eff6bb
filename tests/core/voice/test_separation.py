"""Separation summaries (pure) and the real offline separation of a synthetic 3-speaker conversation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.domain.audio import Diarization, SpeakerTurn
from core.voice.profile import trim_silence
from core.voice.separation import (
    clean_spans,
    extract_clip,
    frame_accuracy,
    longest_clean_clip,
    separate,
    summarize,
)
from tests.support.extras import need
from tests.support.speech import SyntheticVoice, conversation, requires_espeak

# Voices resemblyzer tells apart clearly (pairwise utterance similarity <= 0.5); see the report for why
# SPEAKERS[0] and SPEAKERS[2] are too alike for count estimation.
VOICES = (
    SyntheticVoice(voice="en-us", pitch=35, speed=150, variant="boris"),
    SyntheticVoice(voice="en-us", pitch=50, speed=160, variant="klatt"),
    SyntheticVoice(voice="en-us", pitch=85, speed=160, variant="f2"),
)
LINES = [
    (0, "Hello there, how have you been doing lately?"),
    (1, "I have been well, thank you for asking me."),
    (2, "We should go to the market tomorrow morning."),
    (0, "That sounds like a wonderful idea to me."),
    (1, "What time would suit everyone best, do you think?"),
    (2, "Maybe nine o'clock, before it gets too crowded."),
    (1, "Fine by me."),
    (0, "I will bring the bags and some coffee."),
    (2, "Great, see you all then."),
    (0, "Did anyone remember to call grandmother about dinner on Sunday?"),
    (2, "I called her yesterday evening and she said yes."),
    (1, "Wonderful, she always makes the best soup."),
]


def turn(start: float, end: float, speaker: str) -> SpeakerTurn:
    return SpeakerTurn(start=start, end=end, speaker=speaker)


def test_clean_spans_cut_out_other_speakers() -> None:
    turns = [turn(0, 10, "A"), turn(4, 5, "B"), turn(10.2, 12, "A")]
    assert clean_spans(turns, "A") == [(0, 4), (5, 12)]
    assert clean_spans(turns, "B") == []


def test_clean_spans_do_not_bridge_over_someone_else() -> None:
    turns = [turn(0, 2, "A"), turn(2.05, 2.2, "B"), turn(2.3, 4, "A")]
    assert clean_spans(turns, "A") == [(0, 2), (2.3, 4)]


def test_longest_clean_clip_is_trimmed_and_capped() -> None:
    turns = [turn(0, 3, "A"), turn(5, 45, "A"), turn(45.5, 47, "B")]
    start, end = longest_clean_clip(turns, "A", trim_s=0.02, max_s=30) or (0, 0)
    assert start == pytest.approx(5.02)
    assert end == pytest.approx(35.02)
    assert longest_clean_clip(turns, "C") is None


def test_summary_and_json_contract() -> None:
    diar = Diarization(turns=(turn(1, 4, "S2"), turn(0, 1, "S1"), turn(4.5, 6, "S1")), engine="fake")
    result = summarize(diar, 7.0)
    assert [s.label for s in result.speakers] == ["S1", "S2"]
    assert result.speaker("S1").seconds == pytest.approx(2.5)
    data = json.loads(json.dumps(result.result_json()))
    assert set(data) == {"speakers", "turns"}
    assert data["speakers"][1] == {"label": "S2", "seconds": 3.0, "sample": {"start": 1.02, "end": 3.98}}
    assert data["turns"][0] == {"start": 0.0, "end": 1.0, "speaker": "S1"}
    assert all(set(t) == {"start", "end", "speaker"} for t in data["turns"])


def test_frame_accuracy_uses_the_best_label_mapping() -> None:
    ref = [(0.0, 1.0, 0), (1.0, 2.0, 1), (2.0, 3.0, 2)]
    assert frame_accuracy(ref, [(0.0, 1.0, "x"), (1.0, 2.0, "y"), (2.0, 3.0, "z")], 3.0) == pytest.approx(1.0)
    assert frame_accuracy(ref, [(0.0, 2.0, "x"), (2.0, 3.0, "z")], 3.0) == pytest.approx(2 / 3, abs=0.01)
    assert frame_accuracy(ref, [], 3.0) == 0.0


def test_extract_clip() -> None:
    audio = np.arange(16000, dtype=np.float32)
    assert extract_clip(audio, 16000, (0.5, 0.75)).size == 4000


def true_speech(audio: np.ndarray, known: list) -> list[tuple[float, float, int]]:
    """Reference turns trimmed to the actual speech (espeak-ng appends ~0.3 s of silence to each clip)."""
    out = []
    for k in known:
        lead, tail = trim_silence(extract_clip(audio, 16000, (k.start, k.end)), 16000)
        out.append((k.start + lead, k.start + tail, k.speaker))
    return out


@pytest.fixture(scope="module")
def recording() -> tuple[np.ndarray, list[tuple[float, float, int]]]:
    audio, known = conversation(LINES, voices=VOICES)
    return audio, true_speech(audio, known)


@pytest.fixture(scope="module")
def diarizer():  # type: ignore[no-untyped-def]
    need("torch")
    need("resemblyzer")
    need("sklearn")
    from core.backends.resemblyzer_diarizer import ResemblyzerDiarizer

    d = ResemblyzerDiarizer()
    yield d
    d.close()


@requires_espeak
@pytest.mark.ml
@pytest.mark.slow
async def test_three_speakers_are_counted_and_separated(recording, diarizer) -> None:  # type: ignore[no-untyped-def]
    audio, ref = recording
    steps: list[str] = []
    result = await separate(audio, 16000, diarizer, progress=lambda f, w: steps.append(w))
    assert len(result.speakers) == 3
    hyp = [(t.start, t.end, t.speaker) for t in result.turns]
    assert frame_accuracy(ref, hyp, audio.size / 16000) >= 0.85
    assert steps[-1] == "done"
    for speaker in result.speakers:
        assert speaker.seconds > 5
        assert speaker.sample_end - speaker.sample_start > 1.0
        owners = {r[2] for r in ref if r[0] < speaker.sample_end and r[1] > speaker.sample_start}
        assert len(owners) == 1, "a sample must hold one true speaker"
    assert set(result.embeddings) == {"S1", "S2", "S3"}


@requires_espeak
@pytest.mark.ml
@pytest.mark.slow
async def test_known_speaker_count_overrides_the_estimate(recording, diarizer) -> None:  # type: ignore[no-untyped-def]
    audio, ref = recording
    three = await separate(audio, 16000, diarizer, num_speakers=3)
    assert frame_accuracy(ref, [(t.start, t.end, t.speaker) for t in three.turns], audio.size / 16000) >= 0.85
    two = await separate(audio, 16000, diarizer, num_speakers=2)
    assert len(two.speakers) == 2


@requires_espeak
@pytest.mark.ml
@pytest.mark.slow
async def test_one_voice_is_one_speaker(diarizer) -> None:  # type: ignore[no-untyped-def]
    audio, _ = conversation([(0, text) for _, text in LINES[:6]], voices=VOICES)
    result = await separate(audio, 16000, diarizer)
    assert len(result.speakers) == 1
