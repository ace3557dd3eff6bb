"""Job kinds and how one attempt of a job runs: the registry, the handler's context, and ``run_attempt``.

A handler is ``async def handler(ctx: JobContext, payload) -> dict``: it reports progress with
``await ctx.progress(fraction, text)`` (also usable as a ``ProgressCallback``), which is where a cancelled
job stops (cooperative cancel, checked at most every ``min_interval_s`` and at every text change), and
returns result *references* (ids, blob keys). Effects must be idempotent, keyed by ids from the payload or
by ``ctx.job_id``: after a worker dies, its job runs again from the start elsewhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from core.jobs.ports import Job, JobCancelled, JobFailed, JobStatus, JobUpdate, UnknownJobKind
from core.storage.job_repository import JobRepository

log = logging.getLogger(__name__)

Publish = Callable[[JobUpdate], Awaitable[None]]


class JobSuperseded(BaseException):
    """This attempt no longer owns the job (its lease expired and another attempt started): stop quietly."""


class JobContext:
    """What a handler gets: who the job is for, and a progress callback that also checks cancellation."""

    def __init__(
        self, job: Job, attempt: int, *, repo: JobRepository, publish: Publish, min_interval_s: float = 0.5
    ) -> None:
        self.job = job
        self.job_id = job.id
        self.owner_id = job.owner_id
        self.chat_id = job.chat_id
        self.attempt = attempt
        self._repo = repo
        self._publish = publish
        self._min_interval_s = min_interval_s
        self._last: tuple[float, str] = (float("-inf"), "\0")

    async def progress(self, fraction: float, text: str = "") -> None:
        """Record and publish progress; raises :class:`JobCancelled` once the job was cancelled."""
        now = time.monotonic()
        fraction = min(1.0, max(0.0, fraction))
        if text == self._last[1] and now - self._last[0] < self._min_interval_s:
            return
        self._last = (now, text)
        if not await self._repo.set_progress(self.job_id, self.attempt, fraction, text):
            await self.check_cancelled()
        await self._publish(
            JobUpdate(job_id=self.job_id, status=JobStatus.RUNNING, fraction=fraction, text=text)
        )

    async def check_cancelled(self) -> None:
        """Raise :class:`JobCancelled` (or :class:`JobSuperseded`) when this attempt must stop."""
        job = await self._repo.get(self.job_id)
        if job is None or job.status is JobStatus.CANCELLED:
            raise JobCancelled(self.job_id)
        if job.attempts != self.attempt or job.status is not JobStatus.RUNNING:
            raise JobSuperseded(self.job_id)


JobHandler = Callable[[JobContext, Mapping[str, Any]], Awaitable[Mapping[str, Any]]]


class JobRegistry:
    """Job kinds → handlers. Core services register theirs; every runner executes from the same registry."""

    def __init__(self) -> None:
        self._handlers: dict[str, JobHandler] = {}

    def register(self, kind: str, handler: JobHandler) -> None:
        """Add (or replace) the handler of a kind."""
        if not kind or len(kind) > 32:
            raise ValueError("a job kind is 1-32 characters")
        self._handlers[kind] = handler

    def handler(self, kind: str) -> JobHandler:
        """The handler of a kind, or :class:`UnknownJobKind`."""
        try:
            return self._handlers[kind]
        except KeyError:
            raise UnknownJobKind(kind) from None

    def kinds(self) -> list[str]:
        """The registered kinds."""
        return sorted(self._handlers)


async def echo_job(ctx: JobContext, payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``echo`` kind: returns its payload. Shows that workers answer (``bench/queue_throughput.py``)."""
    await ctx.progress(1.0, "echo")
    return dict(payload)


def error_text(exc: BaseException) -> str:
    """A failure as stored and shown: the exception type and message."""
    return f"{type(exc).__name__}: {exc}"[:2000]


async def run_attempt(
    job: Job, attempt: int, registry: JobRegistry, repo: JobRepository, publish: Publish
) -> JobUpdate | None:
    """Run one attempt of a claimed job; store and publish its final update (``None`` when superseded)."""
    ctx = JobContext(job, attempt, repo=repo, publish=publish)
    try:
        handler = registry.handler(job.kind)
        result = await handler(ctx, job.payload)
    except JobCancelled:
        await repo.finish(job.id, attempt, JobStatus.CANCELLED)
    except JobSuperseded:
        log.warning("job %s attempt %d was superseded: stopping without writing", job.id, attempt)
        return None
    except JobFailed as exc:
        log.warning("job %s (%s) failed: %s", job.id, job.kind, str(exc)[:200])
        await repo.finish(job.id, attempt, JobStatus.FAILED, error=str(exc)[:2000])
    except Exception as exc:
        log.exception("job %s (%s) failed", job.id, job.kind)
        await repo.finish(job.id, attempt, JobStatus.FAILED, error=error_text(exc))
    else:
        await repo.finish(job.id, attempt, JobStatus.DONE, result=dict(result))
    stored = await repo.get(job.id)
    if stored is None:  # deleted with its owner meanwhile
        return None
    if not stored.status.final:  # fenced out by a newer attempt
        return None
    final = JobUpdate.of(stored)
    await publish(final)
    return final
