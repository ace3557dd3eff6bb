"""The scheduler: the retention and blob collection jobs run at start-up and daily; interrupted meetings
reported."""

from __future__ import annotations

from datetime import timedelta

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
