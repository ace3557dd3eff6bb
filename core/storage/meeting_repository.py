"""The meeting archive in the database: meetings (with their job state), speakers, segments and search.

Every read takes a :class:`MeetingScope` and filters by it in SQL, so one user (or guild) can never reach
another's meetings by id. ORM rows never leave this module.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.audio import TranscriptSegment, Word
from core.domain.meetings import (
    Meeting,
    MeetingScope,
    MeetingSource,
    MeetingSpeaker,
    MeetingStatus,
    StoredSegment,
)
from core.storage.db import Database
from core.storage.fulltext import fts_phrase, like_contains, uses_trigram_index
from core.storage.ids import aware, new_id, utcnow
from core.storage.models import MeetingRow, MeetingSegmentRow, MeetingSpeakerRow

_UNFINISHED = (MeetingStatus.QUEUED.value, MeetingStatus.PROCESSING.value)
# CROSS JOIN makes SQLite drive the loop from the full-text index (as in the star memory search).
_FTS_HITS = (
    "SELECT g.id FROM meeting_segments_fts f CROSS JOIN meeting_segments g ON g.id = f.rowid "
    "JOIN meetings m ON m.id = g.meeting_id WHERE meeting_segments_fts MATCH :q AND "
)
_FTS_USER = _FTS_HITS + "m.owner_user_id = :owner AND m.guild_id IS NULL LIMIT :cap"
_FTS_GUILD = _FTS_HITS + "m.guild_id = :owner LIMIT :cap"


def words_json(words: Sequence[Word]) -> str | None:
    """A segment's words as stored: ``[[start, end, text], ...]`` (``None`` when there are none)."""
    if not words:
        return None
    return json.dumps(
        [[round(float(w.start), 3), round(float(w.end), 3), w.text.strip()] for w in words],
        ensure_ascii=False,
    )


def _words(raw: str | None) -> tuple[Word, ...]:
    """Stored words back; anything malformed reads as no words (the segment's text still stands)."""
    if not raw:
        return ()
    try:
        return tuple(Word(start=float(a), end=float(b), text=str(c)) for a, b, c in json.loads(raw))
    except (ValueError, TypeError):
        return ()


def _scoped(scope: MeetingScope) -> Any:
    if scope.guild_id is not None:
        return MeetingRow.guild_id == scope.guild_id
    return (MeetingRow.owner_user_id == scope.user_id) & MeetingRow.guild_id.is_(None)


def _meeting(row: MeetingRow) -> Meeting:
    return Meeting(
        id=row.id,
        scope=MeetingScope(user_id=row.owner_user_id, guild_id=None)
        if row.guild_id is None
        else MeetingScope.of_guild(row.guild_id),
        title=row.title,
        created_at=aware(row.created_at),
        status=MeetingStatus(row.status),
        source=MeetingSource(row.source),
        duration_s=row.duration_s,
        language=row.language,
        progress=row.progress,
        progress_text=row.progress_text,
        error=row.error,
        audio_blob=row.audio_blob,
        summary=row.summary,
        created_by=row.created_by,
        notes=row.notes or "",
    )


