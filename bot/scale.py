"""Running past one machine: the blob store, the scheduled-job lock and the operator service, from settings.

Kept beside ``bot/wiring.py`` (the composition root calls these) so the choices between the local and the
distributed variants live in one short place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.settings import Settings
from core.admin import AdminService
from core.ports import BlobStore
from core.storage.admin_repository import AdminRepository
from core.storage.blobs import LocalBlobStore
from core.storage.db import Database
from core.storage.locks import JobLock, NoLock, PostgresAdvisoryLock, RedisLock


def build_blob_store(settings: Settings) -> BlobStore:
    """The local content-addressed store, or the S3-compatible bucket (``VOS_BLOBS__BACKEND=s3``)."""
    cfg = settings.blobs
    if cfg.backend == "local":
        return LocalBlobStore(settings.data_dir / "blobs")
    from core.storage.s3_blobs import S3BlobOptions, S3BlobStore

    return S3BlobStore(
        S3BlobOptions(
            bucket=cfg.bucket,
            cache_dir=cfg.cache_dir or settings.data_dir / "blob_cache",
            endpoint_url=cfg.endpoint_url,
            region=cfg.region,
            access_key=cfg.access_key.get_secret_value() if cfg.access_key else None,
            secret_key=cfg.secret_key.get_secret_value() if cfg.secret_key else None,
            prefix=cfg.prefix,
        )
    )


def build_job_lock(settings: Settings, db: Database) -> JobLock:
    """Scheduled jobs run once across replicas: Redis when the queue is on Redis, else PostgreSQL."""
    if settings.jobs.backend == "redis":
        return RedisLock(settings.jobs.redis_url)
    if not db.is_sqlite:
        return PostgresAdvisoryLock(db)
    return NoLock()


def build_admin(
    settings: Settings, db: Database, *, forget_user: Callable[[str], Awaitable[None]]
) -> AdminService:
    """The ``vos admin`` service; the queue depth comes from Redis when the queue runs there."""
    from bot.worker import redis_queue_depth as stream_depth

    depth = stream_depth(settings) if settings.jobs.backend == "redis" else None
    return AdminService(
        AdminRepository(db), forget_user=forget_user, queue_depth=depth, dispatch=redis_dispatch(settings, db)
    )


def redis_dispatch(settings: Settings, db: Database) -> Callable[[str], Awaitable[None]] | None:
    """Hands retried jobs to the Redis workers; None with the local runner."""
    if settings.jobs.backend != "redis":
        return None

    async def dispatch(job_id: str) -> None:
        from bot.worker import redis_options
        from core.jobs.redis_queue import RedisJobQueue
        from core.jobs.registry import JobRegistry
        from core.storage.job_repository import JobRepository

        queue = RedisJobQueue(JobRepository(db), JobRegistry(), redis_options(settings))
        try:
            await queue.dispatch(job_id)
        finally:
            await queue.aclose()

    return dispatch
