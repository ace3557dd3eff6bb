"""Meetings in: import recordings as persisted jobs and process them; serving them is ``archive.py``.

An import stores the raw audio as a blob, creates a ``queued`` meeting, and walks it through the stages
(decode, separate, transcribe, summarize, index) while persisting progress. A failure marks the meeting
``failed`` with the stage and the reason, and keeps the audio (the retention job removes it later).
Restart policy: :meth:`MeetingService.recover_interrupted` marks meetings left ``queued``/``processing`` by
a previous process as failed ("interrupted") rather than resuming them, so a crash loop never re-runs a
poisonous file; their owners see the message in ``/meeting`` lists and can import again.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path

from core.domain.audio import Transcript
from core.domain.identity import Locale
from core.domain.meetings import Meeting, MeetingScope, MeetingSource
from core.i18n import t
from core.meetings.archive import (
    DEFAULT_MAX_QUESTION_CHARS,
    MeetingArchive,
    QuestionTooLong,
)
from core.meetings.corrections import rename_in_summary
from core.meetings.enrolment import VoiceEnrolment
from core.meetings.pipeline import (
    PipelineOptions,
    Stage,
    StageTracker,
    transcribe_recording,
    transcribe_track_archive,
)
from core.meetings.records import as_transcript, failure_text, meeting_record
from core.meetings.search import MeetingSearch
from core.meetings.timeline import read_notes
from core.meetings.tracks import TrackArchiveError, TrackLimits
from core.ports import BlobStore, ChatModel, Diarizer, EngineUnavailable, ProgressCallback, SpeechToText
from core.safety.check import SafetyGuard
from core.speech.transcription import report
from core.storage.blob_references import BlobReferenceRepository
from core.storage.meeting_repository import MeetingRepository
from core.voice.audio import AudioError

log = logging.getLogger(__name__)
# A live capture VOS wrote itself: up to 4 hours of Opus speech per speaker, a big channel's speakers.
LIVE_TRACK_LIMITS = TrackLimits(max_files=100, max_file_bytes=200_000_000, max_total_bytes=2_000_000_000)
INTERRUPTED = "interrupted: the bot restarted while this meeting was being processed"


class MeetingService(MeetingArchive):
    """Imports, processes and serves meetings for one scope at a time (a user or a guild)."""

    def __init__(
        self,
        repo: MeetingRepository,
        blobs: BlobStore,
        search: MeetingSearch,
        *,
        references: BlobReferenceRepository,
        stt_factory: Callable[[], SpeechToText],
        diarizer_factory: Callable[[], Diarizer] | None = None,
        chat_model: ChatModel | None = None,
        work_dir: Path,
        max_audio_seconds: float = 7200.0,
        max_live_seconds: float = 4 * 3600.0 + 300.0,
        track_limits: TrackLimits | None = None,
        chart_font: Path | None = None,
        enrolment: VoiceEnrolment | None = None,
    ) -> None:
        self.repo = repo
        self.blobs = blobs
        self.search = search
        self.references = references
        self.stt_factory = stt_factory
        self._stt: SpeechToText | None = None
        self.diarizer_factory = diarizer_factory
        self._diarizer: tuple[Callable[[], Diarizer], Diarizer] | None = None
        self.chat_model = chat_model
        self.work_dir = work_dir
        self.max_audio_seconds = max_audio_seconds
        # A live capture runs up to the meeting cap (4 h, plus the moments its stop takes).
        self.max_live_seconds = max_live_seconds
        self.track_limits = track_limits or TrackLimits()
        self.chart_font = chart_font
        # The star replies' output check (scam guard), applied to every answer (set by the wiring).
        self.guard: SafetyGuard | None = None
        self.max_question_chars = DEFAULT_MAX_QUESTION_CHARS
        self.enrolment = enrolment

    def stt(self) -> SpeechToText:
        """The speech-to-text engine, built on first use (its model loads lazily too)."""
        if self._stt is None:
            self._stt = self.stt_factory()
        return self._stt

    def unavailable(self) -> EngineUnavailable | None:
        """Why this process cannot transcribe meetings (an extra or model missing), or ``None``."""
        try:
            self.stt()
        except EngineUnavailable as exc:
            return exc
        return None

    def diarizer(self) -> Diarizer:
        """The diarizer, built once per process by ``diarizer_factory`` (rebuilt only if it is replaced).

        A diarizer loads its models on first use (seconds); building one per meeting paid that each time.
        """
        factory = self.diarizer_factory
        assert factory is not None
        if self._diarizer is None or self._diarizer[0] is not factory:
            self._diarizer = (factory, factory())
        return self._diarizer[1]

    # --- import ---------------------------------------------------------------------------------------

    async def import_file(
        self,
        scope: MeetingScope,
        path: Path,
        *,
        title: str | None = None,
        language: str | None = None,
        speakers: int | None = None,
        locale: Locale = Locale.EN,
        created_by: str | None = None,
        progress: ProgressCallback | None = None,
    ) -> Meeting:
        """Import a recording or a zip of per-speaker tracks; returns the meeting, ``done`` or ``failed``."""
        meeting = await self.create_import(scope, path, title=title, created_by=created_by)
        return await self.process(meeting, self.options(language, speakers), locale=locale, progress=progress)

    async def create_import(
        self, scope: MeetingScope, path: Path, *, title: str | None = None, created_by: str | None = None
    ) -> Meeting:
        """Store the recording as a blob and create its ``queued`` meeting (the ``meeting_import`` job
        processes it: see :mod:`core.meetings.jobs`)."""
        is_zip = await asyncio.to_thread(zipfile.is_zipfile, path)
        notes = await asyncio.to_thread(read_notes, path) if is_zip else ""
        key = await self.blobs.put_file(path)
        return await self.repo.create(
            scope,
            title=title or path.stem,
            source=MeetingSource.TRACKS if is_zip else MeetingSource.MIXED,
            audio_blob=key,
            created_by=created_by,
            notes=notes,
        )

    def options(
        self, language: str | None = None, speakers: int | None = None, *, live: bool = False
    ) -> PipelineOptions:
        """Pipeline options for one import, with this service's limits (``live``: the meeting cap)."""
        return PipelineOptions(
            language=language,
            speakers=speakers,
            max_audio_seconds=self.max_live_seconds if live else self.max_audio_seconds,
            track_limits=LIVE_TRACK_LIMITS if live else self.track_limits,
        )

    async def import_tracks(
        self, scope: MeetingScope, files: Mapping[str, Path], *, title: str, **kwargs: object
    ) -> Meeting:
        """Import per-speaker track files (speaker name → file), e.g. a Discord voice capture."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.work_dir) as tmp:
            archive = Path(tmp) / "tracks.zip"

            def pack() -> None:
                with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zf:
                    for index, (name, file) in enumerate(files.items(), 1):
                        zf.write(file, f"{index}-{name}{file.suffix.lower()}")

            await asyncio.to_thread(pack)
            return await self.import_file(scope, archive, title=title, **kwargs)  # type: ignore[arg-type]

    async def process(
        self,
        meeting: Meeting,
        options: PipelineOptions,
        *,
        locale: Locale = Locale.EN,
        progress: ProgressCallback | None = None,
    ) -> Meeting:
        """Run (or re-run) a meeting's job from its stored audio; never raises for a bad recording."""
        options = replace(options, language_hint=options.language_hint or locale.value)
        persisted: dict[str, float | str] = {"at": 0.0, "stage": ""}

        async def on_progress(fraction: float, stage: str) -> None:
            now = time.monotonic()
            if stage != persisted["stage"] or now - float(persisted["at"]) >= 1.0:
                persisted.update(at=now, stage=stage)
                await self.repo.set_progress(meeting.id, fraction, stage)
            await report(progress, fraction, stage)

        tracker = StageTracker(on_progress)
        job_dir = self.work_dir / meeting.id
        try:
            # The recogniser is built first: a missing one fails at its own stage.
            tracker.stage = Stage.TRANSCRIBE
            stt = self.stt()
            assert meeting.audio_blob is not None
            audio = await self.blobs.fetch_local(meeting.audio_blob)
            enrolled: dict[str, str] = {}
            if meeting.source is MeetingSource.TRACKS:
                transcript = await transcribe_track_archive(audio, job_dir, stt, options, tracker)
            else:
                recognised = await transcribe_recording(
                    audio,
                    stt,
                    self.diarizer if self.diarizer_factory is not None else None,
                    options,
                    tracker,
                )
                transcript = recognised.transcript
                if self.enrolment is not None:
                    enrolled = await self.enrolment.names_for(meeting.scope, recognised.speaker_embeddings)
            await self._store(meeting, transcript, locale, enrolled)
            await tracker.enter(Stage.SUMMARIZE, 0.85)
            summary = await self._summarize(meeting, transcript.language, locale)
            await tracker.enter(Stage.INDEX, 0.95)
            await self.search.index(meeting.id)
            await self.repo.finish(meeting.id, summary.to_dict())
            await report(progress, 1.0, "done")
        except asyncio.CancelledError:
            await self.repo.fail(meeting.id, f"{tracker.stage}: cancelled")
            raise
        except (EngineUnavailable, AudioError, TrackArchiveError) as exc:  # expected: one line, no traceback
            log.warning("meeting %s failed at %s: %s", meeting.id, tracker.stage, type(exc).__name__)
            await self.repo.fail(meeting.id, failure_text(tracker.stage, exc, locale))
        except Exception as exc:
            log.exception("meeting %s failed at %s", meeting.id, tracker.stage)
            await self.repo.fail(meeting.id, failure_text(tracker.stage, exc, locale))
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)
        stored = await self.repo.get(meeting.scope, meeting.id)
        assert stored is not None
        return stored

    async def _store(
        self, meeting: Meeting, transcript: Transcript, locale: Locale, enrolled: Mapping[str, str]
    ) -> None:
        """Store the transcript; speakers are named by their track, their enrolled voice, or "Speaker N"."""
        labels: list[str] = []
        for seg in transcript.segments:
            if seg.speaker and seg.speaker not in labels:
                labels.append(seg.speaker)
        names: dict[str, str] = {}
        unnamed = 0
        for label in labels:
            if meeting.source is MeetingSource.TRACKS:
                names[label] = label
            elif label in enrolled:
                names[label] = enrolled[label]
            else:
                unnamed += 1
                names[label] = t(locale, "meetingflow.speaker_default", number=unnamed)
        await self.repo.store_transcript(
            meeting.id,
            transcript.segments,
            names,
            language=transcript.language,
            duration_s=transcript.duration_s,
        )

    async def recover_interrupted(self, *, keep: Collection[str] = ()) -> list[Meeting]:
        """At start-up: mark meetings a previous process left unfinished as failed, but those in ``keep``
        (an unfinished job will process them); returns them."""
        return await self.repo.fail_unfinished(INTERRUPTED, keep=keep)


__all__ = [
    "INTERRUPTED",
    "MeetingService",
    "QuestionTooLong",
    "as_transcript",
    "meeting_record",
    "rename_in_summary",
]
