"""Transcription service: any ``SpeechToText`` plus speaker assignment for mixed and per-speaker audio.

Backends return plain transcripts; this service adds what meetings need: words assigned to diarized
speakers for one mixed recording, or per-speaker tracks transcribed one by one and merged by time.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Mapping
from dataclasses import replace

import numpy as np

from core.domain.audio import Diarization, Transcript, TranscriptSegment
from core.meetings.assign import assign_word_speakers, merge_tracks
from core.ports import Audio, ProgressCallback, SpeechToText
from core.speech.chunking import speech_chunks


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

        Each track is cut at its silences first (``core.speech.chunking``) and every chunk is recognised
        on its own, so segments keep their true times however sparse the track is. The language detected
        on the first chunk is kept for the rest when none was given. ``places``: per speaker, how to move
        their track's times to the meeting clock (a track that holds only its speaker's speech, e.g. a VOS
        live capture); tracks without one already start at 0.
        """
        per_speaker: dict[str, Transcript] = {}
        # A track with a place (a live capture) holds its speaker's speech only, already cut from the
        # silences; the timeline puts it back on the meeting clock, so it is recognised whole.
        plan = {
            speaker: [(0, len(audio))]
            if speaker in (places or {})
            else await asyncio.to_thread(speech_chunks, audio, sample_rate)
            for speaker, audio in tracks.items()
        }
        total = sum(end - start for chunks in plan.values() for start, end in chunks) or 1
        done = 0
        engine = ""
        for speaker, audio in tracks.items():
            segments: list[TranscriptSegment] = []
            for start, end in plan[speaker]:
                offset = start / sample_rate
                base = done

                async def chunk_progress(
                    fraction: float, status: str, _base: int = base, _n: int = end - start
                ) -> None:
                    await report(progress, (_base + fraction * _n) / total, status)

                part = await self.stt.transcribe(
                    audio[start:end], sample_rate=sample_rate, language=language, progress=chunk_progress
                )
                language = language or (part.language if part.segments else None)
                engine = engine or part.engine
                segments += [_shifted(seg, offset) for seg in part.segments]
                done += end - start
            heard = Transcript(
                language=language or "",
                duration_s=len(audio) / sample_rate,
                segments=tuple(segments),
                engine=engine,
            )
            place = (places or {}).get(speaker)
            per_speaker[speaker] = place(heard) if place is not None else heard
        await report(progress, 1.0, "transcribed")
        merged = merge_tracks(per_speaker)
        duration = max((t.duration_s for t in per_speaker.values()), default=0.0)
        return Transcript(language=language or "", duration_s=duration, segments=merged, engine=engine)


def _shifted(seg: TranscriptSegment, offset: float) -> TranscriptSegment:
    """A chunk's segment placed at its time in the whole track."""
    return replace(
        seg,
        start=seg.start + offset,
        end=seg.end + offset,
        words=tuple(replace(w, start=w.start + offset, end=w.end + offset) for w in seg.words),
    )
