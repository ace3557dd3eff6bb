"""Voice memories: transcribed clips of a star's real voice, searchable, always read through their owner.

Each clip blob gets a ``blob_refs`` row (owner + star, purpose ``voice_memory``), so /export ships it and
/forget and /forget_me delete it with the star's rows. Term search follows ``core.storage.fulltext``:
FTS5 trigram on SQLite for terms of three characters or more, ``ILIKE`` (pg_trgm-indexed on PostgreSQL)
otherwise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, delete, func, select, text

from core.storage.db import Database
from core.storage.fulltext import fts_phrase, uses_trigram_index
from core.storage.ids import aware, utcnow
from core.storage.models import BlobRefRow, VoiceMemoryRow

MEMORY_PURPOSE = "voice_memory"

# CROSS JOIN: SQLite drives the loop from the full-text index, not from the star's rows.
_FTS_HITS = (
    "SELECT m.id FROM fts_voice_memories f CROSS JOIN voice_memories m ON m.id = f.rowid "
    "WHERE fts_voice_memories MATCH :q AND m.owner_id = :owner AND m.star_id = :star LIMIT :cap"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewVoiceMemory:
    """A transcribed clip already stored as a blob, to be kept as a memory."""

    recording_id: str | None
    start: float
    end: float
    text: str
    language: str
    blob_key: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceMemory:
    """What the star really said, where in which recording, and the clip of it (an OGG/Opus blob)."""

    id: int
    owner_id: str
    star_id: str
    recording_id: str | None
    start: float
    end: float
    text: str
    language: str
    blob_key: str
    created_at: datetime

    @property
    def seconds(self) -> float:
        """How long the clip is."""
        return max(0.0, self.end - self.start)


def _memory(row: VoiceMemoryRow) -> VoiceMemory:
    return VoiceMemory(
        id=row.id,
        owner_id=row.owner_id,
        star_id=row.star_id,
        recording_id=row.recording_id,
        start=row.source_start,
        end=row.source_end,
        text=row.text,
        language=row.language,
        blob_key=row.blob_key,
        created_at=aware(row.created_at),
    )


def _owned(owner_id: str, star_id: str) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
    return VoiceMemoryRow.owner_id == owner_id, VoiceMemoryRow.star_id == star_id


def _contains(term: str) -> ColumnElement[bool]:
    # ILIKE: Whisper capitalizes ("Kimchi") and PostgreSQL's LIKE is case-sensitive; pg_trgm indexes both.
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return VoiceMemoryRow.text.ilike(f"%{escaped}%", escape="\\")


class VoiceMemoryRepository:
    """Rows of ``voice_memories`` as frozen :class:`VoiceMemory` objects."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, owner_id: str, star_id: str, memories: Sequence[NewVoiceMemory]) -> list[VoiceMemory]:
        """Keep memories and reference their clip blobs (owner + star)."""
        now = utcnow()
        rows = [
            VoiceMemoryRow(
                owner_id=owner_id,
                star_id=star_id,
                recording_id=m.recording_id,
                source_start=m.start,
                source_end=m.end,
                text=m.text,
                language=m.language[:16],
                blob_key=m.blob_key,
                created_at=now,
            )
            for m in memories
        ]
        async with self.db.write() as s:
            s.add_all(rows)
            for m in memories:
                s.add(
                    BlobRefRow(
                        blob_key=m.blob_key,
                        owner_id=owner_id,
                        star_id=star_id,
                        purpose=MEMORY_PURPOSE,
                        filename=f"voice-memory-{m.start:07.1f}s.ogg",
                        size=m.size,
                        created_at=now,
                    )
                )
            await s.flush()
            return [_memory(r) for r in rows]

    async def delete_all(self, owner_id: str, star_id: str) -> list[str]:
        """Drop a star's memories and their blob references; returns the blob keys they used."""
        async with self.db.write() as s:
            keys = list(await s.scalars(select(VoiceMemoryRow.blob_key).where(*_owned(owner_id, star_id))))
            await s.execute(delete(VoiceMemoryRow).where(*_owned(owner_id, star_id)))
            await s.execute(
                delete(BlobRefRow).where(
                    BlobRefRow.owner_id == owner_id,
                    BlobRefRow.star_id == star_id,
                    BlobRefRow.purpose == MEMORY_PURPOSE,
                )
            )
            return keys

    async def count(self, owner_id: str, star_id: str) -> int:
        """How many memories the owner keeps of the star."""
        async with self.db.read() as s:
            q = select(func.count()).select_from(VoiceMemoryRow).where(*_owned(owner_id, star_id))
            return int(await s.scalar(q) or 0)

    async def listed(self, owner_id: str, star_id: str, *, limit: int = 50) -> list[VoiceMemory]:
        """The star's memories in recording order (oldest recording first)."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(VoiceMemoryRow)
                .where(*_owned(owner_id, star_id))
                .order_by(VoiceMemoryRow.id)
                .limit(limit)
            )
            return [_memory(r) for r in rows]

    async def by_ids(self, owner_id: str, star_id: str, ids: Sequence[int]) -> list[VoiceMemory]:
        """The owner's memories of the star among ``ids`` (others are silently left out)."""
        if not ids:
            return []
        async with self.db.read() as s:
            rows = await s.scalars(
                select(VoiceMemoryRow).where(*_owned(owner_id, star_id), VoiceMemoryRow.id.in_(list(ids)))
            )
            return [_memory(r) for r in rows]

    async def term_hits(self, owner_id: str, star_id: str, term: str, *, cap: int = 200) -> list[int]:
        """Ids of the star's memories whose text contains ``term``."""
        async with self.db.read() as s:
            if uses_trigram_index(self.db.is_sqlite, term):
                rows = await s.execute(
                    text(_FTS_HITS), {"q": fts_phrase(term), "owner": owner_id, "star": star_id, "cap": cap}
                )
            else:
                rows = await s.execute(
                    select(VoiceMemoryRow.id).where(*_owned(owner_id, star_id), _contains(term)).limit(cap)
                )
            return [int(r[0]) for r in rows]
