"""The transcription service with a deterministic fake SpeechToText."""

from __future__ import annotations

import numpy as np
import pytest

from core.domain.audio import Diarization, SpeakerTurn, Transcript, TranscriptSegment, Word
from core.ports import Audio, ProgressCallback, SpeechToText
from core.speech.transcription import TranscriptionService, report, resample_linear


class FakeSTT:
    """Returns one segment per second of audio, with one word each; reports progress synchronously."""

    name = "fake"
    languages = frozenset({"en", "ko"})

    async def transcribe(
        self,
        audio: Audio,
        *,
        sample_rate: int = 16000,
        language: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        seconds = audio.size // sample_rate
        segs = tuple(
            TranscriptSegment(
                start=i, end=i + 0.8, text=f"w{i}", words=(Word(start=i, end=i + 0.8, text=f"w{i}"),)
            )
            for i in range(seconds)
        )
        await report(progress, 0.5, "transcribing")
        await report(progress, 1.0, "done")
        return Transcript(
            language=language or "en", duration_s=float(seconds), segments=segs, engine=self.name
        )


def test_fake_is_a_speech_to_text() -> None:
    assert isinstance(FakeSTT(), SpeechToText)


async def test_mixed_recording_gets_speakers_from_turns() -> None:
    turns = (SpeakerTurn(start=0, end=2, speaker="A"), SpeakerTurn(start=2, end=4, speaker="B"))
    service = TranscriptionService(FakeSTT())
    result = await service.transcribe_mixed(np.zeros(64000, np.float32), diarization=Diarization(turns=turns))
    assert [s.speaker for s in result.segments] == ["A", "A", "B", "B"]
    plain = await service.transcribe_mixed(np.zeros(16000, np.float32))
    assert plain.segments[0].speaker is None


async def test_tracks_merge_by_time_with_overall_progress() -> None:
    seen: list[float] = []
    service = TranscriptionService(FakeSTT())
    result = await service.transcribe_tracks(
        {"alice": np.zeros(32000, np.float32), "bob": np.zeros(48000, np.float32)},
        language="ko",
        progress=lambda f, s: seen.append(f),
    )
    assert [(s.speaker, s.start) for s in result.segments] == [
        ("alice", 0),
        ("bob", 0),
        ("alice", 1),
        ("bob", 1),
        ("bob", 2),
    ]
    assert result.language == "ko"
    assert result.duration_s == 3.0
    assert seen == sorted(seen)
    assert seen[-1] == pytest.approx(1.0)


def test_resample_linear() -> None:
    audio = np.sin(np.linspace(0, 100, 48000)).astype(np.float32)
    out = resample_linear(audio, 48000, 16000)
    assert out.dtype == np.float32
    assert out.size == 16000
    assert resample_linear(audio, 16000, 16000) is audio
