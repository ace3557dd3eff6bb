"""Background jobs of the running bot (APScheduler): the meeting audio retention purge, the orphaned-blob
garbage collection and the hourly housekeeping (abandoned dialogs expire, undelivered outbox files and
download folders of killed processes go).

Replicas: every replica schedules the jobs; a lock per job makes one of them run each tick
(``run_retention``, ``run_blob_gc``; housekeeping needs none: each of its steps is atomic or idempotent).
Schedule persistence: the jobs are re-registered at every start with
``replace_existing`` and run once at start-up, then every ``interval_hours``. No job store is persisted, on
purpose: the jobs are derived from settings and idempotent, and what they work on (which meetings still keep
audio, and since when; which blobs are still referenced) is already persisted in the database and the blob
store, so a restart loses nothing but re-runs a cheap query. At start-up the bot also recovers interrupted
jobs (see :func:`background_jobs`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
HOUSEKEEPING_JOB_ID = "housekeeping"
HOUSEKEEPING_INTERVAL_HOURS = 1.0
IMPORT_SWEEP_JOB_ID = "vos-import-sweep"
IMPORT_SWEEP_INTERVAL_HOURS = 10 / 60
JOB_STOP_GRACE_S = 5.0
"""How long a stopping bot lets a background job in flight finish before it cancels it (each is a few
statements; one cut short runs again at the next start)."""
_DOWNLOAD_PREFIXES = ("vos-tg-", "vos-dc-")  # the adapters' per-update download folders


@dataclass(frozen=True, slots=True, kw_only=True)
class HousekeepingResult:
    """What one housekeeping pass removed."""

    flows_expired: int
    outbox_files: int
    download_folders: int


async def housekeeping(app: App, *, now: datetime | None = None) -> HousekeepingResult:
    """Expire abandoned dialogs (and release their uploads and audio), delete undelivered outbox files past
    their TTL and download folders a killed process left. Every process may run it: each step is atomic
    (a flow is ended by the statement that reads it) or idempotent (deleting files)."""
    at = now or datetime.now(UTC)
    flows = await app.engine.expire_flows(at - timedelta(hours=app.settings.limits.flow_expiry_hours))
    outbox = await app.outbox.sweep(now=at.timestamp())
    downloads = await asyncio.to_thread(
        _sweep_folders, app.settings.data_dir / "downloads", at.timestamp() - 3600.0
    )
    return HousekeepingResult(flows_expired=flows, outbox_files=outbox, download_folders=downloads)


def _sweep_folders(base: Path, cutoff: float) -> int:
    """Remove download folders untouched since ``cutoff`` (an update is handled in minutes, not hours)."""
    removed = 0
    try:
        entries = list(os.scandir(base))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not entry.name.startswith(_DOWNLOAD_PREFIXES) or not entry.is_dir(follow_symlinks=False):
            continue
        if entry.stat(follow_symlinks=False).st_mtime <= cutoff:
            shutil.rmtree(entry.path, ignore_errors=True)
            removed += 1
    return removed


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
    jobs = (
        (RETENTION_JOB_ID, run_retention, interval_hours),
        (BLOB_GC_JOB_ID, run_blob_gc, interval_hours),
        (HOUSEKEEPING_JOB_ID, housekeeping, min(interval_hours, HOUSEKEEPING_INTERVAL_HOURS)),
        (IMPORT_SWEEP_JOB_ID, sweep_abandoned_imports, IMPORT_SWEEP_INTERVAL_HOURS),
    )
    for job_id, job, hours in jobs:
        scheduler.add_job(
            _stops_quietly(job, tasks),
            "interval",
            args=[app],
            hours=hours,
            id=job_id,
            replace_existing=True,
            next_run_time=datetime.now(UTC),  # also once at start-up
            coalesce=True,
            max_instances=1,
            misfire_grace_time=3600,
        )
    return scheduler


async def recover_local_jobs(app: App) -> int:
    """With the local runner: take over the jobs a killed process left (``vos run``, or ``vos meeting import``
    itself, calls this at start), then fail the meetings no job will finish.

    A job another live process is running holds its claim (``core.jobs.claims``) and is left to it, so any
    number of processes may call this at once. A recovered ``meeting_import`` processes its meeting again;
    one that already had its last attempt interrupted is failed, and so is its meeting. With the Redis queue
    the workers own recovery (leases): nothing to do here. Returns how many jobs were resumed.
    """
    from core.jobs.local import LocalJobQueue
    from core.meetings.jobs import MEETING_IMPORT

    if not isinstance(app.jobs, LocalJobQueue):
        return 0
    jobs = await app.jobs.recover()
    for job in jobs:
        log.warning("job %s (%s) was interrupted: resuming it", job.id, job.kind)
    live = {
        str(job.payload.get("meeting_id"))
        for job in await app.job_repo.unfinished()
        if job.kind == MEETING_IMPORT
    }
    for meeting in await app.meetings.recover_interrupted(keep=live):
        log.warning("meeting %s was interrupted by a restart", meeting.id)
    return len(jobs)


@asynccontextmanager
async def background_jobs(app: App) -> AsyncIterator[AsyncIOScheduler]:
    """Recover interrupted work (:func:`recover_local_jobs`), then run the scheduler until the block exits."""
    await recover_local_jobs(app)
    running: set[asyncio.Task[object]] = set()
    scheduler = build_scheduler(app, running=running)
    scheduler.start()
    try:
        yield scheduler
    finally:
        scheduler.pause()  # no job starts from now; one submitted just now begins (and joins ``running``)
        await asyncio.sleep(0)
        await _finish(running)  # before the shutdown, which would cancel the jobs in flight at once
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # APScheduler runs its shutdown on the loop's next turn


async def _finish(running: set[asyncio.Task[object]]) -> None:
    """Let the jobs in flight end (``JOB_STOP_GRACE_S``), then cancel the rest and wait for them: all before
    the database closes. A job cancelled mid-statement leaves its session's close to a shielded task of
    SQLAlchemy's that outlives it (a stop at once once left ``asyncio.run`` waiting on a task forever)."""
    if not running:
        return
    _done, late = await asyncio.wait(set(running), timeout=JOB_STOP_GRACE_S)
    for task in late:
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
