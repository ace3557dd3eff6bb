"""The Redis server the tests may use (``VOS_TEST_REDIS_URL``, default 127.0.0.1:6379); skipped when absent."""

from __future__ import annotations

import os

import pytest

from tests.support.extras import need

REDIS_ENV = "VOS_TEST_REDIS_URL"


@pytest.fixture
async def redis_url() -> str:
    """A reachable Redis URL, or the test is skipped."""
    need("redis")
    from redis.asyncio import Redis
    from redis.exceptions import RedisError

    url = os.environ.get(REDIS_ENV) or "redis://127.0.0.1:6379/0"
    client = Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)
    try:
        await client.ping()
    except (RedisError, OSError):
        pytest.skip(f"no Redis at {url} (set {REDIS_ENV})")
    finally:
        await client.aclose()
    return url
