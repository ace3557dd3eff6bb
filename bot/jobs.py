"""Background jobs of the running bot (APScheduler): the meeting audio retention purge and the orphaned-blob
garbage collection.

Replicas: every replica schedules the jobs; a lock per job makes one of them run each tick
(``run_retention``, ``run_blob_gc``). Schedule persistence: the jobs are re-registered at every start with
``replace_existing`` and run once at start-up, then every ``interval_hours``. No job store is persisted, on
purpose: the jobs are derived from settings and idempotent, and what they work on (which meetings still keep
audio, and since when; which blobs are still referenced) is already persisted in the database and the blob
store, so a restart loses nothing but re-runs a cheap query. At start-up the bot also recovers interrupted
jobs (see :func:`background_jobs`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.meetings.retention import purge_expired_audio
from core.storage.blob_gc import BlobGcResult
from core.storage.locks import run_exclusive

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from bot.wiring import App

log = logging.getLogger(__name__)
RETENTION_JOB_ID = "meeting-audio-retention"
BLOB_GC_JOB_ID = "blob-gc"


async def run_retention(app: App) -> list[str]:
    """Purge expired raw meeting audio now; returns the meeting ids purged.

    Replicas share the schedule: the job lock (PostgreSQL advisory or Redis, see ``build_job_lock``) lets
    one of them run it; the others skip that tick and return nothing.
    """
    purged = await run_exclusive(
        app.job_lock,
        RETENTION_JOB_ID,
        lambda: purge_expired_audio(
            app.meetings.repo,
            app.blobs,
            references=app.meetings.references,
            retention_days=app.settings.meetings.audio_retention_days,
        ),
    )
    return purged or []


async def run_blob_gc(app: App, *, dry_run: bool = False) -> BlobGcResult | None:
    """Delete orphaned blobs past the grace period now; None when another replica holds the job's lock."""
    return await run_exclusive(app.job_lock, BLOB_GC_JOB_ID, lambda: app.blob_gc.collect(dry_run=dry_run))


async def sweep_abandoned_imports(app: App) -> int:
    """Remove stars whose import died (killed process, lost worker): see ``core.storage.star_imports``."""
    removed = await app.star_service.imports.sweep()
    if removed:
        log.warning("removed %d star(s) whose import never finished", removed)
    return removed


def build_scheduler(app: App, *, interval_hours: float = 24.0) -> AsyncIOScheduler:
    """An AsyncIOScheduler with the retention and blob collection jobs (not started)."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        sweep_abandoned_imports,
        "interval",
        args=[app],
        minutes=10,
        id="vos-import-sweep",
        replace_existing=True,
        coalesce=True,
        max_instances=1,
    )
    for job_id, job in ((RETENTION_JOB_ID, run_retention), (BLOB_GC_JOB_ID, run_blob_gc)):
        scheduler.add_job(
            job,
            "interval",
            args=[app],
            hours=interval_hours,
            id=job_id,
            replace_existing=True,
            next_run_time=datetime.now(UTC),  # also once at start-up
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
    return scheduler


@asynccontextmanager
async def background_jobs(app: App) -> AsyncIterator[AsyncIOScheduler]:
    """Recover interrupted work, then run the scheduler until the block exits.

    With the local job runner, meetings a previous process left unfinished are marked failed, then the
    unfinished jobs are re-queued once (``LocalJobQueue.recover``): a ``meeting_import`` job among them
    processes its meeting again. With the Redis queue the workers own recovery (leases), so the bot leaves
    meetings and jobs alone: one of them may be running on a worker right now.
    """
    from core.jobs.local import LocalJobQueue

    if isinstance(app.jobs, LocalJobQueue):
        interrupted = await app.meetings.recover_interrupted()
        for meeting in interrupted:
            log.warning("meeting %s (%s) was interrupted by a restart", meeting.id, meeting.title)
        for job in await app.jobs.recover():
            log.warning("job %s (%s) was unfinished at start-up: resuming it once", job.id, job.kind)
    scheduler = build_scheduler(app)
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)
