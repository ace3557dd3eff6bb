"""Locks that make a scheduled job run on one replica at a time.

Every replica of the bot runs the same APScheduler jobs; each run first tries a lock named after the job
and skips that tick when another replica holds it (never waits: the holder is already doing the work).
- :class:`PostgresAdvisoryLock`: ``pg_try_advisory_xact_lock`` in a transaction held while the job runs;
  PostgreSQL releases it when the transaction ends, also when the holder's connection dies.
- :class:`RedisLock`: ``SET key token NX PX ttl``, released by a compare-and-delete script so a holder whose
  lease expired never deletes a newer holder's lock; the TTL frees the lock if the holder dies.
- :class:`NoLock`: SQLite is one process on one machine; APScheduler's ``max_instances=1`` is enough.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol, TypeVar

from sqlalchemy import text

from core.storage.db import Database

log = logging.getLogger(__name__)
T = TypeVar("T")

# Delete the key only while it still holds our token (an expired lease may belong to someone else now).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class JobLock(Protocol):
    """A named, non-blocking, cross-process lock."""

    def hold(self, name: str) -> AbstractAsyncContextManager[bool]:
        """Try the lock; the context yields whether this holder got it (and releases it on exit)."""
        ...


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_try_advisory_xact_lock`` from a lock name."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class NoLock:
    """Always granted: one instance, nothing to coordinate with."""

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[bool]:
        """Yield True."""
        yield True


class PostgresAdvisoryLock:
    """A transaction-level advisory lock on the app's PostgreSQL database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[bool]:
        """Try the lock in a transaction that stays open while the block runs."""
        async with self.db.engine.connect() as conn, conn.begin():
            got = await conn.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": advisory_key(name)})
            yield bool(got)


class RedisLock:
    """A lease in Redis (``SET NX PX``) with a token, released only by its holder."""

    def __init__(
        self, url: str, *, ttl_s: float = 3600.0, prefix: str = "vos:lock:", timeout_s: float = 5.0
    ) -> None:
        self.url = url
        self.ttl_ms = int(ttl_s * 1000)
        self.prefix = prefix
        self.timeout_s = timeout_s

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[bool]:
        """Try to take the lease; give it back on exit if it is still ours."""
        from redis.asyncio import Redis

        client = Redis.from_url(
            self.url, socket_timeout=self.timeout_s, socket_connect_timeout=self.timeout_s
        )
        key, token = self.prefix + name, uuid.uuid4().hex
        try:
            got = bool(await client.set(key, token, nx=True, px=self.ttl_ms))
            try:
                yield got
            finally:
                if got:
                    await client.eval(_RELEASE, 1, key, token)  # type: ignore[misc]
        finally:
            await client.aclose()


async def run_exclusive(lock: JobLock, name: str, job: Callable[[], Awaitable[T]]) -> T | None:
    """Run ``job`` when this process gets the lock; None (and a log line) when another one holds it."""
    async with lock.hold(name) as got:
        if not got:
            log.info("job %s is running on another instance: skipped here", name)
            return None
        return await job()
