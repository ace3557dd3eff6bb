"""The default runner: jobs run in the bot process, persisted in the ``jobs`` table.

Why tasks on the bot's event loop with bounded concurrency, and not a process pool: every heavy stage of
the handlers already runs off the loop (``asyncio.to_thread`` around decoding, Whisper, the speaker
encoder), the engines' models are loaded once and shared with the rest of the bot, and a handler needs the
bot's database engine and blob store, which cannot cross a process boundary. Process isolation is what
``vos worker`` gives (``VOS_JOBS__BACKEND=redis``; one Redis on the same machine is enough).

Restart policy: :meth:`LocalJobQueue.recover` re-queues unfinished jobs *once*: a job left ``queued`` or
``running`` with fewer than ``max_attempts`` (default 2) attempts runs again from the start (handlers are
idempotent); one that already had its second attempt interrupted is marked failed (``INTERRUPTED``), so a
job that crashes the process cannot crash it forever. Its owner sees the status in the job's record (and,
for meetings, in ``/meetings``). One process runs one job at most once at a time: one task per job id.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack
from typing import Any

from core.jobs.claims import JobClaims, ProcessJobClaims
from core.jobs.ports import Job, JobNotFound, JobStatus, JobUpdate
from core.jobs.registry import JobRegistry, run_attempt
from core.jobs.submission import record_submission
from core.storage.job_repository import JobRepository

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted: the process stopped while this job ran, twice"


class LocalJobQueue:
    """A :class:`core.jobs.ports.JobQueue` that runs handlers as bounded tasks of this process."""

    def __init__(
        self,
        repo: JobRepository,
        registry: JobRegistry,
        *,
        concurrency: int = 2,
        max_attempts: int = 2,
        claims: JobClaims | None = None,
    ) -> None:
        self.repo = repo
        self.claims: JobClaims = claims or ProcessJobClaims()
        self.registry = registry
        self.max_attempts = max_attempts
        self._slots = asyncio.Semaphore(max(1, concurrency))
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._watchers: dict[str, list[asyncio.Queue[JobUpdate]]] = {}
        self._followers: dict[str, asyncio.Task[None]] = {}

    async def submit(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        owner_id: str,
        chat_id: str = "",
        idempotency_key: str | None = None,
    ) -> str:
        """Store the job and start it (a known idempotency key returns the existing job)."""
        sub = await record_submission(
            self.repo,
            self.registry,
            kind,
            payload,
            owner_id=owner_id,
            chat_id=chat_id,
            idempotency_key=idempotency_key,
        )
        if sub.fresh or sub.status is JobStatus.QUEUED:
            self._start(sub.job_id)
        return sub.job_id

    def _start(self, job_id: str, *, claim: AsyncExitStack | None = None) -> None:
        if job_id in self._tasks:
            return
        task = asyncio.create_task(self._claim_and_run(job_id, claim), name=f"job-{job_id[:8]}")
        self._tasks[job_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(job_id, None))

    async def _claim(self, job_id: str) -> AsyncExitStack | None:
        """The job's claim, held until the returned stack closes; None when another process holds it."""
        stack = AsyncExitStack()
        if await stack.enter_async_context(self.claims.hold(job_id)):
            return stack
        await stack.aclose()
        return None

    async def _claim_and_run(self, job_id: str, claim: AsyncExitStack | None) -> None:
        """Run the job under its claim; when another live process holds the claim, leave the job to it
        and relay its stored progress to this process's watchers until it ends."""
        claim = claim or await self._claim(job_id)
        if claim is None:
            log.info("job %s is running in another process: left to it", job_id)
            await self._follow(job_id)
            return
        async with claim:
            await self._run(job_id)

    def _start_follower(self, job_id: str) -> None:
        if job_id in self._followers:
            return
        task = asyncio.create_task(self._follow(job_id), name=f"follow-{job_id[:8]}")
        self._followers[job_id] = task
        task.add_done_callback(lambda _: self._followers.pop(job_id, None))

    async def _follow(self, job_id: str, interval_s: float = 1.0) -> None:
        last: JobUpdate | None = None
        while True:
            job = await self.repo.get(job_id)
            if job is None:
                return
            update = JobUpdate.of(job)
            if update != last:
                await self._publish(update)
                last = update
            if update.final:
                return
            await asyncio.sleep(interval_s)

    async def _run(self, job_id: str) -> None:
        async with self._slots:
            attempt = await self.repo.start(job_id, max_attempts=self.max_attempts)
            if attempt is None:
                if await self.repo.fail(job_id, INTERRUPTED):
                    log.warning("job %s failed: %s", job_id, INTERRUPTED)
                job = await self.repo.get(job_id)
                if job is not None:
                    await self._publish(JobUpdate.of(job))
                return
            job = await self.repo.get(job_id)
            assert job is not None
            await run_attempt(job, attempt, self.registry, self.repo, self._publish)

    async def _publish(self, update: JobUpdate) -> None:
        for queue in self._watchers.get(update.job_id, []):
            queue.put_nowait(update)

    async def watch(self, job_id: str) -> AsyncIterator[JobUpdate]:
        """Updates as they happen; the stored state first when the job is already final."""
        queue: asyncio.Queue[JobUpdate] = asyncio.Queue()
        self._watchers.setdefault(job_id, []).append(queue)
        try:
            job = await self.repo.get(job_id)
            if job is None:
                raise JobNotFound(job_id)
            if job.status.final:
                yield JobUpdate.of(job)
                return
            if job_id not in self._tasks:
                # Another process runs it (or a dead one left it for recovery): relay what it stores.
                self._start_follower(job_id)
            while True:
                update = await queue.get()
                yield update
                if update.final:
                    return
        finally:
            watchers = self._watchers.get(job_id, [])
            watchers.remove(queue)
            if not watchers:
                self._watchers.pop(job_id, None)

    async def cancel(self, job_id: str, owner_id: str) -> bool:
        """Cancel: a queued job at once, a running one at its next progress step."""
        previous = await self.repo.cancel(job_id, owner_id)
        if previous is None:
            return False
        if previous is JobStatus.QUEUED:
            job = await self.repo.get(job_id)
            if job is not None:
                await self._publish(JobUpdate.of(job))
        return True

    async def get(self, job_id: str) -> Job | None:
        """The stored job."""
        return await self.repo.get(job_id)

    async def recover(self) -> list[Job]:
        """At start-up: re-queue the unfinished jobs no live process runs, once (see the module docstring);
        a job whose last attempt was interrupted fails now. Returns the jobs resumed."""
        taken: list[Job] = []
        for job in await self.repo.unfinished():
            if job.id in self._tasks:
                continue
            claim = await self._claim(job.id)
            if claim is None:  # a live process runs it
                continue
            if job.attempts >= self.max_attempts:  # its last attempt was interrupted: failed now
                async with claim:
                    if await self.repo.fail(job.id, INTERRUPTED):
                        log.warning("job %s failed: %s", job.id, INTERRUPTED)
                continue
            self._start(job.id, claim=claim)
            taken.append(job)
        return taken

    async def join(self) -> None:
        """Wait until every job this process started has finished (tests, the CLI)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def aclose(self) -> None:
        """Stop running jobs; they stay unfinished in the table and resume at the next start."""
        tasks = [*self._tasks.values(), *self._followers.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
