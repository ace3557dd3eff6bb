"""Scheduled-job locks: of two concurrent runners exactly one runs, on real Redis and real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest

from core.storage.db import Database
from core.storage.locks import JobLock, NoLock, PostgresAdvisoryLock, RedisLock, advisory_key, run_exclusive


async def _two_runners(first: JobLock, second: JobLock) -> None:
    name = f"test-job-{uuid.uuid4().hex[:8]}"
    runs: list[str] = []

    async def job(tag: str) -> str:
        runs.append(tag)
        await asyncio.sleep(0.3)  # long enough for the other runner to try while this one holds the lock
        return tag

    # Started together: exactly one of them runs the job, the other skips.
    results = await asyncio.gather(
        run_exclusive(first, name, lambda: job("a")), run_exclusive(second, name, lambda: job("b"))
    )
    assert sorted(r for r in results if r is not None) == runs and len(runs) == 1

    # Held by one while the other tries; released afterwards, so the next tick runs again.
    entered, release = asyncio.Event(), asyncio.Event()

    async def holder() -> str:
        entered.set()
        await release.wait()
        return "held"

    async with asyncio.TaskGroup() as tg:
        held = tg.create_task(run_exclusive(first, name, holder))
        await entered.wait()
        assert await run_exclusive(second, name, lambda: job("blocked")) is None
        release.set()
    assert held.result() == "held"
    assert await run_exclusive(second, name, lambda: job("after")) == "after"
    assert "blocked" not in runs


@pytest.mark.redis
async def test_redis_lock_runs_one_of_two_runners(redis_url: str) -> None:
    await _two_runners(RedisLock(redis_url), RedisLock(redis_url))


@pytest.mark.redis
async def test_redis_lock_expires_when_its_holder_dies_and_is_only_released_by_it(redis_url: str) -> None:
    name = f"test-ttl-{uuid.uuid4().hex[:8]}"
    slow, other, third = RedisLock(redis_url, ttl_s=0.2), RedisLock(redis_url), RedisLock(redis_url)
    async with AsyncExitStack() as stack:
        slow_cm = slow.hold(name)
        assert await slow_cm.__aenter__()
        await asyncio.sleep(0.35)  # its lease ran out, as if its process had died
        assert await stack.enter_async_context(other.hold(name))  # so another replica takes over
        await slow_cm.__aexit__(None, None, None)  # the late holder leaves: it must not free other's lock
        async with third.hold(name) as got:
            assert not got
    async with third.hold(name) as got:
        assert got


@pytest.fixture
async def two_databases(pg_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Two engines (two replicas) on the same PostgreSQL database."""
    a, b = Database(pg_url), Database(pg_url)
    yield a, b
    await a.dispose()
    await b.dispose()


@pytest.mark.postgres
async def test_postgres_advisory_lock_runs_one_of_two_runners(
    two_databases: tuple[Database, Database],
) -> None:
    a, b = two_databases
    await _two_runners(PostgresAdvisoryLock(a), PostgresAdvisoryLock(b))


async def test_no_lock_always_runs_and_keys_are_stable() -> None:
    assert await run_exclusive(NoLock(), "x", lambda: asyncio.sleep(0, result=7)) == 7
    assert advisory_key("meeting-audio-retention") == advisory_key("meeting-audio-retention")
    assert advisory_key("a") != advisory_key("b")
    assert -(2**63) <= advisory_key("a") < 2**63
