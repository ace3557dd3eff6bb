"""One reader per process for every job stream it watches: a single blocking XREAD over many streams.

``RedisJobQueue.watch`` used to hold one blocking XREAD connection per watched job, so a process
watching more jobs than the pool's connections (100) failed with ``MaxConnectionsError``. Here one task
on one dedicated connection reads every watched stream at once and fans the entries out to per-watcher
asyncio queues. A new stream joins the next XREAD; to keep it from waiting out the current one's block,
the reader also reads a private *wake* stream, and registering a new stream appends to it.

A watcher that joins a stream another watcher of this process already reads gets the stream's history
with one XRANGE, then the reader's entries newer than what it has seen: every watcher sees every entry of
its stream once, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger(__name__)
Entry = tuple[bytes, dict[bytes, bytes]]
_WAKE_TTL_S = 3600


def _entry_id(raw: bytes | str) -> tuple[int, int]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


@dataclass(eq=False, slots=True)
class StreamSubscription:
    """One watcher's view of one stream: entries in order, each once; errors of the reader re-raised."""

    key: str
    _inbox: asyncio.Queue[Entry | BaseException] = field(default_factory=asyncio.Queue)
    _last: tuple[int, int] = (0, 0)

    def _offer(self, entry: Entry) -> None:
        ident = _entry_id(entry[0])
        if ident > self._last:
            self._last = ident
            self._inbox.put_nowait(entry)

    async def next(self, timeout_s: float) -> Entry | None:
        """The next entry, or ``None`` after ``timeout_s`` of silence."""
        try:
            async with asyncio.timeout(timeout_s):
                item = await self._inbox.get()
        except TimeoutError:
            return None
        if isinstance(item, BaseException):
            raise item
        return item


@dataclass(slots=True)
class _Stream:
    cursor: str = "0-0"
    watchers: list[StreamSubscription] = field(default_factory=list)


class StreamFanout:
    """Reads every subscribed stream with one XREAD on one connection (``block_ms`` per call)."""

    def __init__(self, url: str, commands: Redis, *, wake_key: str, block_ms: int = 1000) -> None:
        self._url = url
        self._commands = commands  # pooled client for the wake-ups and history reads
        self._wake_key = f"{wake_key}:{uuid.uuid4().hex[:12]}"
        self._wake_cursor = "0-0"
        self._block_ms = block_ms
        self._streams: dict[str, _Stream] = {}
        self._reader: asyncio.Task[None] | None = None
        self._conn: Redis | None = None
        self._reading: frozenset[str] = frozenset()  # the keys of the XREAD in flight
        self._waking = False
        self._subscribed = asyncio.Event()  # set when a stream joins (wakes an idle reader)

    @property
    def watched(self) -> int:
        """How many streams are read now."""
        return len(self._streams)

    @contextlib.asynccontextmanager
    async def subscribe(self, key: str) -> AsyncIterator[StreamSubscription]:
        """Watch ``key`` from its first entry until the ``async with`` ends."""
        sub = StreamSubscription(key)
        stream = self._streams.get(key)
        joined = stream is not None
        if stream is None:
            stream = self._streams[key] = _Stream()
        stream.watchers.append(sub)
        try:
            if joined:  # the shared cursor is past this stream's start: read its history once
                history: Any = await self._commands.xrange(key, "-", "+")
                for entry in history:
                    sub._offer(entry)
            self._subscribed.set()
            self._ensure_reader()
            if key not in self._reading:
                await self._wake()
            yield sub
        finally:
            stream.watchers.remove(sub)
            if not stream.watchers and self._streams.get(key) is stream:
                del self._streams[key]

    def _ensure_reader(self) -> None:
        if self._reader is None or self._reader.done():
            self._reader = asyncio.ensure_future(self._read())

    async def _wake(self) -> None:
        """Cut the XREAD in flight short, so a new stream is read at once (one wake per XREAD)."""
        if self._waking or not self._reading:
            return
        self._waking = True
        async with self._commands.pipeline(transaction=False) as pipe:
            pipe.xadd(self._wake_key, {"w": "1"}, maxlen=16, approximate=True)
            pipe.expire(self._wake_key, _WAKE_TTL_S)
            await pipe.execute()

    async def _read(self) -> None:
        conn = self._conn = Redis.from_url(self._url, socket_connect_timeout=5, single_connection_client=True)
        try:
            while True:
                if not self._streams:
                    self._subscribed.clear()
                    await self._subscribed.wait()
                    continue
                streams: dict[Any, Any] = {key: s.cursor for key, s in self._streams.items()}
                self._reading = frozenset(streams)
                self._waking = False
                streams[self._wake_key] = self._wake_cursor
                response: Any = await conn.xread(streams, block=self._block_ms, count=100)
                self._reading = frozenset()
                for raw_key, entries in response or []:
                    self._deliver(raw_key.decode() if isinstance(raw_key, bytes) else raw_key, entries)
        except Exception as exc:  # the server went away: every watcher hears it, a new one restarts us
            log.warning("job stream reader stopped: %s", type(exc).__name__)
            for stream in self._streams.values():
                for sub in stream.watchers:
                    sub._inbox.put_nowait(exc)
        finally:
            self._reading = frozenset()
            self._conn = None
            with contextlib.suppress(Exception):
                await conn.aclose()

    def _deliver(self, key: str, entries: list[Entry]) -> None:
        if key == self._wake_key:
            self._wake_cursor = entries[-1][0].decode()
            return
        stream = self._streams.get(key)
        if stream is None or not entries:
            return
        stream.cursor = entries[-1][0].decode()
        for entry in entries:
            for sub in stream.watchers:
                sub._offer(entry)

    async def aclose(self) -> None:
        """Stop the reader and drop the wake stream."""
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        with contextlib.suppress(Exception):
            await self._commands.delete(self._wake_key)
