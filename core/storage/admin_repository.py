"""Operator queries across every owner: counts, the jobs table, and what one user has stored.

Job statuses are the strings of the jobs table (``queued``, ``running``, ``done``, ``failed``,
``cancelled``); retry and cancel only change a row's status, guarded by its current one in the same
``UPDATE``, so an operator and a worker racing on a job cannot both win. The queue's runner honours them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.sql.elements import ColumnElement

from core.storage.db import Database
from core.storage.ids import aware, utcnow
from core.storage.models import (
    BlobRefRow,
    ChatTurnRow,
    JobRow,
    MeetingRow,
    StarRow,
    UserRow,
    VoiceMemoryRow,
)

QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
JOB_STATUSES = (QUEUED, RUNNING, DONE, FAILED, CANCELLED)
RETRYABLE = (FAILED, CANCELLED)
CANCELLABLE = (QUEUED, RUNNING)


@dataclass(frozen=True, slots=True, kw_only=True)
class JobSummary:
    """One row of the jobs table, without its payload and result."""

    id: str
    kind: str
    owner_id: str
    status: str
    progress: float
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class UserHoldings:
    """What one user has stored."""

    user_id: str
    platform: str
    platform_user_id: str
    display_name: str
    created_at: datetime
    stars: list[tuple[str, str, str]]  # (id, name, status)
    chat_turns: int
    meetings: int
    voice_memories: int
    jobs: int
    blobs: int
    blob_bytes: int


def _job(row: JobRow) -> JobSummary:
    return JobSummary(
        id=row.id,
        kind=row.kind,
        owner_id=row.owner_id,
        status=row.status,
        progress=row.progress,
        attempts=row.attempts,
        error=row.error,
        created_at=aware(row.created_at),
        updated_at=aware(row.updated_at),
    )


class AdminRepository:
    """Read-mostly queries for ``vos admin``; the only writes are job status changes."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def _count(self, model: Any, *where: ColumnElement[bool]) -> int:
        async with self.db.read() as s:
            q = select(func.count()).select_from(model)
            if where:
                q = q.where(*where)
            return int(await s.scalar(q) or 0)

    async def _grouped(self, column: Any) -> dict[str, int]:
        async with self.db.read() as s:
            rows = await s.execute(select(column, func.count()).group_by(column))
            return {str(value): int(n) for value, n in rows.all()}

    async def totals(self) -> tuple[int, dict[str, int], dict[str, int], dict[str, int]]:
        """(users, stars by status, meetings by status, jobs by status)."""
        return (
            await self._count(UserRow),
            await self._grouped(StarRow.status),
            await self._grouped(MeetingRow.status),
            await self._grouped(JobRow.status),
        )

    async def jobs(self, *, status: str | None = None, limit: int = 50) -> list[JobSummary]:
        """Jobs, newest first, optionally of one status."""
        q = select(JobRow).order_by(JobRow.created_at.desc(), JobRow.id).limit(limit)
        if status is not None:
            q = q.where(JobRow.status == status)
        async with self.db.read() as s:
            return [_job(r) for r in await s.scalars(q)]

    async def job(self, job_id: str) -> JobSummary | None:
        """One job."""
        async with self.db.read() as s:
            row = await s.get(JobRow, job_id)
            return _job(row) if row else None

    async def set_job_status(self, job_id: str, *, new: str, allowed_from: tuple[str, ...]) -> bool:
        """Move a job to ``new`` when its status is one of ``allowed_from``; False when it was not."""
        values: dict[str, Any] = {"status": new, "updated_at": utcnow()}
        if new == QUEUED:  # a retry is a resubmission: fresh attempts, no stale result (as the runner does)
            values.update(progress=0.0, progress_text="", result=None, error=None, attempts=0)
        async with self.db.write() as s:
            result = await s.execute(
                update(JobRow).where(JobRow.id == job_id, JobRow.status.in_(allowed_from)).values(**values)
            )
            return bool(getattr(result, "rowcount", 0))

    async def find_user(self, ref: str) -> str | None:
        """A user id from the id itself or ``platform:platform_user_id`` (``telegram:12345``)."""
        async with self.db.read() as s:
            if await s.get(UserRow, ref) is not None:
                return ref
            platform, sep, native = ref.partition(":")
            if not sep:
                return None
            found = await s.scalar(
                select(UserRow.id).where(UserRow.platform == platform, UserRow.platform_user_id == native)
            )
            return str(found) if found else None

    async def holdings(self, user_id: str) -> UserHoldings | None:
        """Everything a user has, counted; None when there is no such user."""
        async with self.db.read() as s:
            user = await s.get(UserRow, user_id)
            if user is None:
                return None
            stars = (
                await s.execute(
                    select(StarRow.id, StarRow.name, StarRow.status)
                    .where(StarRow.owner_id == user_id)
                    .order_by(StarRow.created_at)
                )
            ).all()
            # A blob referenced twice (the same export for two stars) is stored once: count it once.
            sizes = (
                await s.execute(
                    select(BlobRefRow.blob_key, func.max(BlobRefRow.size))
                    .where(BlobRefRow.owner_id == user_id)
                    .group_by(BlobRefRow.blob_key)
                )
            ).all()
            audio = set(
                await s.scalars(
                    select(MeetingRow.audio_blob).where(
                        MeetingRow.owner_user_id == user_id, MeetingRow.audio_blob.is_not(None)
                    )
                )
            )
        keys = {str(k) for k, _ in sizes} | {str(k) for k in audio}
        return UserHoldings(
            user_id=user.id,
            platform=user.platform,
            platform_user_id=user.platform_user_id,
            display_name=user.display_name,
            created_at=aware(user.created_at),
            stars=[(str(i), str(n), str(st)) for i, n, st in stars],
            chat_turns=await self._count(ChatTurnRow, ChatTurnRow.user_id == user_id),
            meetings=await self._count(MeetingRow, MeetingRow.owner_user_id == user_id),
            voice_memories=await self._count(VoiceMemoryRow, VoiceMemoryRow.owner_id == user_id),
            jobs=await self._count(JobRow, JobRow.owner_id == user_id),
            blobs=len(keys),
            blob_bytes=sum(int(size or 0) for _, size in sizes),  # meeting audio has no size on record
        )
