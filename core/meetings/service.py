"""The meeting archive: import recordings as persisted jobs, then summaries, exports, renames and Q&A.

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

from core.blob_release import release_blobs
from core.domain.audio import Transcript
from core.domain.identity import Locale
from core.domain.meetings import Meeting, MeetingAnswer, MeetingScope, MeetingSource, StoredSegment
from core.i18n import t
from core.meetings.corrections import correct_in_summary, rename_in_summary
from core.meetings.enrolment import VoiceEnrolment
from core.meetings.exports import ExportFormat, export
from core.meetings.pipeline import (
    PipelineOptions,
    Stage,
    StageTracker,
    transcribe_recording,
    transcribe_track_archive,
)
from core.meetings.records import as_transcript, failure_text, meeting_record, meeting_zone, summary_locale
from core.meetings.search import MeetingSearch
from core.meetings.summary import MeetingSummary, summarize_offline, summarize_with_llm
from core.meetings.summary.model import OFFLINE_ENGINE
from core.meetings.talktime import talk_time, talk_time_chart
from core.meetings.timeline import read_notes
from core.meetings.tracks import TrackArchiveError, TrackLimits
from core.ports import BlobStore, ChatModel, Diarizer, EngineUnavailable, ProgressCallback, SpeechToText
from core.safety.check import SafetyGuard
from core.safety.verdict import blocked_message
from core.speech.transcription import report
from core.storage.blob_references import BlobReferenceRepository
from core.storage.meeting_repository import MeetingRepository
from core.voice.audio import AudioError

log = logging.getLogger(__name__)
MAX_SEGMENT_CHARS = 4000
# A live capture VOS wrote itself: up to 4 hours of Opus speech per speaker, a big channel's speakers.
LIVE_TRACK_LIMITS = TrackLimits(max_files=100, max_file_bytes=200_000_000, max_total_bytes=2_000_000_000)
INTERRUPTED = "interrupted: the bot restarted while this meeting was being processed"


DEFAULT_MAX_QUESTION_CHARS = 1000


class QuestionTooLong(ValueError):
    """A question over the meetings longer than the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the question is longer than {limit} characters")
        self.limit = limit


