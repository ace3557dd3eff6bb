"""The transcription service with a deterministic fake SpeechToText."""

from __future__ import annotations

import numpy as np
import pytest

from core.domain.audio import Diarization, SpeakerTurn, Transcript, TranscriptSegment, Word
from core.ports import Audio, ProgressCallback, SpeechToText
from core.speech.transcription import TranscriptionService, report, resample_linear
from tests.support.stt import ScriptedRecogniser


class FakeSTT(ScriptedRecogniser):
    """Returns one segment per second of audio, with one word each; reports progress synchronously."""

    name = "fake"

    async def hear(
        self, audio: Audio, sample_rate: int, language: str | None, progress: ProgressCallback | None
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


def _noise(samples: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(samples) * 0.1).astype(np.float32)


async def test_tracks_merge_by_time_with_overall_progress() -> None:
    seen: list[float] = []
    service = TranscriptionService(FakeSTT())
    result = await service.transcribe_tracks(
        {"alice": _noise(32000), "bob": _noise(48000)},
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


async def test_sparse_tracks_are_cut_at_silences_and_keep_true_times() -> None:
    """Utterances minutes apart are recognised one by one and placed where they were said."""
    rate = 16000
    track = np.zeros(200 * rate, np.float32)
    said_at = [3.0, 61.5, 197.0]
    for i, at in enumerate(said_at):
        start = int(at * rate)
        track[start : start + 2 * rate] = _noise(2 * rate, seed=i)
    calls: list[int] = []

    class ChunkSTT(FakeSTT):
        async def transcribe(self, audio, *, sample_rate=16000, language=None, progress=None):  # type: ignore[no-untyped-def]
            calls.append(audio.size)
            return await super().transcribe(
                audio, sample_rate=sample_rate, language=language, progress=progress
            )

    result = await TranscriptionService(ChunkSTT()).transcribe_tracks({"alice": track}, language="en")
    assert len(calls) == 3  # one recognition per utterance, none over the silence
    assert all(size < 3 * rate for size in calls)
    firsts = [s.start for s in result.segments if s.text == "w0"]
    assert firsts == pytest.approx([at - 0.2 for at in said_at], abs=0.05)  # 0.2 s of context before each
    assert result.duration_s == 200.0


async def test_a_silent_track_yields_nothing() -> None:
    result = await TranscriptionService(FakeSTT()).transcribe_tracks({"quiet": np.zeros(48000, np.float32)})
    assert result.segments == ()
