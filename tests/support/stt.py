"""Deterministic SpeechToText engines for tests.

:class:`ScriptedRecogniser` holds the Protocol's side (name, declared capabilities, ``transcribe``'s
signature, the calls it got); a test recogniser only says what it hears in :meth:`ScriptedRecogniser.hear`.
:class:`FakeSpeechToText` hears one scripted text in any audio with sound in it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.domain.audio import Transcript, TranscriptSegment
from core.ports import Audio, ProgressCallback, SpeechCapabilities

KO_EN = frozenset({"ko", "en"})


@dataclass(frozen=True, slots=True, kw_only=True)
class HeardCall:
    """One call of a test recogniser's ``transcribe``."""

    seconds: float
    sample_rate: int
    language: str | None
    rms: float


class ScriptedRecogniser:
    """The base of the test recognisers: ``transcribe`` records the call and asks :meth:`hear`."""

    name = "fake-stt"

    def __init__(self, *, languages: frozenset[str] = KO_EN) -> None:
        self.capabilities = SpeechCapabilities(languages=languages, sample_rates=(16000,))
        self.calls: list[HeardCall] = []

    async def transcribe(
        self,
        audio: Audio,
        *,
        sample_rate: int = 16000,
        language: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        """Record the call, then :meth:`hear` the audio."""
        samples = np.asarray(audio, dtype=np.float32)
        rms = float(np.sqrt(np.mean(samples**2))) if samples.size else 0.0
        self.calls.append(
            HeardCall(seconds=samples.size / sample_rate, sample_rate=sample_rate, language=language, rms=rms)
        )
        return await self.hear(samples, sample_rate, language, progress)

    async def hear(
        self, audio: Audio, sample_rate: int, language: str | None, progress: ProgressCallback | None
    ) -> Transcript:
        """What this recogniser makes of ``audio`` (the call is already recorded in ``calls``)."""
        raise NotImplementedError


class FakeSpeechToText(ScriptedRecogniser):
    """Hears ``text`` (in ``language``) in any audio with sound in it."""

    def __init__(self, text: str = "", *, language: str = "ko", languages: frozenset[str] = KO_EN) -> None:
        super().__init__(languages=languages)
        self.text = text
        self.language = language

    async def hear(
        self, audio: Audio, sample_rate: int, language: str | None, progress: ProgressCallback | None
    ) -> Transcript:
        """A transcript of ``self.text``; silence gives no segment at all, as Whisper's VAD does."""
        seconds = audio.size / sample_rate
        heard = self.text and self.calls[-1].rms > 1e-3
        segments = (TranscriptSegment(start=0.0, end=seconds, text=self.text),) if heard else ()
        return Transcript(
            language=language or self.language, duration_s=seconds, segments=segments, engine=self.name
        )