class MeetingService:
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

    async def _summarize(self, meeting: Meeting, language: str, locale: Locale) -> MeetingSummary:
        """The summary in the meeting's language (the user's locale when none was detected)."""
        segments = as_transcript(await self.repo.segments(meeting.id))
        written_in = summary_locale(language, locale)
        meeting_date = meeting.created_at.astimezone(meeting_zone(written_in)).date()
        if self.chat_model is not None:
            summary = await summarize_with_llm(self.chat_model, segments, written_in)
            return replace(summary, language=written_in.value)
        return await asyncio.to_thread(
            lambda: summarize_offline(segments, meeting_date=meeting_date, language=written_in.value)
        )

    async def recover_interrupted(self, *, keep: Collection[str] = ()) -> list[Meeting]:
        """At start-up: mark meetings a previous process left unfinished as failed, but those in ``keep``
        (an unfinished job will process them); returns them."""
        return await self.repo.fail_unfinished(INTERRUPTED, keep=keep)

    # --- reading --------------------------------------------------------------------------------------

    async def list_meetings(self, scope: MeetingScope) -> list[Meeting]:
        """The scope's meetings, newest first."""
        return await self.repo.list_for(scope)

    async def get(self, scope: MeetingScope, meeting_id: str) -> Meeting | None:
        """A meeting of the scope (``None`` for another scope's)."""
        return await self.repo.get(scope, meeting_id)

    async def transcript(self, scope: MeetingScope, meeting_id: str) -> list[StoredSegment] | None:
        """The meeting's segments with display names, or ``None`` when not the scope's."""
        if await self.repo.get(scope, meeting_id) is None:
            return None
        return await self.repo.segments(meeting_id)

    async def summary(self, scope: MeetingScope, meeting_id: str) -> MeetingSummary | None:
        """The stored summary, or ``None`` (not the scope's, or not processed)."""
        meeting = await self.repo.get(scope, meeting_id)
        if meeting is None or meeting.summary is None:
            return None
        return MeetingSummary.from_dict(dict(meeting.summary))

    async def export(
        self, scope: MeetingScope, meeting_id: str, fmt: ExportFormat | str, locale: Locale = Locale.EN
    ) -> bytes | None:
        """The meeting exported in ``fmt`` (``None`` when not the scope's)."""
        meeting = await self.repo.get(scope, meeting_id)
        if meeting is None:
            return None
        segments = as_transcript(await self.repo.segments(meeting_id))
        summary = MeetingSummary.from_dict(dict(meeting.summary)) if meeting.summary else None
        return await asyncio.to_thread(
            export,
            segments,
            fmt,
            title=meeting.title,
            locale=locale,
            summary=summary,
            meeting=meeting_record(meeting),
            font_path=self.chart_font,
        )

    async def talk_time_png(self, scope: MeetingScope, meeting_id: str, locale: Locale) -> bytes | None:
        """A PNG chart of talk time per speaker."""
        segments = await self.transcript(scope, meeting_id)
        if segments is None:
            return None
        stats = talk_time(as_transcript(segments))
        return await asyncio.to_thread(talk_time_chart, stats, locale, font_path=self.chart_font)

    async def rename_speaker(self, scope: MeetingScope, meeting_id: str, label: str, name: str) -> bool:
        """Rename a speaker (by label ``S1`` or current name); the summary follows. False if unknown."""
        meeting = await self.repo.get(scope, meeting_id)
        if meeting is None or not name.strip():
            return False
        speakers = await self.repo.speakers(meeting_id)
        match = next((s for s in speakers if label in (s.label, s.display_name)), None)
        if match is None:
            return False
        old = await self.repo.rename_speaker(meeting_id, match.label, name.strip())
        if meeting.summary and old:
            summary = MeetingSummary.from_dict(dict(meeting.summary))
            await self.repo.set_summary(meeting_id, rename_in_summary(summary, old, name.strip()).to_dict())
        return True

    async def correct_segment(self, scope: MeetingScope, meeting_id: str, index: int, text: str) -> bool:
        """Correct the text of a meeting's segment (its 0-based position in the transcript); the summary,
        the search index and every export follow. False when the meeting or the segment is unknown."""
        clean = " ".join(text.split())[:MAX_SEGMENT_CHARS]
        meeting = await self.repo.get(scope, meeting_id)
        if meeting is None or not clean:
            return False
        segments = await self.repo.segments(meeting_id)
        if not 0 <= index < len(segments):
            return False
        old = segments[index]
        await self.repo.correct_segment(old.id, clean)  # the database's full-text index follows
        await self.search.index_segments([replace(old, text=clean, words=())])
        if meeting.summary:
            summary = MeetingSummary.from_dict(dict(meeting.summary))
            if summary.engine == OFFLINE_ENGINE:
                fallback = Locale.KO if summary.language.startswith("ko") else Locale.EN
                summary = await self._summarize(meeting, meeting.language, fallback)
            else:
                summary = correct_in_summary(summary, old.text, clean)
            await self.repo.set_summary(meeting_id, summary.to_dict())
        log.info("meeting %s: segment %d corrected", meeting_id, index)
        return True

    async def ask(self, scope: MeetingScope, question: str, locale: Locale) -> MeetingAnswer:
        """Q&A over the scope's meetings; ``QuestionTooLong`` past ``max_question_chars``. The answer
        passes the same output check as a star's reply: a blocked one is replaced by the block message."""
        if len(question) > self.max_question_chars:
            raise QuestionTooLong(self.max_question_chars)
        answer = await self.search.ask(scope, question, locale)
        if self.guard is None or answer.abstained:
            return answer
        verdict = await self.guard.check(answer.text, role="star", locale=locale)
        if verdict.verdict != "block":
            return answer
        log.info("meeting answer blocked: reasons=%s", ",".join(verdict.reasons))
        return MeetingAnswer(text=blocked_message(locale), citations=(), abstained=True, engine="safety")

    async def delete_all(self, scope: MeetingScope) -> int:
        """Delete every meeting of a scope (``/forget_me``); returns how many."""
        meetings = await self.list_meetings(scope)
        deleted = sum([await self._delete(scope, m.id) for m in meetings])
        if deleted:
            await self.repo.db.after_deletion()  # no transcript left readable in the WAL
        return deleted

    async def delete(self, scope: MeetingScope, meeting_id: str) -> bool:
        """Delete a meeting, its transcript and (when nothing else names the same content) its audio."""
        if not await self._delete(scope, meeting_id):
            return False
        await self.repo.db.after_deletion()
        return True

    async def _delete(self, scope: MeetingScope, meeting_id: str) -> bool:
        meeting = await self.repo.delete(scope, meeting_id)
        if meeting is None:
            return False
        # Tracks a killed import left unpacked (a finished or re-run one removes them itself).
        await asyncio.to_thread(shutil.rmtree, self.work_dir / meeting.id, True)
        if meeting.audio_blob:
            await release_blobs(self.references, self.blobs, [meeting.audio_blob])
        return True


__all__ = ["INTERRUPTED", "MeetingService", "as_transcript", "meeting_record", "rename_in_summary"]
