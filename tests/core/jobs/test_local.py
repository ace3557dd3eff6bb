"""The local runner: progress then one final update, idempotency, failures, cancellation, restart policy."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from core.domain.identity import Locale, Platform, UserRef
from core.jobs.local import INTERRUPTED, LocalJobQueue
from core.jobs.ports import JobNotFound, JobQueue, JobStatus, JobUpdate, UnknownJobKind
from core.jobs.registry import JobRegistry, echo_job
from core.storage.db import Database
from core.storage.job_repository import JobRepository
from core.storage.repositories import UserRepository
from tests.core.jobs.sample_jobs import create_effects_table, effects, steps_handler


@pytest.fixture
async def jdb(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await create_effects_table(database)
    yield database
    await database.dispose()


async def owner(db: Database, name: str = "ann") -> str:
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id=name), display_name=name, locale=Locale.EN
    )
    return user.id


def make_queue(db: Database, **kwargs: int) -> LocalJobQueue:
    registry = JobRegistry()
    registry.register("steps", steps_handler(db))
    registry.register("echo", echo_job)
    return LocalJobQueue(JobRepository(db), registry, **kwargs)


async def collect(queue: JobQueue, job_id: str) -> list[JobUpdate]:
    return [u async for u in queue.watch(job_id)]


async def test_progress_then_one_final_update_with_the_result(jdb: Database) -> None:
    queue = make_queue(jdb)
    user = await owner(jdb)
    job_id = await queue.submit("steps", {"steps": 3, "delay": 0.01}, owner_id=user, chat_id="c1")
    updates = await collect(queue, job_id)
    assert [u.text for u in updates[:-1]] == ["step 0", "step 1", "step 2"]
    assert [u.final for u in updates] == [False, False, False, True]
    assert updates[-1].status is JobStatus.DONE and updates[-1].result is not None
    assert updates[-1].result["steps"] == 3
    job = await queue.get(job_id)
    assert job is not None and job.status is JobStatus.DONE and job.attempts == 1 and job.chat_id == "c1"
    assert [s for s, _ in await effects(jdb, job_id)] == [0, 1, 2]
    # watching a finished job yields its final state at once
    assert [u.status for u in await collect(queue, job_id)] == [JobStatus.DONE]
    await queue.aclose()


async def test_an_idempotency_key_runs_the_job_once(jdb: Database) -> None:
    queue = make_queue(jdb)
    user = await owner(jdb)
    first = await queue.submit("echo", {"n": 1}, owner_id=user, idempotency_key="m-1")
    again = await queue.submit("echo", {"n": 1}, owner_id=user, idempotency_key="m-1")
    other = await queue.submit("echo", {"n": 1}, owner_id=await owner(jdb, "bob"), idempotency_key="m-1")
    assert first == again != other
    await queue.join()
    job = await queue.get(first)
    assert job is not None and job.attempts == 1 and job.result == {"n": 1}
    with pytest.raises(UnknownJobKind):
        await queue.submit("nope", {}, owner_id=user)
    with pytest.raises(JobNotFound):
        await collect(queue, "0" * 32)
    await queue.aclose()


async def test_a_failing_handler_fails_the_job_and_a_resubmission_runs_it_again(jdb: Database) -> None:
    queue = make_queue(jdb)
    user = await owner(jdb)
    job_id = await queue.submit("steps", {"steps": 3, "fail_at": 1}, owner_id=user, idempotency_key="k")
    final = (await collect(queue, job_id))[-1]
    assert final.status is JobStatus.FAILED and final.error == "ValueError: broken at step 1"
    assert await queue.submit("steps", {"steps": 3}, owner_id=user, idempotency_key="k") == job_id
    final = (await collect(queue, job_id))[-1]
    assert final.status is JobStatus.FAILED  # same stored payload: fails again, but it did run again
    job = await queue.get(job_id)
    assert job is not None and job.attempts == 1
    await queue.aclose()


async def test_cancel_stops_a_running_job_and_only_its_owner_may(jdb: Database) -> None:
    queue = make_queue(jdb)
    user = await owner(jdb)
    job_id = await queue.submit("steps", {"steps": 200, "delay": 0.02}, owner_id=user)
    updates: list[JobUpdate] = []
    async for update in queue.watch(job_id):
        updates.append(update)
        if update.text == "step 2" and not update.final:
            assert not await queue.cancel(job_id, await owner(jdb, "mallory"))
            assert await queue.cancel(job_id, user)
    assert updates[-1].status is JobStatus.CANCELLED
    done = len(await effects(jdb, job_id))
    assert 3 <= done < 10
    await asyncio.sleep(0.1)
    assert len(await effects(jdb, job_id)) == done  # it stopped
    assert not await queue.cancel(job_id, user)  # already final
    await queue.aclose()


async def test_cancel_a_queued_job(jdb: Database) -> None:
    queue = make_queue(jdb, concurrency=1)
    user = await owner(jdb)
    busy = await queue.submit("steps", {"steps": 5, "delay": 0.02}, owner_id=user)
    waiting = await queue.submit("steps", {"steps": 5}, owner_id=user)
    assert await queue.cancel(waiting, user)
    assert [u.status for u in await collect(queue, waiting)] == [JobStatus.CANCELLED]
    assert (await collect(queue, busy))[-1].status is JobStatus.DONE
    await queue.join()
    assert await effects(jdb, waiting) == []
    await queue.aclose()


async def _until_step_one(queue: JobQueue, job_id: str) -> None:
    """Watch ``job_id`` until its first step is done (its attempt is under way), a minute at most."""
    async with asyncio.timeout(60):
        async for update in queue.watch(job_id):
            if update.text == "step 1":
                return
    raise AssertionError(f"job {job_id} ended before its first step")


async def test_restart_requeues_unfinished_jobs_once(jdb: Database) -> None:
    """A process dies with jobs queued and running; the next one resumes them once, then gives up."""
    user = await owner(jdb)
    crashed = make_queue(jdb, concurrency=1)
    running = await crashed.submit("steps", {"steps": 4, "delay": 0.05}, owner_id=user)
    queued = await crashed.submit("steps", {"steps": 2}, owner_id=user)
    await _until_step_one(crashed, running)
    await crashed.aclose()  # the process stops mid-job (rows stay running / queued)
    repo = JobRepository(jdb)
    assert {(j.id, j.status) for j in await repo.unfinished()} == {
        (running, JobStatus.RUNNING),
        (queued, JobStatus.QUEUED),
    }

    restarted = make_queue(jdb)
    assert {j.id for j in await restarted.recover()} == {running, queued}
    async with asyncio.timeout(60):
        await restarted.join()
    resumed = await repo.get(running)
    assert resumed is not None and resumed.status is JobStatus.DONE and resumed.attempts == 2
    assert [s for s, _ in await effects(jdb, running)] == [0, 1, 2, 3]  # no step twice
    assert (await repo.get(queued)).status is JobStatus.DONE  # type: ignore[union-attr]

    # interrupted during its first attempt and again during its second: reported failed at the next start,
    # not run a third time
    twice = await restarted.submit("steps", {"steps": 50, "delay": 0.05}, owner_id=user)
    await _until_step_one(restarted, twice)
    await restarted.aclose()
    second = make_queue(jdb)
    assert [j.id for j in await second.recover()] == [twice]
    await _until_step_one(second, twice)
    await second.aclose()
    third = make_queue(jdb)
    await third.recover()
    async with asyncio.timeout(60):
        await third.join()
    failed = await repo.get(twice)
    assert failed is not None and failed.status is JobStatus.FAILED and failed.error == INTERRUPTED
    await third.aclose()
