"""The life of a star while it imports: invisible, with a heartbeat, and removed whole if it never finishes.

An import writes its messages in many short transactions (``StarMessageStore.write_batches``), so a
failure or a kill can leave part of a star behind. The star is created ``importing`` (every read of stars
leaves those out) and becomes ``active`` in the transaction that writes its last pieces. Each batch moves
``import_seen_at``; a star still ``importing`` whose heartbeat is older than ``STALE_AFTER`` belongs to an
import that died, and :meth:`StarImports.sweep` (run when VOS starts and by the jobs' recovery) deletes it,
a batch of messages per transaction, so removing a million messages does not stall anyone either.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, or_, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from core.domain.stars import StarStatus
from core.storage.db import Database
from core.storage.ids import utcnow
from core.storage.models import StarRow

log = logging.getLogger(__name__)

STALE_AFTER = timedelta(minutes=5)
"""An import that committed nothing for this long is dead (a batch takes well under a second)."""
DELETE_BATCH = 5000

_IMPORTING = StarStatus.IMPORTING.value
_DELETE_SOME = text(
    "DELETE FROM star_messages WHERE id IN (SELECT id FROM star_messages WHERE star_id = :sid LIMIT :n)"
)
_HEARTBEAT = (
    update(StarRow)
    .where(StarRow.id == bindparam("sid"), StarRow.status == _IMPORTING)
    .values(import_seen_at=bindparam("now"))
)


class StarImports:
    """Heartbeats, completion and cleanup of star imports."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def heartbeat(conn: Connection, star_id: str) -> None:
        """Inside a batch's transaction: the import is alive."""
        conn.execute(_HEARTBEAT, {"sid": star_id, "now": utcnow()})

    @staticmethod
    async def activate(session: AsyncSession, star_id: str) -> None:
        """Inside the import's last transaction: the star becomes visible."""
        await session.execute(
            update(StarRow)
            .where(StarRow.id == star_id)
            .values(status=StarStatus.ACTIVE.value, import_seen_at=None)
        )

    async def discard(self, star_id: str) -> None:
        """Delete an unfinished import's star and everything written for it, a batch per transaction."""
        removed = 0
        while True:
            async with self.db.write() as s:
                result = await s.execute(_DELETE_SOME, {"sid": star_id, "n": DELETE_BATCH})
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
            removed += count
            if count < DELETE_BATCH:
                break
        async with self.db.write() as s:  # the star's own row; its other rows go with it (cascades)
            await s.execute(delete(StarRow).where(StarRow.id == star_id, StarRow.status == _IMPORTING))
        log.info("unfinished import removed: star=%s messages=%d", star_id, removed)

    async def abandoned(
        self, *, stale_after: timedelta = STALE_AFTER, now: datetime | None = None
    ) -> list[str]:
        """Stars still ``importing`` whose import has not moved for ``stale_after``."""
        cutoff = (now or utcnow()) - stale_after
        async with self.db.read() as s:
            rows = await s.scalars(
                select(StarRow.id).where(
                    StarRow.status == _IMPORTING,
                    or_(StarRow.import_seen_at.is_(None), StarRow.import_seen_at < cutoff),
                )
            )
            return list(rows)

    async def sweep(self, *, stale_after: timedelta = STALE_AFTER) -> int:
        """Remove every abandoned import; returns how many stars were removed."""
        stars = await self.abandoned(stale_after=stale_after)
        for star_id in stars:
            await self.discard(star_id)
        return len(stars)
