"""Fixtures of the job tests: the real Redis (skipped when absent), a unique queue namespace, and one
database shared by processes (PostgreSQL when VOS_TEST_DATABASE_URL is set, SQLite in WAL mode otherwise)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.storage.db import Database
from core.storage.migrate import upgrade_sync
from tests.core.jobs.redis_support import REDIS_URL
from tests.support.db import migrated_pg_database, pg_admin_url
from tests.support.extras import need


@pytest.fixture
def redis_url() -> str:
    """The Redis server on 127.0.0.1:6379, or a clean skip."""
    redis = need("redis")
    need("taskiq_redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def namespace(redis_url: str) -> Iterator[str]:
    """A queue namespace of its own; every key under it is deleted afterwards."""
    import redis

    name = f"vostest-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(f"{name}*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def shared_db_url(tmp_path: Path) -> Iterator[str]:
    """One database for the test and its worker processes."""
    if pg_admin_url():
        with migrated_pg_database() as url:
            yield url
        return
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    upgrade_sync(url)
    yield url


@pytest.fixture
async def shared_db(shared_db_url: str) -> AsyncIterator[Database]:
    database = Database(shared_db_url)
    yield database
    await database.dispose()
