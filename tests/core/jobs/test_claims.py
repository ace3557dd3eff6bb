"""Job claims: a process recovering jobs at start never takes one a live process is running (SQLite: a file
lock beside the database; PostgreSQL: an advisory lock), and one who watches a job another process runs
still sees it end."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.worker import job_claims
from core.jobs.claims import FileJobClaims, PostgresJobClaims
from core.jobs.local import LocalJobQueue
from core.jobs.ports import JobStatus
from core.jobs.registry import JobRegistry, echo_job
from core.storage.db import Database
from core.storage.job_repository import JobRepository
from tests.core.jobs.sample_jobs import create_effects_table, effects, steps_handler
from tests.core.jobs.test_local import owner


@pytest.fixture
async def jdb(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    await create_effects_table(database)
    yield database
    await database.dispose()


def _queue(db: Database) -> LocalJobQueue:
    registry = JobRegistry()
    registry.register("steps", steps_handler(db))
    registry.register("echo", echo_job)
    return LocalJobQueue(JobRepository(db), registry, claims=job_claims(db))


async def test_a_live_processs_job_is_not_recovered_by_another(jdb: Database) -> None:
    claims = job_claims(jdb)
    assert isinstance(claims, FileJobClaims | PostgresJobClaims)
    user = await owner(jdb)
    live = _queue(jdb)
    job_id = await live.submit("steps", {"steps": 6, "delay": 0.1}, owner_id=user)
    async for update in live.watch(job_id):
        if update.text == "step 1":
            break
    other = _queue(jdb)  # a second process starting now (its own claims object, the same lock)
    assert await other.recover() == []
    watched = [u async for u in other.watch(job_id)]  # follows what the live one stores
    await live.join()
    job = await JobRepository(jdb).get(job_id)
    assert job is not None and job.status is JobStatus.DONE and job.attempts == 1
    assert [s for s, _ in await effects(jdb, job_id)] == list(range(6))  # ran once, by the live process
    assert watched == [] or watched[-1].final
    await live.aclose()
    await other.aclose()


async def test_claims_are_exclusive_and_released(tmp_path: Path) -> None:
    claims = FileJobClaims(tmp_path / "claims")
    other = FileJobClaims(tmp_path / "claims")
    async with claims.hold("abc123") as first, other.hold("abc123") as second:
        assert first and not second
    async with claims.hold("abc123") as again:
        assert again
    assert list((tmp_path / "claims").iterdir()) == []
    with pytest.raises(ValueError):
        async with claims.hold("../x"):
            pass
