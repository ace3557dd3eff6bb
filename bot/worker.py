"""The job queue chosen by settings, and ``vos worker``: a process that builds the engines once and serves
the distributed queue (``VOS_JOBS__BACKEND=redis``)."""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from bot.settings import Settings
from core.jobs.claims import FileJobClaims, JobClaims, PostgresJobClaims, ProcessJobClaims
from core.jobs.local import LocalJobQueue
from core.jobs.ports import JobQueue
from core.jobs.registry import JobRegistry
from core.storage.db import Database
from core.storage.job_repository import JobRepository

if TYPE_CHECKING:
    from core.jobs.redis_queue import RedisQueueOptions

log = logging.getLogger(__name__)


def redis_options(settings: Settings) -> RedisQueueOptions:
    """The Redis queue's options from settings (needs the 'redis' extra)."""
    from core.jobs.redis_queue import RedisQueueOptions

    jobs = settings.jobs
    return RedisQueueOptions(
        url=jobs.redis_url, namespace=jobs.queue, lease_s=jobs.lease_s, max_attempts=jobs.max_attempts
    )


def redis_queue_depth(settings: Settings) -> Callable[[], Awaitable[int]]:
    """``vos admin stats``'s queue depth: messages of the job stream not yet delivered or acknowledged."""

    async def depth() -> int:
        from redis.asyncio import Redis

        from core.jobs.redis_queue import stream_depth

        options = redis_options(settings)
        redis = Redis.from_url(options.url, socket_connect_timeout=5)
        try:
            return await asyncio.wait_for(stream_depth(redis, options), 5)
        finally:
            await redis.aclose()

    return depth


def build_job_queue(settings: Settings, repo: JobRepository, registry: JobRegistry) -> JobQueue:
    """The local runner (default) or the Redis client (``VOS_JOBS__BACKEND=redis``)."""
    if settings.jobs.backend == "redis":
        try:
            from core.jobs.redis_queue import RedisJobQueue
        except ImportError as exc:
            from core.ports import EngineUnavailable

            raise EngineUnavailable(f"the Redis job queue needs {exc.name}", extra="redis") from None
        return RedisJobQueue(repo, registry, redis_options(settings))
    return LocalJobQueue(repo, registry, concurrency=settings.jobs.workers, claims=job_claims(repo.db))


def job_claims(db: Database) -> JobClaims:
    """How local runners in several processes tell a live job from an abandoned one (``core.jobs.claims``)."""
    if not db.is_sqlite:
        return PostgresJobClaims(db)
    database = make_url(db.url).database
    if not database or database == ":memory:" or "mode=memory" in database:
        return ProcessJobClaims()
    path = Path(database)
    return FileJobClaims(path.with_name(path.name + ".jobs"))


def load_job_modules(registry: JobRegistry, app: object, modules: Sequence[str]) -> None:
    """Import extra modules that register job kinds: each has ``register_jobs(registry, app)``."""
    for name in modules:
        module = importlib.import_module(name)
        module.register_jobs(registry, app)
        log.info("job kinds from %s registered", name)


async def run_worker(settings: Settings, modules: Sequence[str] = ()) -> None:
    """Build the app once (engines load lazily, once per process) and serve the Redis queue until stopped."""
    from bot.wiring import running_app
    from core.jobs.redis_worker import RedisJobWorker

    async with running_app(settings) as app:
        load_job_modules(app.job_registry, app, modules)
        worker = RedisJobWorker(
            app.job_repo, app.job_registry, redis_options(settings), concurrency=settings.jobs.workers
        )
        log.info("job kinds: %s", ", ".join(app.job_registry.kinds()))
        try:
            await worker.serve()
        finally:
            await worker.aclose()
