"""The distributed runner's client side: jobs go to Redis through taskiq, workers (``vos worker``) run
them, and progress and results come back through a Redis stream per job.

Why taskiq (over arq and Celery): it is asyncio-native end to end (our handlers, database and blob store
are async; Celery's workers are not), its Redis *stream* broker delivers through a consumer group with
explicit acknowledgements (arq's Redis lists have no redelivery of a message a dead worker had taken, only
its own retry on error), and a task can ack manually, which is what "acknowledge after the final state is
written" needs. What none of the three gives us is cooperative cancellation and progress to the caller:
both ride on the job table (status ``cancelled``) and on one Redis stream per job, read with XREAD, so a
watcher that arrives late still sees every update and the final one. A process reads all the streams it
watches with one XREAD on one connection (``core.jobs.redis_watch``), and its other commands share a
bounded, blocking pool: watching a thousand jobs costs one connection, not a thousand.

Keys (all under ``namespace``): ``{ns}:jobs`` the task stream and its consumer group, ``{ns}:job:{id}:events``
the job's updates (expire after a day), ``{ns}:job:{id}:lease`` the worker that runs it now, and
``{ns}:worker:{name}`` one key per serving worker (expires 10 s after it stops).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from taskiq import AckableMessage
from taskiq.kicker import AsyncKicker
from taskiq_redis import RedisStreamBroker

from core.jobs.ports import Job, JobNotFound, JobQueueUnavailable, JobStatus, JobUpdate
from core.jobs.redis_watch import StreamFanout
from core.jobs.registry import JobRegistry
from core.jobs.submission import record_submission
from core.storage.job_repository import JobRepository

log = logging.getLogger(__name__)
TASK_NAME = "vos.run_job"


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisQueueOptions:
    """Where the queue lives and its timings."""

    url: str = "redis://127.0.0.1:6379/0"
    namespace: str = "vos"
    lease_s: float = 60.0
    """How long a worker holds a running job without renewing (renewed every third of it); also how long
    an unacknowledged message waits before another worker may claim it."""
    max_attempts: int = 3
    events_ttl_s: int = 86_400
    block_ms: int = 1000
    max_connections: int = 32
    """Connections of a process's command pool (a command waits for a free one instead of failing)."""

    def stream(self) -> str:
        """The task stream."""
        return f"{self.namespace}:jobs"

    def events(self, job_id: str) -> str:
        """A job's update stream."""
        return f"{self.namespace}:job:{job_id}:events"

    def lease(self, job_id: str) -> str:
        """A job's lease key."""
        return f"{self.namespace}:job:{job_id}:lease"

    def alive(self, worker: str = "*") -> str:
        """A serving worker's presence key (a pattern with the default)."""
        return f"{self.namespace}:worker:{worker}"


class ReclaimingStreamBroker(RedisStreamBroker):
    """taskiq-redis's stream broker, reading one message at a time and reclaiming idle ones on every turn.

    The upstream ``listen`` only runs XAUTOCLAIM after XREADGROUP returned new messages, so on a quiet
    queue the message of a dead worker would wait for the next submission; and it reads 100 at a time,
    which parks messages behind one busy worker while others idle.
    """

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:  # type: ignore[override]
        """New messages, and messages left unacknowledged for ``idle_timeout`` ms by any consumer."""
        last_claim = 0.0
        async with Redis(connection_pool=self.connection_pool) as conn:
            while True:
                fetched: Any = await conn.xreadgroup(
                    self.consumer_group_name,
                    self.consumer_name,
                    {self.queue_name: ">"},
                    block=self.block,
                    count=1,
                )
                for stream, messages in fetched or []:
                    for msg_id, msg in messages:
                        yield AckableMessage(data=msg[b"data"], ack=self._ack_generator(msg_id, stream))
                if time.monotonic() - last_claim < self.idle_timeout / 4000:
                    continue
                last_claim = time.monotonic()
                claimed: Any = await conn.xautoclaim(
                    self.queue_name,
                    self.consumer_group_name,
                    self.consumer_name,
                    min_idle_time=self.idle_timeout,
                    count=1,
                )
                for msg_id, msg in claimed[1]:
                    if msg:
                        yield AckableMessage(
                            data=msg[b"data"], ack=self._ack_generator(msg_id, self.queue_name)
                        )


def command_client(options: RedisQueueOptions) -> Redis:
    """A client on a bounded pool: past ``max_connections`` commands queue instead of raising."""
    pool = BlockingConnectionPool.from_url(
        options.url, max_connections=options.max_connections, timeout=30, socket_connect_timeout=5
    )
    return Redis.from_pool(pool)  # the client owns (and closes) its pool


def make_broker(options: RedisQueueOptions, *, consumer_name: str | None = None) -> ReclaimingStreamBroker:
    """The broker both sides use (the client only kicks)."""
    return ReclaimingStreamBroker(
        options.url,
        max_connection_pool_size=options.max_connections,
        queue_name=options.stream(),
        consumer_group_name=f"{options.namespace}-workers",
        consumer_name=consumer_name,
        consumer_id="0",
        xread_block=options.block_ms,
        idle_timeout=int(options.lease_s * 1000),
        xread_count=1,
    )


