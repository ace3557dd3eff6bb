"""The distributed runner's worker side: serves the Redis stream with taskiq and runs jobs from the registry.

Guarantees (see README "Past one machine"):

* **Delivery, at least once.** A job's message is acknowledged only after its final state is in the
  database. A message a dead worker held is claimed by another worker once it sat ``lease_s`` unacknowledged.
* **One attempt at a time.** Before running, a worker takes the job's lease (``SET NX PX``), renews it every
  third of ``lease_s`` and deletes it only if still its own. A worker that finds the lease taken leaves the
  message unacknowledged (it is looked at again after ``lease_s``); one that loses its lease stops its
  attempt. Every database write of an attempt is fenced by its attempt number, so a stale attempt cannot
  overwrite a newer one.
* **Effects once.** An attempt that died is re-run from the start: handlers make their effects idempotent
  (keyed by the job id or the payload's ids). After ``max_attempts`` started attempts the job is failed.
* **No retry on a handler error**: a failure (a bad recording) is deterministic; the owner resubmits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid

from redis.asyncio import Redis
from taskiq import Context, TaskiqDepends
from taskiq.api import run_receiver_task

from core.jobs.ports import JobStatus, JobUpdate
from core.jobs.redis_queue import TASK_NAME, RedisQueueOptions, command_client, make_broker, publish
from core.jobs.registry import JobRegistry, run_attempt
from core.storage.job_repository import JobRepository

log = logging.getLogger(__name__)
GAVE_UP = "gave up: the workers running this job stopped {attempts} times"

_OWNED = "if redis.call('get', KEYS[1]) == ARGV[1] then return "
_RENEW = _OWNED + "redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = _OWNED + "redis.call('del', KEYS[1]) end return 0"


class RedisJobWorker:
    """Runs the queue's jobs in this process, ``concurrency`` at a time."""

    def __init__(
        self,
        repo: JobRepository,
        registry: JobRegistry,
        options: RedisQueueOptions,
        *,
        concurrency: int = 1,
        name: str | None = None,
    ) -> None:
        self.repo = repo
        self.registry = registry
        self.options = options
        self.concurrency = max(1, concurrency)
        self.name = name or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.redis: Redis = command_client(options)

    async def _publish(self, update: JobUpdate) -> None:
        await publish(self.redis, self.options, update)

    async def handle(self, job_id: str, context: Context) -> None:
        """One delivery of a job's message."""
        job = await self.repo.get(job_id)
        if job is None or job.status.final:  # deleted with its owner, or already finished
            await context.ack()
            return
        lease, token = self.options.lease(job_id), f"{self.name}:{uuid.uuid4().hex[:8]}"
        lease_ms = int(self.options.lease_s * 1000)
        if not await self.redis.set(lease, token, nx=True, px=lease_ms):
            log.info("job %s is held by a live worker: leaving it to that worker", job_id)
            return
        try:
            attempt = await self.repo.start(job_id, max_attempts=self.options.max_attempts)
            if attempt is None:
                await self.repo.fail(job_id, GAVE_UP.format(attempts=self.options.max_attempts))
                stored = await self.repo.get(job_id)
                if stored is not None and stored.status.final:
                    await self._publish(JobUpdate.of(stored))
                await context.ack()
                return
            job = await self.repo.get(job_id)
            assert job is not None
            log.info("job %s (%s) attempt %d on %s", job_id, job.kind, attempt, self.name)
            runner = asyncio.ensure_future(run_attempt(job, attempt, self.registry, self.repo, self._publish))
            keeper = asyncio.ensure_future(self._keep(lease, token, lease_ms))
            try:
                await asyncio.wait({runner, keeper}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (runner, keeper):
                    task.cancel()
                await asyncio.gather(runner, keeper, return_exceptions=True)
            if runner.cancelled() or runner.exception() is not None:
                log.warning("job %s attempt %d stopped without a final state", job_id, attempt)
                return
            if runner.result() is not None or (await self._is_final(job_id)):
                await context.ack()
        finally:
            await self.redis.eval(_RELEASE, 1, lease, token)  # type: ignore[misc]

    async def _is_final(self, job_id: str) -> bool:
        stored = await self.repo.get(job_id)
        return stored is None or stored.status in (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)

    async def _keep(self, lease: str, token: str, lease_ms: int) -> None:
        """Renew the lease until it is lost (then return, which stops the attempt)."""
        while True:
            await asyncio.sleep(self.options.lease_s / 3)
            renewed = await self.redis.eval(_RENEW, 1, lease, token, lease_ms)  # type: ignore[misc]
            if not renewed:
                log.warning("lost the lease %s", lease)
                return

    async def serve(self) -> None:
        """Serve the queue until cancelled."""
        broker = make_broker(self.options, consumer_name=self.name)

        async def run_job(job_id: str, context: Context = TaskiqDepends()) -> None:  # noqa: B008
            await self.handle(job_id, context)

        broker.register_task(run_job, task_name=TASK_NAME)
        await broker.startup()
        log.info("worker %s serving %s (%d at a time)", self.name, self.options.stream(), self.concurrency)
        presence = asyncio.ensure_future(self._present())
        try:
            await run_receiver_task(broker, max_async_tasks=self.concurrency, run_startup=False)
        finally:
            presence.cancel()
            await asyncio.gather(presence, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self.redis.delete(self.options.alive(self.name))
                await broker.shutdown()

    async def _present(self) -> None:
        """Keep this worker's presence key alive (``RedisJobQueue.workers_alive``, ``vos admin stats``)."""
        while True:
            await self.redis.set(self.options.alive(self.name), "1", ex=10)
            await asyncio.sleep(3)

    async def aclose(self) -> None:
        """Close the lease connection."""
        await self.redis.aclose()
