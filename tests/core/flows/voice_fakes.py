"""Deterministic voice engines and recordings for the voice setup tests (no torch).

Speakers are harmonic tones with syllable-like loudness changes: a low voice (110 Hz) and a high one
(220 Hz). The fake diarizer finds the loud stretches and labels them by pitch, and the fake encoder embeds
by pitch, so separation, picking and matching another recording all behave like the real thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from core.domain.audio import Diarization, SpeakerTurn
from core.flows.voice_setup import SpeakerEngines
from core.ports import Audio, ProgressCallback, SpeechCapabilities, SynthesizedSpeech, VoiceSpec
from core.voice.analysis import median_f0
from core.voice.audio import encode_audio

SR = 16000
LOW, HIGH, MID = 110.0, 220.0, 160.0


def tone(f0: float, seconds: float, sr: int = SR) -> Audio:
    """A voiced sound at ``f0`` with four harmonics and a 4 Hz syllable rhythm."""
    t = np.arange(round(seconds * sr)) / sr
    wave = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 5))
    envelope = 0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)
    return (0.2 * wave * envelope).astype(np.float32)


def recording(parts: list[tuple[float | None, float]], sr: int = SR) -> Audio:
    """Concatenate ``(f0, seconds)`` parts; ``f0=None`` is silence."""
    return np.concatenate(
        [np.zeros(round(s * sr), np.float32) if f0 is None else tone(f0, s, sr) for f0, s in parts]
    )


def write_recording(path: Path, parts: list[tuple[float | None, float]]) -> Path:
    """Encode a recording to ``path`` (format from the suffix)."""
    return encode_audio(recording(parts), SR, path)


# A low voice with 9 s in three turns and a high voice with 4 s in two turns.
TWO_VOICES: list[tuple[float | None, float]] = [
    (None, 0.3), (LOW, 3.0), (None, 0.5), (HIGH, 2.0), (None, 0.5), (LOW, 3.0),
    (None, 0.5), (HIGH, 2.0), (None, 0.5), (LOW, 3.0), (None, 0.3),
]  # fmt: skip


def _bucket(f0: float | None) -> int:
    if f0 is None:
        return 0
    return int(np.argmin([abs(f0 - c) for c in (LOW, MID, HIGH)]))


class FakeEncoder:
    """``SpeakerEncoder`` that embeds a voice by its pitch bucket (one-hot)."""

    name = "fake-pitch"

    def embed(self, audio: Audio, *, sample_rate: int = SR) -> npt.NDArray[np.float32]:
        vec = np.zeros(3, np.float32)
        vec[_bucket(median_f0(audio, sample_rate))] = 1.0
        return vec


@dataclass
class FakeDiarizer:
    """``Diarizer``: loud stretches are turns, labelled S1, S2... by pitch in order of appearance; with
    ``error``, it fails that way instead."""

    name: str = "fake"
    calls: list[int | None] = field(default_factory=list)
    error: Exception | None = None

    async def diarize(
        self,
        audio: Audio,
        *,
        sample_rate: int = SR,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Diarization:
        self.calls.append(num_speakers)
        if self.error is not None:
            raise self.error
        if progress is not None:
            progress(0.5, "embed")
        hop = sample_rate // 100
        n = audio.size // hop
        loud = np.sqrt(np.mean(np.square(audio[: n * hop].reshape(n, hop)), axis=1)) > 0.01
        turns, labels, start = [], {}, None
        for i, on in enumerate([*loud.tolist(), False]):
            if on and start is None:
                start = i
            elif not on and start is not None:
                bucket = _bucket(median_f0(audio[start * hop : i * hop], sample_rate))
                label = labels.setdefault(bucket, f"S{len(labels) + 1}")
                turns.append(SpeakerTurn(start=start / 100, end=i / 100, speaker=label))
                start = None
        if progress is not None:
            progress(1.0, "done")
        return Diarization(turns=tuple(turns), engine=self.name)


def fake_engines() -> SpeakerEngines:
    """The fake diarizer and encoder together."""
    return SpeakerEngines(diarizer=FakeDiarizer(), encoder=FakeEncoder())


@dataclass
class RecordingSynthesizer:
    """``SpeechSynthesizer`` that remembers the voice it was asked for and returns a short tone."""

    name: str = "recording"
    capabilities: SpeechCapabilities = field(
        default_factory=lambda: SpeechCapabilities(languages=frozenset({"ko", "en"}), sample_rates=(SR,))
    )
    clones_voice: bool = False
    voices: list[VoiceSpec | None] = field(default_factory=list)

    async def synthesize(
        self, text: str, *, language: str, voice: VoiceSpec | None = None
    ) -> SynthesizedSpeech:
        self.voices.append(voice)
        return SynthesizedSpeech(audio=tone(150.0, 0.5), sample_rate=SR, engine=self.name, is_clone=False)
