"""Job records (``jobs`` table). Every state change is one conditional UPDATE, so that two processes can
share the table (SQLite in WAL mode or PostgreSQL) and an outdated attempt can never overwrite a newer one:
progress and final writes are fenced by the attempt number that :meth:`JobRepository.start` handed out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.elements import ColumnElement

from core.jobs.ports import Job, JobStatus
from core.storage.db import Database
from core.storage.ids import aware, utcnow
from core.storage.models import JobRow

_UNFINISHED = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def _job(row: JobRow) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        owner_id=row.owner_id,
        chat_id=row.chat_id,
        status=JobStatus(row.status),
        progress=row.progress,
        progress_text=row.progress_text,
        payload=dict(row.payload or {}),
        result=dict(row.result) if row.result is not None else None,
        error=row.error,
        attempts=row.attempts,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


class JobRepository:
    """Creates, claims, fences and finishes job records."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _update(self, job_id: str, where: list[ColumnElement[bool]], **values: Any) -> bool:
        async with self.db.write() as s:
            result = await s.execute(
                update(JobRow).where(JobRow.id == job_id, *where).values(updated_at=utcnow(), **values)
            )
            return bool(getattr(result, "rowcount", 0))

    async def create(
        self, job_id: str, *, kind: str, owner_id: str, chat_id: str, payload: Mapping[str, Any]
    ) -> tuple[Job, bool]:
        """Insert a queued job unless one with this id exists; returns the job and whether it is new."""
        existing = await self.get(job_id)
        if existing is not None:
            return existing, False
        now = utcnow()
        row = JobRow(
            id=job_id,
            kind=kind,
            owner_id=owner_id,
            chat_id=chat_id[:64],
            status=JobStatus.QUEUED.value,
            progress=0.0,
            progress_text="",
            payload=dict(payload),
            attempts=0,
            created_at=now,
            updated_at=now,
        )
        try:
            async with self.db.write() as s:
                s.add(row)
        except IntegrityError:  # another process created it first
            raced = await self.get(job_id)
            if raced is None:
                raise
            return raced, False
        return _job(row), True

    async def get(self, job_id: str) -> Job | None:
        """A job by id."""
        async with self.db.read() as s:
            row = await s.get(JobRow, job_id)
            return _job(row) if row else None

    async def requeue(self, job_id: str) -> bool:
        """Queue a failed or cancelled job again (a resubmission), with a fresh attempt count."""
        return await self._update(
            job_id,
            [JobRow.status.in_((JobStatus.FAILED.value, JobStatus.CANCELLED.value))],
            status=JobStatus.QUEUED.value,
            progress=0.0,
            progress_text="",
            result=None,
            error=None,
            attempts=0,
        )

    async def start(self, job_id: str, *, max_attempts: int) -> int | None:
        """Claim an unfinished job for a new attempt; returns the attempt number (None: final or exhausted).

        Callers guarantee mutual exclusion (one local task per job, or a Redis lease); the attempt number is
        the fence that keeps a stale attempt from writing.
        """
        claimed = await self._update(
            job_id,
            [JobRow.status.in_(_UNFINISHED), JobRow.attempts < max_attempts],
            status=JobStatus.RUNNING.value,
            attempts=JobRow.attempts + 1,
        )
        if not claimed:
            return None
        job = await self.get(job_id)
        return job.attempts if job is not None else None

    async def set_progress(self, job_id: str, attempt: int, fraction: float, text: str) -> bool:
        """Record progress of the running attempt; False when cancelled or superseded."""
        return await self._update(
            job_id,
            [JobRow.status == JobStatus.RUNNING.value, JobRow.attempts == attempt],
            progress=fraction,
            progress_text=text[:200],
        )

    async def finish(
        self,
        job_id: str,
        attempt: int,
        status: JobStatus,
        *,
        result: Mapping[str, Any] | None = None,
        error: str | None = None,
    ) -> bool:
        """Store the attempt's outcome; False when it was cancelled meanwhile or a newer attempt owns it."""
        allowed = [JobStatus.RUNNING.value]
        if status is JobStatus.CANCELLED:
            allowed.append(JobStatus.CANCELLED.value)
        values: dict[str, Any] = {"status": status.value, "error": error}
        if status is JobStatus.DONE:
            values.update(result=dict(result or {}), progress=1.0)
        return await self._update(job_id, [JobRow.status.in_(allowed), JobRow.attempts == attempt], **values)

    async def fail(self, job_id: str, error: str) -> bool:
        """Mark an unfinished job failed whatever its attempt (interrupted, gave up); False if final."""
        return await self._update(
            job_id, [JobRow.status.in_(_UNFINISHED)], status=JobStatus.FAILED.value, error=error[:2000]
        )

    async def cancel(self, job_id: str, owner_id: str) -> JobStatus | None:
        """Cancel the owner's unfinished job; returns the status it had (None: not theirs, or final)."""
        for status in _UNFINISHED:
            done = await self._update(
                job_id,
                [JobRow.owner_id == owner_id, JobRow.status == status],
                status=JobStatus.CANCELLED.value,
                error="cancelled",
            )
            if done:
                return JobStatus(status)
        return None

    async def unfinished(self) -> list[Job]:
        """Queued and running jobs, oldest first."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(JobRow).where(JobRow.status.in_(_UNFINISHED)).order_by(JobRow.created_at)
            )
            return [_job(r) for r in rows]

    async def list_for(self, owner_id: str, *, limit: int = 20) -> list[Job]:
        """An owner's jobs, newest first."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(JobRow)
                .where(JobRow.owner_id == owner_id)
                .order_by(JobRow.created_at.desc())
                .limit(limit)
            )
            return [_job(r) for r in rows]
