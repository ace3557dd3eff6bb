"""The ``JobQueue`` port: submit heavy work by kind, watch its progress, cancel it.

A job is a database row (``jobs`` table): kind, owner, chat, input *references* (ids, blob keys: never large
payloads), status, progress and its text, result references or an error, and the number of attempts.
Two runners implement the port: :class:`core.jobs.local.LocalJobQueue` (the default, in the bot process)
and :class:`core.jobs.redis_queue.RedisJobQueue` (workers on other processes or machines, over Redis).
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable


class JobStatus(enum.StrEnum):
    """Where a job is in its life."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        """Whether nothing more will happen to the job."""
        return self in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """A job record as stored."""

    id: str
    kind: str
    owner_id: str
    chat_id: str
    status: JobStatus
    progress: float
    progress_text: str
    payload: Mapping[str, Any]
    result: Mapping[str, Any] | None
    error: str | None
    attempts: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class JobUpdate:
    """One event of a job seen by a watcher: progress, then exactly one final update."""

    job_id: str
    status: JobStatus
    fraction: float = 0.0
    text: str = ""
    result: Mapping[str, Any] | None = field(default=None, compare=False)
    error: str | None = None

    @property
    def final(self) -> bool:
        """Whether this is the last update of the job."""
        return self.status.final

    def to_json(self) -> dict[str, Any]:
        """Plain data for a message bus."""
        return {
            "job_id": self.job_id,
            "status": self.status.value,
            "fraction": self.fraction,
            "text": self.text,
            "result": dict(self.result) if self.result is not None else None,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobUpdate:
        """The inverse of :meth:`to_json`."""
        return cls(
            job_id=str(data["job_id"]),
            status=JobStatus(data["status"]),
            fraction=float(data.get("fraction") or 0.0),
            text=str(data.get("text") or ""),
            result=data.get("result"),
            error=data.get("error"),
        )

    @classmethod
    def of(cls, job: Job) -> JobUpdate:
        """The update that describes a stored job as it is now."""
        return cls(
            job_id=job.id,
            status=job.status,
            fraction=job.progress,
            text=job.progress_text,
            result=job.result,
            error=job.error,
        )


class UnknownJobKind(LookupError):
    """No handler is registered for a job kind."""


class JobNotFound(LookupError):
    """No such job (or it was deleted with its owner)."""


class JobQueueUnavailable(RuntimeError):
    """The queue cannot take jobs now (e.g. Redis is unreachable)."""


class JobFailed(Exception):
    """A handler's expected failure, already worded as ``stage: reason``: the job is stored ``failed`` with
    this text as its error (retryable with ``vos admin jobs retry``) and logged as one line, no traceback."""


class JobCancelled(BaseException):
    """Raised inside a handler at a progress step once its job was cancelled.

    A ``BaseException`` on purpose: pipelines that turn every ``Exception`` into their own failure record
    (the meeting pipeline does) must not swallow a cancellation.
    """


@runtime_checkable
class JobQueue(Protocol):
    """Runs registered job kinds somewhere off the event loop and reports back."""

    async def submit(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        owner_id: str,
        chat_id: str = "",
        idempotency_key: str | None = None,
    ) -> str:
        """Queue a job; returns its id. The same (kind, owner, key) returns the same job, run once."""
        ...

    def watch(self, job_id: str) -> AsyncIterator[JobUpdate]:
        """Progress updates, then one final done/failed/cancelled update (at once if already final)."""
        ...

    async def cancel(self, job_id: str, owner_id: str) -> bool:
        """Cancel the owner's queued or running job; False when not theirs or already final."""
        ...

    async def get(self, job_id: str) -> Job | None:
        """The stored job."""
        ...

    async def aclose(self) -> None:
        """Stop what this process runs or listens to."""
        ...
