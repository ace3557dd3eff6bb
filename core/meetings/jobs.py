"""The ``meeting_import`` job: process a stored, queued meeting (decode, separate, transcribe, summarize,
index) in whichever runner the job queue uses.

The payload carries references only: the meeting id, its scope, the options and the summary language.
A meeting that fails fails its job too (``stage: reason`` as the job's error), so the job shows ``failed``
and ``vos admin jobs retry`` runs it again. It is idempotent by meeting id: the job id derives from it
(``idempotency_key=meeting.id``) and a meeting already ``done`` is not processed again, so a redelivered job
after a worker died costs nothing twice; a meeting left ``processing``/``failed`` by an interrupted attempt is
processed again from its stored audio (the transcript is replaced, not appended:
``MeetingRepository.store_transcript``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.domain.identity import Locale
from core.domain.meetings import Meeting, MeetingScope, MeetingStatus
from core.jobs.ports import JobCancelled, JobFailed
from core.jobs.registry import JobContext, JobRegistry
from core.meetings.service import MeetingService

MEETING_IMPORT = "meeting_import"


def import_payload(
    meeting: Meeting,
    *,
    locale: Locale,
    language: str | None = None,
    speakers: int | None = None,
    live: bool = False,
) -> dict[str, Any]:
    """The job payload for processing a meeting created by :meth:`MeetingService.create_import`.

    ``live``: a meeting VOS captured itself (up to the meeting cap, not the upload limits).
    """
    return {
        "live": live,
        "meeting_id": meeting.id,
        "user_id": meeting.scope.user_id,
        "guild_id": meeting.scope.guild_id,
        "language": language,
        "speakers": speakers,
        "locale": locale.value,
    }


def _scope(payload: Mapping[str, Any]) -> MeetingScope:
    guild = payload.get("guild_id")
    return MeetingScope.of_guild(str(guild)) if guild else MeetingScope.of_user(str(payload["user_id"]))


def register_meeting_jobs(registry: JobRegistry, service: MeetingService) -> None:
    """Register ``meeting_import`` (its handler runs ``service.process``)."""

    async def meeting_import(ctx: JobContext, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        scope = _scope(payload)
        meeting = await service.get(scope, str(payload["meeting_id"]))
        if meeting is None:
            raise LookupError(f"meeting {payload['meeting_id']} does not exist (deleted?)")
        if meeting.status is not MeetingStatus.DONE:
            options = service.options(
                payload.get("language"), payload.get("speakers"), live=bool(payload.get("live"))
            )
            try:
                meeting = await service.process(
                    meeting, options, locale=Locale(payload.get("locale") or "en"), progress=ctx.progress
                )
            except JobCancelled:
                await service.repo.fail(meeting.id, "cancelled")
                raise
        if (
            meeting.status is MeetingStatus.FAILED
        ):  # the job fails with it, so `vos admin jobs retry` can retry
            raise JobFailed(meeting.error or "failed")
        return {"meeting_id": meeting.id, "status": meeting.status.value, "error": meeting.error}

    registry.register(MEETING_IMPORT, meeting_import)
