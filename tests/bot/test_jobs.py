"""The scheduler: the retention and blob collection jobs run at start-up and daily; interrupted meetings
reported."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.jobs import BLOB_GC_JOB_ID, RETENTION_JOB_ID, background_jobs, run_blob_gc, run_retention
from bot.wiring import App
from core.domain.meetings import MeetingScope, MeetingSource, MeetingStatus
from core.meetings.service import INTERRUPTED
from core.storage.ids import utcnow
from tests.support.s3 import age_blob


async def test_background_jobs_register_retention_and_report_interrupted_meetings(vos_app: App) -> None:
    scope = MeetingScope.of_guild("7")
    stuck = await vos_app.meetings.repo.create(
        scope, title="stuck", source=MeetingSource.MIXED, audio_blob=None
    )
    await vos_app.meetings.repo.set_progress(stuck.id, 0.2, "transcribe")
    async with background_jobs(vos_app) as scheduler:
        for job_id in (RETENTION_JOB_ID, BLOB_GC_JOB_ID):
            job = scheduler.get_job(job_id)
            assert job is not None
            assert job.trigger.interval.total_seconds() == 24 * 3600
            assert job.next_run_time is not None
    meeting = await vos_app.meetings.get(scope, stuck.id)
    assert meeting is not None
    assert (meeting.status, meeting.error) == (MeetingStatus.FAILED, INTERRUPTED)
    assert await run_retention(vos_app) == []


async def test_the_blob_job_deletes_old_orphans_only(vos_app: App) -> None:
    orphan = await vos_app.blobs.put_bytes(b"a cancelled upload")
    young = await vos_app.blobs.put_bytes(b"an upload in progress")
    age_blob(vos_app.blobs, orphan, utcnow() - timedelta(hours=25))  # past the default 24 h grace
    result = await run_blob_gc(vos_app, dry_run=True)
    assert result is not None and (result.deleted, result.kept_young) == (1, 1)
    assert await vos_app.blobs.exists(orphan)
    result = await run_blob_gc(vos_app)
    assert result is not None and result.deleted == 1
    assert not await vos_app.blobs.exists(orphan)
    assert await vos_app.blobs.exists(young)


async def test_a_stop_lets_a_job_in_flight_finish_and_cancels_one_that_hangs(
    vos_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot import jobs

    began, finished = asyncio.Event(), []

    async def brief(app: App) -> None:  # a few statements, as the real jobs are
        began.set()
        for _ in range(5):
            await app.db.run(lambda conn: conn.execute(text("SELECT 1")).scalar())
            await asyncio.sleep(0.05)
        finished.append("brief")

    async def stuck(app: App) -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(jobs, "housekeeping", brief)
    monkeypatch.setattr(jobs, "run_blob_gc", stuck)
    monkeypatch.setattr(jobs, "JOB_STOP_GRACE_S", 1.0)

    async def run_then_fail() -> None:
        async with background_jobs(vos_app):
            await asyncio.wait_for(began.wait(), 10)
            raise KeyError("an adapter failed to start")

    started = time.monotonic()
    with pytest.raises(KeyError):
        await run_then_fail()
    assert finished == ["brief"]  # not cut short mid-statement
    assert time.monotonic() - started < 8  # the stuck one was cancelled after the grace
    assert await vos_app.db.run(lambda conn: conn.execute(text("SELECT 2")).scalar()) == 2
