"""The recognition half of a meeting import: audio in, a transcript with speaker labels out.

Mixed recording: decode → diarize (optional: without the voice extra everything is one speaker) →
transcribe → assign each word to the speaker talking then. Per-speaker tracks (Craig zip, Discord capture):
decode each track → transcribe each → merge by time; no diarization. Decoding, diarization and recognition
all run off the event loop (threads; the engines release the GIL in their native code).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from core.domain.audio import Transcript
from core.meetings.timeline import meeting_length, read_timeline
from core.meetings.tracks import TrackLimits, extract_tracks, speaker_name
from core.ports import Audio, Diarizer, EngineUnavailable, ProgressCallback, SpeechToText
from core.speech.chunking import speech_chunks
from core.speech.transcription import TranscriptionService, report
from core.voice.audio import AudioError, decode_audio

log = logging.getLogger(__name__)
SINGLE_SPEAKER = "S1"
RATE = 16000


@dataclass(frozen=True, slots=True, kw_only=True)
class PipelineOptions:
    """What one import asks for."""

    language: str | None = None
    # The user's locale: used when the recogniser is unsure which language it hears.
    language_hint: str | None = None
    speakers: int | None = None
    max_audio_seconds: float = 7200.0
    track_limits: TrackLimits = field(default_factory=TrackLimits)


class Stage:
    """The stage names a progress callback and a failure report use (i18n: ``meetingflow.stage.*``)."""

    DECODE = "decode"
    SEPARATE = "separate"
    TRANSCRIBE = "transcribe"
    SUMMARIZE = "summarize"
    INDEX = "index"


class StageTracker:
    """Maps each stage's own 0..1 progress onto the whole import, and remembers the current stage."""

    def __init__(self, progress: ProgressCallback | None) -> None:
        self.progress = progress
        self.stage = Stage.DECODE

    def sub(self, stage: str, start: float, end: float) -> ProgressCallback:
        """A callback for one stage spanning ``[start, end]`` of the whole."""
        self.stage = stage

        async def callback(fraction: float, _status: str) -> None:
            await report(self.progress, start + (end - start) * fraction, stage)

        return callback

    async def enter(self, stage: str, at: float) -> None:
        """Start a stage."""
        self.stage = stage
        await report(self.progress, at, stage)


PROBE_SECONDS = 30.0
SURE_LANGUAGE = 0.6
# Voiced audio for which no word at all is recognised means the wrong language or an unusable recording.
NO_TEXT_AFTER_S = 8.0


def _voiced(audio: Audio, limit_s: float | None = None) -> Audio:
    """The audible parts of ``audio`` (16 kHz), joined, up to ``limit_s`` seconds."""
    parts, total = [], 0
    for start, end in speech_chunks(audio, RATE):
        parts.append(audio[start:end])
        total += end - start
        if limit_s is not None and total >= limit_s * RATE:
            break
    joined = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    return joined[: int(limit_s * RATE)] if limit_s is not None else joined


async def choose_language(stt: SpeechToText, audio: Audio, options: PipelineOptions) -> str | None:
    """The language to recognise in: the one asked for; else the one heard in the first half minute of
    speech, unless the recogniser is unsure of it and the user's locale says otherwise."""
    if options.language:
        return options.language
    probe = _voiced(audio, PROBE_SECONDS)
    if probe.size < RATE:
        return options.language_hint
    heard = await stt.transcribe(probe, sample_rate=RATE, language=None)
    hint = options.language_hint
    if hint and heard.language != hint and (heard.language_probability < SURE_LANGUAGE or not heard.segments):
        log.info(
            "language %s (p=%.2f) is unsure: using the hint %s",
            heard.language,
            heard.language_probability,
            hint,
        )
        return hint
    return heard.language or hint


