"""A deterministic SpeechToText for tests: it says what it was told to hear and records what it was given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.domain.audio import Transcript, TranscriptSegment
from core.ports import Audio, ProgressCallback


@dataclass(frozen=True, slots=True, kw_only=True)
class HeardCall:
    """One call of :meth:`FakeSpeechToText.transcribe`."""

    seconds: float
    sample_rate: int
    language: str | None
    rms: float


class FakeSpeechToText:
    """``SpeechToText`` that "hears" ``text`` (in ``language``) in any audio with sound in it."""

    name = "fake-stt"

    def __init__(
        self, text: str = "", *, language: str = "ko", languages: frozenset[str] = frozenset({"ko", "en"})
    ) -> None:
        self.text = text
        self.language = language
        self.languages = languages
        self.calls: list[HeardCall] = []

    async def transcribe(
        self,
        audio: Audio,
        *,
        sample_rate: int = 16000,
        language: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        """A transcript of ``self.text``; silence would give no segment at all, as Whisper's VAD does."""
        samples = np.asarray(audio, dtype=np.float32)
        rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
        seconds = samples.size / sample_rate
        self.calls.append(HeardCall(seconds=seconds, sample_rate=sample_rate, language=language, rms=rms))
        segments = (
            (TranscriptSegment(start=0.0, end=seconds, text=self.text),) if self.text and rms > 1e-3 else ()
        )
        return Transcript(
            language=language or self.language, duration_s=seconds, segments=segments, engine=self.name
        )
