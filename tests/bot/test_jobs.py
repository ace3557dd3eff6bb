"""The scheduler: the retention job is registered to run at start-up and daily; interrupted meetings reported."""

from __future__ import annotations

from bot.jobs import RETENTION_JOB_ID, background_jobs, run_retention
from bot.wiring import App
from core.domain.meetings import MeetingScope, MeetingSource, MeetingStatus
from core.meetings.service import INTERRUPTED


async def test_background_jobs_register_retention_and_report_interrupted_meetings(vos_app: App) -> None:
    scope = MeetingScope.of_guild("7")
    stuck = await vos_app.meetings.repo.create(
        scope, title="stuck", source=MeetingSource.MIXED, audio_blob=None
    )
    await vos_app.meetings.repo.set_progress(stuck.id, 0.2, "transcribe")
    async with background_jobs(vos_app) as scheduler:
        job = scheduler.get_job(RETENTION_JOB_ID)
        assert job is not None
        assert job.trigger.interval.total_seconds() == 24 * 3600
        assert job.next_run_time is not None
    meeting = await vos_app.meetings.get(scope, stuck.id)
    assert meeting is not None
    assert (meeting.status, meeting.error) == (MeetingStatus.FAILED, INTERRUPTED)
    assert await run_retention(vos_app) == []