def check_recognised(transcript: Transcript, voiced_s: float) -> None:
    """Refuse to store an empty transcript of audio that plainly has speech in it."""
    if not any(s.text.strip() for s in transcript.segments) and voiced_s >= NO_TEXT_AFTER_S:
        raise AudioError(
            "voice.audio.nothing_recognised",
            f"no words in {voiced_s:.0f} s of speech (language {transcript.language or '?'})",
            seconds=round(voiced_s),
            language=transcript.language or "?",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Recognised:
    """A mixed recording's transcript, and each speaker label's voice embedding (for enrolled names)."""

    transcript: Transcript
    speaker_embeddings: dict[str, tuple[float, ...]] = field(default_factory=dict)


def _single_speaker(transcript: Transcript) -> Transcript:
    return replace(
        transcript, segments=tuple(replace(s, speaker=SINGLE_SPEAKER) for s in transcript.segments)
    )


async def transcribe_recording(
    path: Path,
    stt: SpeechToText,
    diarizer_factory: Callable[[], Diarizer] | None,
    options: PipelineOptions,
    tracker: StageTracker,
) -> Recognised:
    """Transcribe one mixed recording with speaker labels (``S1``...) and their voice embeddings."""
    await tracker.enter(Stage.DECODE, 0.0)
    decoded = await asyncio.to_thread(decode_audio, path, max_seconds=options.max_audio_seconds)
    diarization = None
    if options.speakers != 1 and diarizer_factory is not None:
        try:
            diarizer = diarizer_factory()
            diarization = await diarizer.diarize(
                decoded.samples,
                sample_rate=decoded.sample_rate,
                num_speakers=options.speakers,
                progress=tracker.sub(Stage.SEPARATE, 0.05, 0.3),
            )
        except EngineUnavailable as exc:
            log.warning("speakers not separated (%s): one speaker", exc)
    await tracker.enter(Stage.TRANSCRIBE, 0.3)
    language = await choose_language(stt, decoded.samples, options)
    transcript = await TranscriptionService(stt).transcribe_mixed(
        decoded.samples,
        sample_rate=decoded.sample_rate,
        language=language,
        diarization=diarization,
        progress=tracker.sub(Stage.TRANSCRIBE, 0.3, 0.85),
    )
    if diarization is None or not diarization.turns:
        transcript = _single_speaker(transcript)
    check_recognised(transcript, _voiced(decoded.samples).size / RATE)
    return Recognised(
        transcript=replace(transcript, duration_s=max(transcript.duration_s, decoded.duration_s)),
        speaker_embeddings=dict(diarization.embeddings) if diarization is not None else {},
    )


def _decode_tracks(files: Mapping[str, Path], max_seconds: float) -> tuple[dict[str, Audio], float]:
    tracks: dict[str, Audio] = {}
    duration = 0.0
    for speaker, file in files.items():
        try:
            decoded = decode_audio(file, max_seconds=max_seconds)
        except AudioError as exc:
            if exc.key == "voice.audio.silent":
                continue  # a participant who never spoke
            raise
        tracks[speaker] = decoded.samples
        duration = max(duration, decoded.duration_s)
    if not tracks:
        raise AudioError("voice.audio.silent", "every track is silent")
    return tracks, duration


async def transcribe_track_archive(
    archive: Path, work_dir: Path, stt: SpeechToText, options: PipelineOptions, tracker: StageTracker
) -> Transcript:
    """Transcribe a per-speaker track zip; speaker labels are the names the files carry."""
    await tracker.enter(Stage.DECODE, 0.0)
    # VOS's live captures store each speaker's speech only, with a timeline of where it sits.
    timelines = await asyncio.to_thread(read_timeline, archive)
    length = meeting_length(timelines) if timelines else 0.0
    if length > options.max_audio_seconds:
        minutes = round(options.max_audio_seconds / 60)
        raise AudioError("voice.audio.too_long", f"> {options.max_audio_seconds:.0f} s", minutes=minutes)
    files = await asyncio.to_thread(extract_tracks, archive, work_dir, options.track_limits)
    try:
        tracks, duration = await asyncio.to_thread(_decode_tracks, files, options.max_audio_seconds)
    finally:
        for file in files.values():
            file.unlink(missing_ok=True)
    await tracker.enter(Stage.TRANSCRIBE, 0.1)
    loudest = max(tracks.values(), key=lambda a: _voiced(a, PROBE_SECONDS).size)
    language = await choose_language(stt, loudest, options)
    places = {speaker_name(name)[:100]: timeline.place for name, timeline in (timelines or {}).items()}
    transcript = await TranscriptionService(stt).transcribe_tracks(
        tracks,
        language=language,
        progress=tracker.sub(Stage.TRANSCRIBE, 0.1, 0.85),
        places=places,
    )
    check_recognised(transcript, sum(_voiced(a).size for a in tracks.values()) / RATE)
    return replace(transcript, duration_s=max(transcript.duration_s, duration, length))
