"""Deterministic fake engines and audio files for the meeting pipeline tests."""

from __future__ import annotations

import wave
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.domain.audio import Diarization, SpeakerTurn, Transcript, TranscriptSegment, Word
from core.ports import Audio, ProgressCallback
from core.speech.transcription import report
from tests.support.stt import ScriptedRecogniser

RATE = 16000


def write_wav(path: Path, seconds: float, *, seed: int = 0, rate: int = RATE) -> Path:
    """A noise 'recording' of ``seconds`` (audible, so the decoder's silence check passes)."""
    rng = np.random.default_rng(seed)
    samples = (rng.standard_normal(round(seconds * rate)) * 0.1 * 32767).astype("<i2")
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(1)
        wf.setsampwidth(2)
        wf.setframerate(rate)
        wf.writeframes(samples.tobytes())
    return path


def segment(start: float, end: float, text: str) -> TranscriptSegment:
    """A segment whose words share its span evenly."""
    words = text.split()
    step = (end - start) / max(1, len(words))
    return TranscriptSegment(
        start=start,
        end=end,
        text=text,
        words=tuple(
            Word(start=start + i * step, end=start + (i + 1) * step, text=w) for i, w in enumerate(words)
        ),
    )


class FakeSTT(ScriptedRecogniser):
    """Returns scripted segments; per-track scripts are picked by the audio's length in whole seconds."""

    def __init__(
        self,
        segments: Sequence[TranscriptSegment] = (),
        *,
        by_seconds: dict[int, Sequence[TranscriptSegment]] | None = None,
        language: str = "en",
        fail: Exception | None = None,
    ) -> None:
        super().__init__()
        self.segments = tuple(segments)
        self.by_seconds = by_seconds or {}
        self.language = language
        self.fail = fail

    async def hear(
        self, audio: Audio, sample_rate: int, language: str | None, progress: ProgressCallback | None
    ) -> Transcript:
        await report(progress, 0.5, "transcribing")
        if self.fail is not None:
            raise self.fail
        seconds = audio.size / sample_rate
        segments = self.by_seconds.get(round(seconds), self.segments)
        return Transcript(
            language=language or self.language, duration_s=seconds, segments=tuple(segments), engine=self.name
        )


class FakeDiarizer:
    """Returns scripted turns."""

    name = "fake-diarizer"

    def __init__(self, turns: Sequence[tuple[float, float, str]]) -> None:
        self.turns = tuple(SpeakerTurn(start=s, end=e, speaker=k) for s, e, k in turns)
        self.calls = 0

    async def diarize(
        self,
        audio: Audio,
        *,
        sample_rate: int = RATE,
        num_speakers: int | None = None,
        progress: ProgressCallback | None = None,
    ) -> Diarization:
        self.calls += 1
        await report(progress, 1.0, "clustering")
        return Diarization(turns=self.turns, engine=self.name)


MEETING_SEGMENTS = (
    segment(0.0, 4.0, "Welcome everyone, today we plan the product launch."),
    segment(4.5, 9.0, "We decided to launch the mobile app on Friday."),
    segment(9.5, 14.0, "I will send the budget report by Monday."),
    segment(14.5, 19.0, "Who is going to update the landing page?"),
    segment(19.5, 24.0, "예산 회의는 다음 주에 다시 할게요."),
)
MEETING_TURNS = ((0.0, 9.2, "S1"), (9.2, 19.2, "S2"), (19.2, 25.0, "S1"))
