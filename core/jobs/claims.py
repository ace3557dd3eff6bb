"""Which process runs a local job: a claim held for as long as the job runs, gone when its process dies.

The local runner (:class:`core.jobs.local.LocalJobQueue`) runs jobs inside whichever process submitted them:
``vos run``, or ``vos meeting import`` for its own import. A job whose process was killed stays ``running``
in the table; any process that runs jobs recovers it at start, but it must never take a job that a live
process is running right now. The claim tells them apart without clocks:
- :class:`FileJobClaims` (SQLite, one machine): an exclusive ``flock`` on ``<root>/<job id>.lock``.
- :class:`PostgresJobClaims`: a session-level ``pg_try_advisory_lock`` on a connection held while the job
  runs (so processes on several machines sharing the database also agree).
Both are released by the kernel or the server when the holder dies, kill -9 included.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol

from core.storage.job_claims import PostgresJobClaims

__all__ = ["FileJobClaims", "JobClaims", "PostgresJobClaims", "ProcessJobClaims"]


class JobClaims(Protocol):
    """Non-blocking, per-job, cross-process claims."""

    def hold(self, job_id: str) -> AbstractAsyncContextManager[bool]:
        """Try to claim the job; yields whether this process got it (released on exit)."""
        ...


class ProcessJobClaims:
    """Claims inside this process only (an in-memory database: nobody else can see its jobs)."""

    @asynccontextmanager
    async def hold(self, job_id: str) -> AsyncIterator[bool]:
        """Always granted (the queue already runs one task per job)."""
        yield True


class FileJobClaims:
    """``flock`` on one small file per running job, in a folder beside the database."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _try(self, job_id: str) -> int | None:
        import fcntl

        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / f"{job_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        return fd

    def _release(self, job_id: str, fd: int) -> None:
        # Unlinked while still held, so a later claim makes a fresh file; closing drops the lock.
        (self.root / f"{job_id}.lock").unlink(missing_ok=True)
        os.close(fd)

    @asynccontextmanager
    async def hold(self, job_id: str) -> AsyncIterator[bool]:
        """Claim the job's file lock when nobody holds it."""
        if not job_id.isalnum():
            raise ValueError("bad job id")
        fd = await asyncio.to_thread(self._try, job_id)
        try:
            yield fd is not None
        finally:
            if fd is not None:
                await asyncio.to_thread(self._release, job_id, fd)