async def publish(redis: Redis, options: RedisQueueOptions, update: JobUpdate) -> None:
    """Append an update to the job's stream (bounded, expiring)."""
    key = options.events(update.job_id)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xadd(key, {"u": json.dumps(update.to_json(), ensure_ascii=False)}, maxlen=1000, approximate=True)
        pipe.expire(key, options.events_ttl_s)
        await pipe.execute()


async def stream_depth(redis: Redis, options: RedisQueueOptions) -> int:
    """Jobs waiting or running: the group's lag (not yet delivered) plus pending (not yet acked)."""
    try:
        groups: Any = await redis.xinfo_groups(options.stream())
    except Exception:  # no stream yet: nothing was ever queued
        return 0
    return sum(int(g.get("lag") or 0) + int(g.get("pending") or 0) for g in groups)


class RedisJobQueue:
    """A :class:`core.jobs.ports.JobQueue` whose jobs run on ``vos worker`` processes."""

    def __init__(self, repo: JobRepository, registry: JobRegistry, options: RedisQueueOptions) -> None:
        self.repo = repo
        self.registry = registry
        self.options = options
        self.redis: Redis = command_client(options)
        self.broker = make_broker(options)
        self._started = False
        self._start_lock = asyncio.Lock()
        self.fanout = StreamFanout(
            options.url, self.redis, wake_key=f"{options.namespace}:watch", block_ms=options.block_ms
        )

    async def _kick(self, job_id: str) -> None:
        if not self._started:
            async with self._start_lock:  # a thousand first submissions start the broker once
                if not self._started:
                    await self.broker.startup()
                    self._started = True
        kicker: Any = AsyncKicker(TASK_NAME, self.broker, {"ack_type": "manual"})  # the worker acks
        await kicker.kiq(job_id)

    async def dispatch(self, job_id: str) -> None:
        """Hand an already-queued job (e.g. one an operator retried) to the workers."""
        await self._kick(job_id)

    async def submit(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        owner_id: str,
        chat_id: str = "",
        idempotency_key: str | None = None,
    ) -> str:
        """Store the job and put its id on the stream (a known idempotency key returns the existing job)."""
        sub = await record_submission(
            self.repo,
            self.registry,
            kind,
            payload,
            owner_id=owner_id,
            chat_id=chat_id,
            idempotency_key=idempotency_key,
        )
        job_id = sub.job_id
        if not sub.fresh:
            return job_id
        try:
            await self.redis.delete(self.options.events(job_id))  # a resubmission starts a fresh history
            await self._kick(job_id)
        except Exception as exc:
            await self.repo.fail(job_id, f"queue unavailable: {type(exc).__name__}: {exc}")
            raise JobQueueUnavailable(str(exc)) from exc
        return job_id

    async def watch(self, job_id: str) -> AsyncIterator[JobUpdate]:
        """Every update from the job's stream; the stored state when final (or when the stream is silent)."""
        job = await self.repo.get(job_id)
        if job is None:
            raise JobNotFound(job_id)
        if job.status.final:
            yield JobUpdate.of(job)
            return
        async with self.fanout.subscribe(self.options.events(job_id)) as updates:
            while True:
                entry = await updates.next(self.options.block_ms / 1000)
                if entry is None:
                    job = await self.repo.get(job_id)
                    if job is None:
                        raise JobNotFound(job_id)
                    if job.status.final:  # e.g. the worker died between its final write and its publish
                        yield JobUpdate.of(job)
                        return
                    continue
                update = JobUpdate.from_json(json.loads(entry[1][b"u"]))
                yield update
                if update.final:
                    return

    async def cancel(self, job_id: str, owner_id: str) -> bool:
        """Cancel: a queued job at once, a running one at its next progress step (on its worker)."""
        previous = await self.repo.cancel(job_id, owner_id)
        if previous is None:
            return False
        if previous is JobStatus.QUEUED:
            job = await self.repo.get(job_id)
            if job is not None:
                await publish(self.redis, self.options, JobUpdate.of(job))
        return True

    async def get(self, job_id: str) -> Job | None:
        """The stored job."""
        return await self.repo.get(job_id)

    async def depth(self) -> int:
        """Messages on the stream not yet acknowledged or delivered (the queue depth)."""
        return await stream_depth(self.redis, self.options)

    async def workers_alive(self) -> list[str]:
        """The names of the workers serving this queue now (each refreshes its key every few seconds)."""
        prefix = self.options.alive("")
        return sorted([k.decode()[len(prefix) :] async for k in self.redis.scan_iter(self.options.alive())])

    async def aclose(self) -> None:
        """Close the connections."""
        await self.fanout.aclose()
        if self._started:
            await self.broker.shutdown()
        await self.redis.aclose()
