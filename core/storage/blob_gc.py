"""Garbage collection of orphaned blobs: stored content that nothing in the database names any more.

Ending a flow releases the uploads its state held at once (the KakaoTalk export and photo of a cancelled
``/new``: see ``Engine._end_flow``), so orphans are what that misses: a crash between storing a blob and
writing its reference or its flow state, a step that failed after storing an upload, or a release the blob
store refused. They waste space and, worse, keep a family's chat export after they said no. The collector
lists the store, asks :class:`BlobReferenceRepository` which keys are still named anywhere, and deletes the
rest once they are older than a grace period.

The grace period is what makes this safe while the bot runs: an upload is stored first and referenced a
moment later, and storing content that is already there refreshes its time (see ``StoredBlob``), so a blob
younger than the grace period is never touched. The clock is a parameter, so tests move time instead of
waiting. Logs carry counts only, never keys or file names.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.ports import BlobStore, StoredBlob
from core.storage.blob_references import BlobReferenceRepository
from core.storage.ids import utcnow

log = logging.getLogger(__name__)
DEFAULT_GRACE = timedelta(hours=24)
_BATCH = 500  # candidates checked against the database at once


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobGcResult:
    """What one collection saw and did (with ``dry_run``, ``deleted`` counts what it would delete)."""

    scanned: int
    deleted: int
    bytes_freed: int
    kept_young: int
    kept_referenced: int
    dry_run: bool


@dataclass(slots=True)
class _Tally:
    scanned: int = 0
    deleted: int = 0
    bytes_freed: int = 0
    kept_young: int = 0
    kept_referenced: int = 0


class BlobGarbageCollector:
    """Deletes blobs that no row, unfinished flow or unfinished job names, once past the grace period."""

    def __init__(
        self,
        references: BlobReferenceRepository,
        blobs: BlobStore,
        *,
        grace: timedelta = DEFAULT_GRACE,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.references = references
        self.blobs = blobs
        self.grace = grace
        self.clock = clock

    async def collect(self, *, dry_run: bool = False, grace: timedelta | None = None) -> BlobGcResult:
        """One pass over the store; ``grace`` overrides the configured period for this pass."""
        cutoff = self.clock() - (self.grace if grace is None else grace)
        tally = _Tally()
        if not dry_run:
            # A crashed upload's temporary copy is not a blob yet (no key), so listing never sees it.
            swept = await self.blobs.sweep_incoming()
            if swept:
                log.info("blob gc: %d abandoned temporary upload(s) deleted", swept)
        old: list[StoredBlob] = []
        async for blob in self.blobs.list_blobs():
            tally.scanned += 1
            if blob.modified > cutoff:
                tally.kept_young += 1
                continue
            old.append(blob)
            if len(old) >= _BATCH:
                await self._sweep(old, tally, dry_run=dry_run)
                old = []
        await self._sweep(old, tally, dry_run=dry_run)
        result = BlobGcResult(
            scanned=tally.scanned,
            deleted=tally.deleted,
            bytes_freed=tally.bytes_freed,
            kept_young=tally.kept_young,
            kept_referenced=tally.kept_referenced,
            dry_run=dry_run,
        )
        log.info(
            "blob gc%s: scanned=%d deleted=%d bytes_freed=%d kept_young=%d kept_referenced=%d",
            " (dry run)" if dry_run else "",
            result.scanned,
            result.deleted,
            result.bytes_freed,
            result.kept_young,
            result.kept_referenced,
        )
        return result

    async def _sweep(self, old: list[StoredBlob], tally: _Tally, *, dry_run: bool) -> None:
        # References are read per batch, right before deleting, so a reference written while the store
        # was being listed still saves its blob.
        if not old:
            return
        referenced = await self.references.referenced([b.key for b in old])
        for blob in old:
            if blob.key in referenced:
                tally.kept_referenced += 1
                continue
            if not dry_run:
                await self.blobs.delete(blob.key)
            tally.deleted += 1
            tally.bytes_freed += blob.size
