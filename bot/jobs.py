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

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
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


def _stops_quietly(
    job: Callable[[App], Awaitable[object]], running: set[asyncio.Task[object]]
) -> Callable[[App], Awaitable[object]]:
    """A job that ends without a word when the bot stops under it (APScheduler would log the cancellation
    as an error with a traceback; the job is idempotent and runs again at the next start). Its task is in
    ``running`` meanwhile, so the bot can stop it before it closes the database under it."""

    async def run(app: App) -> object:
        task = asyncio.current_task()
        if task is not None:
            running.add(task)
        try:
            return await job(app)
        except asyncio.CancelledError:
            log.info("background job %s stopped with the bot", job.__name__)
            return None
        finally:
            if task is not None:
                running.discard(task)

    return run


def _not_a_cancellation(record: logging.LogRecord) -> bool:
    """APScheduler logs a job cancelled before it began (the bot stopping at once) as an error with a
    traceback; that is a normal stop, not an error."""
    return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def build_scheduler(
    app: App, *, interval_hours: float = 24.0, running: set[asyncio.Task[object]] | None = None
) -> AsyncIOScheduler:
    """An AsyncIOScheduler with the retention and blob collection jobs (not started)."""
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    logging.getLogger("apscheduler.executors.default").addFilter(_not_a_cancellation)  # added once
    scheduler = AsyncIOScheduler(timezone=UTC)
    tasks = running if running is not None else set()
    for job_id, job in ((RETENTION_JOB_ID, run_retention), (BLOB_GC_JOB_ID, run_blob_gc)):
        scheduler.add_job(
            _stops_quietly(job, tasks),
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
            log.warning("meeting %s was interrupted by a restart", meeting.id)
        for job in await app.jobs.recover():
            log.warning("job %s (%s) was unfinished at start-up: resuming it once", job.id, job.kind)
    running: set[asyncio.Task[object]] = set()
    scheduler = build_scheduler(app, running=running)
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)
        for task in list(running):  # stopped here, not by the loop's final sweep after the database closed
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
