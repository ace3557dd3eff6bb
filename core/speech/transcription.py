"""Transcription service: any ``SpeechToText`` plus speaker assignment for mixed and per-speaker audio.

Backends return plain transcripts; this service adds what meetings need: words assigned to diarized
speakers for one mixed recording, or per-speaker tracks transcribed one by one and merged by time.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np

from core.domain.audio import Diarization, Transcript
from core.meetings.assign import assign_word_speakers, merge_tracks
from core.ports import Audio, ProgressCallback, SpeechToText


class TranscriptionCancelled(Exception):
    """A transcription was cancelled between segments (its partial result is discarded)."""


def resample_linear(audio: Audio, src_rate: int, dst_rate: int = 16000) -> Audio:
    """Linear resampling, enough for speech recognition input (Whisper works at 16 kHz)."""
    if src_rate == dst_rate or audio.size == 0:
        return audio.astype(np.float32, copy=False)
    n = round(audio.size * dst_rate / src_rate)
    grid = np.linspace(0, audio.size - 1, n)
    return np.interp(grid, np.arange(audio.size), audio).astype(np.float32)


async def report(progress: ProgressCallback | None, fraction: float, status: str) -> None:
    """Call a progress callback that may be sync or async, clamping the fraction to [0, 1]."""
    if progress is None:
        return
    result = progress(min(1.0, max(0.0, fraction)), status)
    if inspect.isawaitable(result):
        await result


class TranscriptionService:
    """Transcribes recordings for meetings and voice memories with any speech-to-text backend."""

    def __init__(self, stt: SpeechToText) -> None:
        self.stt = stt

    async def transcribe_mixed(
        self,
        audio: Audio,
        *,
        sample_rate: int = 16000,
        language: str | None = None,
        diarization: Diarization | None = None,
        progress: ProgressCallback | None = None,
    ) -> Transcript:
        """Transcribe one recording; with a diarization, assign each word to the speaker talking then."""
        transcript = await self.stt.transcribe(
            audio, sample_rate=sample_rate, language=language, progress=progress
        )
        if diarization is None or not diarization.turns:
            return transcript
        segments = assign_word_speakers(transcript.segments, diarization.turns)
        return replace(transcript, segments=segments)

    async def transcribe_tracks(
        self,
        tracks: Mapping[str, Audio],
        *,
        sample_rate: int = 16000,
        language: str | None = None,
        progress: ProgressCallback | None = None,
        places: Mapping[str, Callable[[Transcript], Transcript]] | None = None,
    ) -> Transcript:
        """Transcribe per-speaker tracks (Discord capture, Craig zip) and merge them by time.

        ``places``: per speaker, how to move their track's times to the meeting clock (a track that holds
        only its speaker's speech, e.g. a VOS live capture); tracks without one already start at 0.
        """
        per_speaker: dict[str, Transcript] = {}
        total = max(1, len(tracks))
        for index, (speaker, audio) in enumerate(tracks.items()):

            async def track_progress(fraction: float, status: str, _i: int = index) -> None:
                await report(progress, (_i + fraction) / total, status)

            heard = await self.stt.transcribe(
                audio, sample_rate=sample_rate, language=language, progress=track_progress
            )
            place = (places or {}).get(speaker)
            per_speaker[speaker] = place(heard) if place is not None else heard
        segments = merge_tracks(per_speaker)
        languages = [t.language for t in per_speaker.values() if t.segments]
        detected = max(set(languages), key=languages.count) if languages else (language or "")
        duration = max((t.duration_s for t in per_speaker.values()), default=0.0)
        engine = next((t.engine for t in per_speaker.values()), "")
        return Transcript(language=detected, duration_s=duration, segments=segments, engine=engine)
