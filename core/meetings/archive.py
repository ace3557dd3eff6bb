"""The meeting archive as its members see it: read, export, chart, correct, rename, ask, delete.

:class:`MeetingArchive` is the side of :class:`~core.meetings.service.MeetingService` that serves meetings
already imported, always for one scope (a user or a guild): another scope's meeting is ``None``/``False``,
never an error that says it exists. The import and processing side is ``service.py``.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from dataclasses import replace
from pathlib import Path

from core.blob_release import release_blobs
from core.domain.identity import Locale
from core.domain.meetings import Meeting, MeetingAnswer, MeetingScope, StoredSegment
from core.meetings.corrections import correct_in_summary, rename_in_summary
from core.meetings.exports import ExportFormat, export
from core.meetings.records import as_transcript, meeting_record, meeting_zone, summary_locale
from core.meetings.search import MeetingSearch
from core.meetings.summary import MeetingSummary, summarize_offline, summarize_with_llm
from core.meetings.summary.model import OFFLINE_ENGINE
from core.meetings.talktime import talk_time, talk_time_chart
from core.ports import BlobStore, ChatModel
from core.safety.check import SafetyGuard
from core.safety.verdict import blocked_message
from core.storage.blob_references import BlobReferenceRepository
from core.storage.meeting_repository import MeetingRepository

log = logging.getLogger(__name__)
MAX_SEGMENT_CHARS = 4000
DEFAULT_MAX_QUESTION_CHARS = 1000


class QuestionTooLong(ValueError):
    """A question over the meetings longer than the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the question is longer than {limit} characters")
        self.limit = limit


class MeetingArchive:
    """Serves the meetings of one scope at a time; the service sets these attributes."""

    repo: MeetingRepository
    blobs: BlobStore
    search: MeetingSearch
    references: BlobReferenceRepository
    chat_model: ChatModel | None
    work_dir: Path
    chart_font: Path | None
    guard: SafetyGuard | None
    max_question_chars: int

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
