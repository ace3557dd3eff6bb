"""Audio and speech data shared by voice, speech and meetings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Word:
    """A recognised word with its time span in seconds."""

    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class TranscriptSegment:
    """A stretch of recognised speech; ``speaker`` is filled in by diarization or per-speaker tracks."""

    start: float
    end: float
    text: str
    speaker: str | None = None
    words: tuple[Word, ...] = ()
    no_speech_prob: float = 0.0
    avg_logprob: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Transcript:
    """The result of transcribing one recording."""

    language: str
    duration_s: float
    segments: tuple[TranscriptSegment, ...]
    engine: str = ""
    # How sure the recogniser was of ``language`` when it detected it (1.0 when it was given).
    language_probability: float = 1.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeakerTurn:
    """One speaker talking from ``start`` to ``end`` seconds."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Diarization:
    """Who spoke when in a recording, with one embedding per speaker."""

    turns: tuple[SpeakerTurn, ...]
    embeddings: dict[str, tuple[float, ...]] = field(default_factory=dict, compare=False)
    engine: str = ""
    raw: Any = field(default=None, compare=False, repr=False)
