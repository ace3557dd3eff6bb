"""The retention job runs once across replicas: a replica that finds the lock held skips its tick."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from bot.jobs import BLOB_GC_JOB_ID, RETENTION_JOB_ID, run_blob_gc, run_retention
from bot.scale import build_job_lock
from bot.wiring import App
from core.domain.meetings import MeetingScope, MeetingSource
from core.storage.db import Database
from core.storage.ids import utcnow
from core.storage.locks import NoLock, PostgresAdvisoryLock, RedisLock
from tests.support import redis as redis_support
from tests.support.app import make_settings
from tests.support.s3 import age_blob

redis_url = redis_support.redis_url  # the fixture


async def _expired_meeting(app: App) -> tuple[str, str]:
    key = await app.blobs.put_bytes(b"RIFF old meeting audio")
    repo = app.meetings.repo
    meeting = await repo.create(
        MeetingScope.of_guild("7"),
        title="old",
        source=MeetingSource.MIXED,
        audio_blob=key,
        now=utcnow() - timedelta(days=app.settings.meetings.audio_retention_days + 5),
    )
    await repo.finish(meeting.id, {"abstract": ""})
    return meeting.id, key


@pytest.mark.redis
async def test_a_replica_skips_the_purge_while_another_holds_the_lock(vos_app: App, redis_url: str) -> None:
    prefix = f"vos-test-{uuid.uuid4().hex[:8]}:"
    vos_app.job_lock = RedisLock(redis_url, prefix=prefix)
    other_replica = RedisLock(redis_url, prefix=prefix)
    meeting_id, key = await _expired_meeting(vos_app)
    async with other_replica.hold(RETENTION_JOB_ID) as got:
        assert got
        assert await run_retention(vos_app) == []  # skipped: the other replica is running it
        assert await vos_app.blobs.exists(key)
    assert await run_retention(vos_app) == [meeting_id]  # the next tick runs here
    assert not await vos_app.blobs.exists(key)


@pytest.mark.redis
async def test_a_replica_skips_blob_collection_while_another_holds_its_lock(
    vos_app: App, redis_url: str
) -> None:
    prefix = f"vos-test-{uuid.uuid4().hex[:8]}:"
    vos_app.job_lock = RedisLock(redis_url, prefix=prefix)
    other_replica = RedisLock(redis_url, prefix=prefix)
    orphan = await vos_app.blobs.put_bytes(b"a cancelled upload")
    age_blob(vos_app.blobs, orphan, utcnow() - timedelta(days=2))
    async with other_replica.hold(BLOB_GC_JOB_ID) as got:
        assert got
        async with other_replica.hold(RETENTION_JOB_ID) as retention:
            assert retention  # each job has its own lock: the retention purge does not block collection
        assert await run_blob_gc(vos_app) is None  # skipped: the other replica is collecting
        assert await vos_app.blobs.exists(orphan)
    result = await run_blob_gc(vos_app)  # the next tick runs here
    assert result is not None and result.deleted == 1
    assert not await vos_app.blobs.exists(orphan)


def test_the_lock_follows_the_deployment(tmp_path: Path) -> None:
    sqlite = make_settings(tmp_path)
    assert isinstance(build_job_lock(sqlite, Database(sqlite.effective_database_url)), NoLock)
    pg = make_settings(tmp_path, database_url="postgresql+asyncpg://vos@db/vos")
    assert isinstance(build_job_lock(pg, Database(pg.effective_database_url)), PostgresAdvisoryLock)
    redis = make_settings(tmp_path, jobs={"backend": "redis", "redis_url": "redis://cache:6379/0"})
    lock = build_job_lock(redis, Database(redis.effective_database_url))
    assert isinstance(lock, RedisLock) and lock.url == "redis://cache:6379/0"
