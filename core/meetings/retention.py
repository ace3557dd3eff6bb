"""Retention: raw meeting audio is deleted after a number of days; transcripts and summaries stay.

The clock is a parameter, so tests move time instead of waiting. A blob is only deleted when nothing else
names it (the store is content-addressed: the same file imported twice, or also uploaded as a star's voice
recording, is one blob), asked through :func:`release_blobs`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from core.blob_release import release_blobs
from core.ports import BlobStore
from core.storage.blob_references import BlobReferenceRepository
from core.storage.ids import utcnow
from core.storage.meeting_repository import MeetingRepository

log = logging.getLogger(__name__)


async def purge_expired_audio(
    repo: MeetingRepository,
    blobs: BlobStore,
    *,
    references: BlobReferenceRepository,
    retention_days: int,
    clock: Callable[[], datetime] = utcnow,
) -> list[str]:
    """Delete the raw audio of meetings older than ``retention_days``; returns the meeting ids purged.

    Meetings still queued or processing keep their audio whatever their age. ``retention_days <= 0``
    disables the purge.
    """
    if retention_days <= 0:
        return []
    cutoff = clock() - timedelta(days=retention_days)
    purged: list[str] = []
    for meeting in await repo.audio_older_than(cutoff):
        key = meeting.audio_blob
        await repo.clear_audio(meeting.id)
        if key:
            await release_blobs(references, blobs, [key])
        purged.append(meeting.id)
    if purged:
        log.info("retention: deleted the raw audio of %d meeting(s)", len(purged))
    return purged