class MeetingRepository:
    """Meetings, their speakers and segments, scoped to a user or a guild."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(
        self,
        scope: MeetingScope,
        *,
        title: str,
        source: MeetingSource,
        audio_blob: str | None,
        created_by: str | None = None,
        now: datetime | None = None,
        notes: str = "",
    ) -> Meeting:
        """A new queued meeting."""
        row = MeetingRow(
            id=new_id(),
            owner_user_id=scope.user_id,
            guild_id=scope.guild_id,
            created_by=created_by or scope.user_id,
            title=title[:200],
            source=source.value,
            created_at=now or utcnow(),
            duration_s=0.0,
            language="",
            status=MeetingStatus.QUEUED.value,
            progress=0.0,
            progress_text="",
            audio_blob=audio_blob,
            notes=notes or None,
        )
        async with self.db.write() as s:
            s.add(row)
        return _meeting(row)

    async def get(self, scope: MeetingScope, meeting_id: str) -> Meeting | None:
        """A meeting of this scope, or ``None`` (also for another scope's meeting)."""
        async with self.db.read() as s:
            row = await s.scalar(select(MeetingRow).where(MeetingRow.id == meeting_id, _scoped(scope)))
            return _meeting(row) if row else None

    async def list_for(self, scope: MeetingScope, *, limit: int = 100) -> list[Meeting]:
        """The scope's meetings, newest first."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(MeetingRow).where(_scoped(scope)).order_by(MeetingRow.created_at.desc()).limit(limit)
            )
            return [_meeting(r) for r in rows]

    async def set_progress(self, meeting_id: str, fraction: float, status_text: str) -> None:
        """Record progress of a processing meeting."""
        async with self.db.write() as s:
            await s.execute(
                update(MeetingRow)
                .where(MeetingRow.id == meeting_id)
                .values(
                    status=MeetingStatus.PROCESSING.value, progress=fraction, progress_text=status_text[:200]
                )
            )

    async def fail(self, meeting_id: str, error: str) -> None:
        """Mark a meeting failed with what failed (its audio is kept)."""
        async with self.db.write() as s:
            await s.execute(
                update(MeetingRow)
                .where(MeetingRow.id == meeting_id)
                .values(status=MeetingStatus.FAILED.value, error=error[:2000])
            )

    async def fail_unfinished(self, error: str, *, keep: Collection[str] = ()) -> list[Meeting]:
        """Mark every queued or processing meeting failed (after a restart), but those in ``keep`` (a job
        still processes them); returns them."""
        async with self.db.write() as s:
            rows = [
                r
                for r in await s.scalars(select(MeetingRow).where(MeetingRow.status.in_(_UNFINISHED)))
                if r.id not in keep
            ]
            for row in rows:
                row.status = MeetingStatus.FAILED.value
                row.error = error[:2000]
            return [_meeting(r) for r in rows]

    async def store_transcript(
        self,
        meeting_id: str,
        segments: Sequence[TranscriptSegment],
        speakers: dict[str, str],
        *,
        language: str,
        duration_s: float,
    ) -> None:
        """Replace the meeting's segments and speakers (segments carry speaker labels)."""
        async with self.db.write() as s:
            await s.execute(delete(MeetingSegmentRow).where(MeetingSegmentRow.meeting_id == meeting_id))
            await s.execute(delete(MeetingSpeakerRow).where(MeetingSpeakerRow.meeting_id == meeting_id))
            s.add_all(
                MeetingSpeakerRow(meeting_id=meeting_id, label=label[:100], display_name=name[:100])
                for label, name in speakers.items()
            )
            rows = [
                {
                    "meeting_id": meeting_id,
                    "seq": i,
                    "start": float(seg.start),
                    "end": float(seg.end),
                    "speaker": seg.speaker[:100] if seg.speaker else None,
                    "text": seg.text.strip(),
                    "words": words_json(seg.words),
                }
                for i, seg in enumerate(seg for seg in segments if seg.text.strip())
            ]
            if rows:
                await s.execute(insert(MeetingSegmentRow), rows)
            await s.execute(
                update(MeetingRow)
                .where(MeetingRow.id == meeting_id)
                .values(language=language[:16], duration_s=duration_s)
            )

    async def finish(self, meeting_id: str, summary: dict[str, object]) -> None:
        """Store the summary and mark the meeting done."""
        async with self.db.write() as s:
            await s.execute(
                update(MeetingRow)
                .where(MeetingRow.id == meeting_id)
                .values(
                    summary=summary,
                    status=MeetingStatus.DONE.value,
                    progress=1.0,
                    progress_text="",
                    error=None,
                )
            )

    async def set_summary(self, meeting_id: str, summary: dict[str, object]) -> None:
        """Replace a meeting's summary (after a rename)."""
        async with self.db.write() as s:
            await s.execute(update(MeetingRow).where(MeetingRow.id == meeting_id).values(summary=summary))

    async def speakers(self, meeting_id: str) -> list[MeetingSpeaker]:
        """The meeting's speakers in label order."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(MeetingSpeakerRow)
                .where(MeetingSpeakerRow.meeting_id == meeting_id)
                .order_by(MeetingSpeakerRow.label)
            )
            return [MeetingSpeaker(label=r.label, display_name=r.display_name) for r in rows]

    async def rename_speaker(self, meeting_id: str, label: str, name: str) -> str | None:
        """Rename a speaker; returns the old display name, or ``None`` when the label is unknown."""
        async with self.db.write() as s:
            row = await s.get(MeetingSpeakerRow, (meeting_id, label))
            if row is None:
                return None
            old = row.display_name
            row.display_name = name[:100]
            return old

    async def correct_segment(self, segment_id: int, text: str) -> None:
        """Replace a segment's text; its word times and sentence vector no longer apply and are cleared."""
        async with self.db.write() as s:
            await s.execute(
                update(MeetingSegmentRow)
                .where(MeetingSegmentRow.id == segment_id)
                .values(text=text, words=None, embedding=None)
            )

    async def segments(self, meeting_id: str) -> list[StoredSegment]:
        """The meeting's segments in order, speakers shown by their display names."""
        async with self.db.read() as s:
            return await self._segments(s, [MeetingSegmentRow.meeting_id == meeting_id])

    async def segments_by_id(self, ids: Sequence[int]) -> list[StoredSegment]:
        """Segments by id (any order)."""
        if not ids:
            return []
        async with self.db.read() as s:
            return await self._segments(s, [MeetingSegmentRow.id.in_(list(ids))])

    async def _segments(self, s: AsyncSession, where: list[Any]) -> list[StoredSegment]:
        q = (
            select(MeetingSegmentRow, MeetingSpeakerRow.display_name)
            .outerjoin(
                MeetingSpeakerRow,
                (MeetingSpeakerRow.meeting_id == MeetingSegmentRow.meeting_id)
                & (MeetingSpeakerRow.label == MeetingSegmentRow.speaker),
            )
            .where(*where)
            .order_by(MeetingSegmentRow.meeting_id, MeetingSegmentRow.seq)
        )
        return [
            StoredSegment(
                id=r.id,
                meeting_id=r.meeting_id,
                seq=r.seq,
                start=r.start,
                end=r.end,
                speaker=name or r.speaker,
                text=r.text,
                words=_words(r.words),
            )
            for r, name in await s.execute(q)
        ]

    async def set_embeddings(self, vectors: dict[int, npt.NDArray[np.float32]]) -> None:
        """Store sentence vectors (float16 bytes) for segments."""
        async with self.db.write() as s:
            for seg_id, vec in vectors.items():
                await s.execute(
                    update(MeetingSegmentRow)
                    .where(MeetingSegmentRow.id == seg_id)
                    .values(embedding=np.asarray(vec, dtype=np.float16).tobytes())
                )

    async def embeddings(self, scope: MeetingScope) -> tuple[list[int], npt.NDArray[np.float32]]:
        """Segment ids and their vectors (rows) for every done meeting of the scope that has them."""
        async with self.db.read() as s:
            rows = (
                await s.execute(
                    select(MeetingSegmentRow.id, MeetingSegmentRow.embedding)
                    .join(MeetingRow, MeetingRow.id == MeetingSegmentRow.meeting_id)
                    .where(_scoped(scope), MeetingSegmentRow.embedding.is_not(None))
                )
            ).all()
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        matrix = np.stack([np.frombuffer(e or b"", dtype=np.float16) for _, e in rows]).astype(np.float32)
        return [int(i) for i, _ in rows], matrix

    async def count_segments(self, scope: MeetingScope) -> int:
        """How many segments the scope's meetings hold (the corpus size for IDF)."""
        async with self.db.read() as s:
            q = (
                select(func.count())
                .select_from(MeetingSegmentRow)
                .join(MeetingRow, MeetingRow.id == MeetingSegmentRow.meeting_id)
                .where(_scoped(scope))
            )
            return int(await s.scalar(q) or 0)

    async def term_hits(self, scope: MeetingScope, term: str, cap: int = 200) -> list[int]:
        """Ids of the scope's segments containing ``term`` (FTS5 trigram, or LIKE for short terms)."""
        async with self.db.read() as s:
            if uses_trigram_index(self.db.is_sqlite, term):
                sql = _FTS_GUILD if scope.guild_id else _FTS_USER
                rows = await s.execute(
                    text(sql), {"q": fts_phrase(term), "owner": scope.guild_id or scope.user_id, "cap": cap}
                )
            else:
                rows = await s.execute(
                    select(MeetingSegmentRow.id)
                    .join(MeetingRow, MeetingRow.id == MeetingSegmentRow.meeting_id)
                    .where(_scoped(scope), like_contains(MeetingSegmentRow.text, term))
                    .limit(cap)
                )
            return [int(r[0]) for r in rows]

    async def delete(self, scope: MeetingScope, meeting_id: str) -> Meeting | None:
        """Delete a meeting and everything derived from it; returns it (its audio key to release)."""
        async with self.db.write() as s:
            row = await s.scalar(select(MeetingRow).where(MeetingRow.id == meeting_id, _scoped(scope)))
            if row is None:
                return None
            meeting = _meeting(row)
            await s.execute(delete(MeetingSegmentRow).where(MeetingSegmentRow.meeting_id == meeting_id))
            await s.execute(delete(MeetingSpeakerRow).where(MeetingSpeakerRow.meeting_id == meeting_id))
            await s.delete(row)
            return meeting

    async def audio_older_than(self, cutoff: datetime) -> list[Meeting]:
        """Finished or failed meetings created before ``cutoff`` that still keep raw audio."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(MeetingRow).where(
                    MeetingRow.audio_blob.is_not(None),
                    MeetingRow.created_at < cutoff,
                    MeetingRow.status.not_in(_UNFINISHED),
                )
            )
            return [_meeting(r) for r in rows]

    async def clear_audio(self, meeting_id: str) -> None:
        """Forget a meeting's raw audio key (the transcript stays)."""
        async with self.db.write() as s:
            await s.execute(update(MeetingRow).where(MeetingRow.id == meeting_id).values(audio_blob=None))


__all__ = ["MeetingRepository"]
