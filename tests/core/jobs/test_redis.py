"""The distributed queue against the real Redis with two ``vos worker`` processes: a worker killed mid-job
leaves its job to the other, which completes it once; a cancelled job stops."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.domain.identity import Locale, Platform, UserRef
from core.jobs.ports import JobStatus, JobUpdate
from core.jobs.registry import JobRegistry
from core.storage.db import Database
from core.storage.job_repository import JobRepository
from core.storage.repositories import UserRepository
from tests.core.jobs.redis_support import Workers
from tests.core.jobs.sample_jobs import create_effects_table, effects, steps_handler

pytestmark = [pytest.mark.redis, pytest.mark.slow]
LEASE_S = 1.5


@pytest.fixture
def workers(tmp_path: Path, shared_db_url: str, redis_url: str, namespace: str) -> Iterator[Workers]:
    pool = Workers(tmp_path, shared_db_url, redis_url, namespace, LEASE_S)
    yield pool
    pool.stop()


@pytest.fixture
async def queue(shared_db: Database, redis_url: str, namespace: str) -> AsyncIterator[object]:
    from core.jobs.redis_queue import RedisJobQueue, RedisQueueOptions

    await create_effects_table(shared_db)
    registry = JobRegistry()
    registry.register("steps", steps_handler(shared_db))
    options = RedisQueueOptions(url=redis_url, namespace=namespace, lease_s=LEASE_S, block_ms=500)
    client = RedisJobQueue(JobRepository(shared_db), registry, options)
    yield client
    await client.aclose()


async def owner(db: Database) -> str:
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="ann"), display_name="ann", locale=Locale.EN
    )
    return user.id


async def collect(queue: object, job_id: str) -> list[JobUpdate]:
    return [u async for u in queue.watch(job_id)]  # type: ignore[attr-defined]


async def wait_for_effects(db: Database, job_id: str, count: int, workers: Workers) -> list[tuple[int, int]]:
    for _ in range(600):
        rows = await effects(db, job_id)
        if len(rows) >= count:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"no progress on {job_id}:\n{workers.logs()[-3000:]}")


async def test_a_killed_workers_job_completes_once_on_the_other(
    queue: object, shared_db: Database, workers: Workers
) -> None:
    procs = workers.start(2)
    user = await owner(shared_db)
    job_id = await queue.submit("steps", {"steps": 8, "delay": 0.4}, owner_id=user)  # type: ignore[attr-defined]
    watcher = asyncio.ensure_future(collect(queue, job_id))
    first = await wait_for_effects(shared_db, job_id, 2, workers)
    victim = next(p for p in procs if p.pid == first[0][1])
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    updates = await asyncio.wait_for(watcher, 90)
    finals = [u for u in updates if u.final]
    assert len(finals) == 1 and updates[-1] is finals[0], workers.logs()[-3000:]
    assert finals[0].status is JobStatus.DONE, finals[0]
    assert finals[0].result is not None and finals[0].result["steps"] == 8
    assert finals[0].result["pid"] != victim.pid
    job = await JobRepository(shared_db).get(job_id)
    assert job is not None and job.status is JobStatus.DONE and job.attempts == 2
    rows = await effects(shared_db, job_id)
    assert [step for step, _ in rows] == list(range(8))  # every effect exactly once
    assert {pid for _, pid in rows} == {victim.pid, finals[0].result["pid"]}


async def test_a_cancelled_job_stops_and_a_finished_one_is_not_run_again(
    queue: object, shared_db: Database, workers: Workers
) -> None:
    workers.start(1)
    user = await owner(shared_db)
    job_id = await queue.submit("steps", {"steps": 100, "delay": 0.1}, owner_id=user)  # type: ignore[attr-defined]
    watcher = asyncio.ensure_future(collect(queue, job_id))
    await wait_for_effects(shared_db, job_id, 3, workers)
    assert await queue.cancel(job_id, user)  # type: ignore[attr-defined]
    updates = await asyncio.wait_for(watcher, 30)
    assert updates[-1].status is JobStatus.CANCELLED and sum(u.final for u in updates) == 1
    stopped = len(await effects(shared_db, job_id))
    assert stopped < 20
    await asyncio.sleep(0.5)
    assert len(await effects(shared_db, job_id)) == stopped

    echo = await queue.submit("steps", {"steps": 2, "delay": 0}, owner_id=user, idempotency_key="e")  # type: ignore[attr-defined]
    assert (await asyncio.wait_for(collect(queue, echo), 30))[-1].status is JobStatus.DONE
    again = await queue.submit("steps", {"steps": 2}, owner_id=user, idempotency_key="e")  # type: ignore[attr-defined]
    assert again == echo
    assert [u.status for u in await collect(queue, echo)] == [JobStatus.DONE]
    job = await JobRepository(shared_db).get(echo)
    assert job is not None and job.attempts == 1
