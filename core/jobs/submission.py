"""Recording a submission, shared by every JobQueue implementation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.jobs.ids import job_id_for
from core.jobs.ports import JobStatus
from core.jobs.registry import JobRegistry
from core.storage.job_repository import JobRepository


@dataclass(frozen=True, slots=True, kw_only=True)
class Submission:
    """The job a submission refers to; ``fresh`` when it must be (re)started now."""

    job_id: str
    status: JobStatus
    fresh: bool


async def record_submission(
    repo: JobRepository,
    registry: JobRegistry,
    kind: str,
    payload: Mapping[str, Any],
    *,
    owner_id: str,
    chat_id: str,
    idempotency_key: str | None,
) -> Submission:
    """Store the job; a known idempotency key returns it, and a failed or cancelled one is re-queued."""
    registry.handler(kind)  # unknown kinds fail before anything is stored
    job_id = job_id_for(kind, owner_id, idempotency_key)
    job, created = await repo.create(job_id, kind=kind, owner_id=owner_id, chat_id=chat_id, payload=payload)
    requeued = job.status in (JobStatus.FAILED, JobStatus.CANCELLED) and await repo.requeue(job_id)
    status = JobStatus.QUEUED if requeued else job.status
    return Submission(job_id=job_id, status=status, fresh=created or requeued)
