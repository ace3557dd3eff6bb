"""Operator service behind ``vos admin``: totals, the jobs table (list, retry, cancel), one user's holdings.

Deleting a user goes through the very path ``/forget_me`` takes (``Commands.forget_user``: caches, other
rooms' hooks, then :class:`core.privacy.rights.DataRightsService`), injected here as a callable so the two can
never drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from core.storage.admin_repository import (
    CANCELLABLE,
    CANCELLED,
    JOB_STATUSES,
    QUEUED,
    RETRYABLE,
    AdminRepository,
    JobSummary,
    UserHoldings,
)

log = logging.getLogger(__name__)
QueueDepth = Callable[[], Awaitable[int]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Stats:
    """Totals across every owner."""

    users: int
    stars: int
    stars_by_status: dict[str, int]
    meetings: int
    meetings_by_status: dict[str, int]
    jobs_by_status: dict[str, int]
    queue_depth: int


@dataclass(frozen=True, slots=True, kw_only=True)
class JobChange:
    """The outcome of a retry or cancel: ``changed`` False says why in ``reason``."""

    job_id: str
    action: str
    changed: bool
    status: str | None  # the status now (None: no such job)
    reason: str = ""


class AdminService:
    """What an operator may see and do across owners."""

    def __init__(
        self,
        repo: AdminRepository,
        *,
        forget_user: Callable[[str], Awaitable[None]],
        queue_depth: QueueDepth | None = None,
        dispatch: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._dispatch = dispatch
        self.repo = repo
        self._forget_user = forget_user
        self._queue_depth = queue_depth

    async def stats(self) -> Stats:
        """Users, stars, meetings, jobs by status, and the distributed queue's depth (0 without Redis)."""
        users, stars, meetings, jobs = await self.repo.totals()
        depth = await self._queue_depth() if self._queue_depth is not None else 0
        return Stats(
            users=users,
            stars=sum(stars.values()),
            stars_by_status=stars,
            meetings=sum(meetings.values()),
            meetings_by_status=meetings,
            jobs_by_status={status: jobs.get(status, 0) for status in JOB_STATUSES}
            | {k: v for k, v in jobs.items() if k not in JOB_STATUSES},
            queue_depth=depth,
        )

    async def jobs(self, *, status: str | None = None, limit: int = 50) -> list[JobSummary]:
        """Jobs, newest first; ``status`` must be one of the job statuses."""
        if status is not None and status not in JOB_STATUSES:
            raise ValueError(f"status must be one of {', '.join(JOB_STATUSES)}")
        return await self.repo.jobs(status=status, limit=limit)

    async def _change(self, job_id: str, action: str, new: str, allowed: tuple[str, ...]) -> JobChange:
        if await self.repo.set_job_status(job_id, new=new, allowed_from=allowed):
            log.info("admin %s: job=%s -> %s", action, job_id, new)
            return JobChange(job_id=job_id, action=action, changed=True, status=new)
        job = await self.repo.job(job_id)
        if job is None:
            return JobChange(job_id=job_id, action=action, changed=False, status=None, reason="no such job")
        reason = f"a {job.status} job cannot be {'retried' if action == 'retry' else 'cancelled'}"
        return JobChange(job_id=job_id, action=action, changed=False, status=job.status, reason=reason)

    async def retry_job(self, job_id: str) -> JobChange:
        """Queue a failed or cancelled job again and hand it to the distributed queue when there is one.

        With the local runner a queued job runs when the bot next starts (it resumes queued jobs then).
        """
        change = await self._change(job_id, "retry", QUEUED, RETRYABLE)
        if not change.changed:
            return change
        if self._dispatch is None:
            return replace(change, reason="queued: the bot's local runner starts it at its next start")
        await self._dispatch(job_id)
        return change

    async def cancel_job(self, job_id: str) -> JobChange:
        """Cancel a queued or running job (a running one stops at its next progress report)."""
        return await self._change(job_id, "cancel", CANCELLED, CANCELLABLE)

    async def user(self, ref: str) -> UserHoldings | None:
        """What a user has, by id or ``platform:platform_user_id``."""
        user_id = await self.repo.find_user(ref)
        return await self.repo.holdings(user_id) if user_id else None

    async def delete_user(self, ref: str) -> UserHoldings | None:
        """Delete a user and everything derived (the ``/forget_me`` path); returns what they had."""
        holdings = await self.user(ref)
        if holdings is None:
            return None
        await self._forget_user(holdings.user_id)
        log.info(
            "admin deleted user=%s (%d stars, %d blobs)",
            holdings.user_id,
            len(holdings.stars),
            holdings.blobs,
        )
        return holdings


def redis_queue_depth(url: str, key: str, *, timeout_s: float = 5.0) -> QueueDepth:
    """How many messages wait in a Redis queue key: a list (LLEN), a stream (XLEN) or a sorted set."""

    async def depth() -> int:
        from redis.asyncio import Redis

        client = Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        try:
            kind = await client.type(key)
            kind = kind.decode() if isinstance(kind, bytes) else str(kind)
            if kind == "list":
                return int(await client.llen(key))
            if kind == "stream":
                return int(await client.xlen(key))
            if kind == "zset":
                return int(await client.zcard(key))
            return 0
        finally:
            await client.aclose()

    return depth
