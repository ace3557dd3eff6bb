"""One reader for many job streams: hundreds of watchers on a pool of four connections, every entry once."""

from __future__ import annotations

import asyncio

from core.jobs.redis_queue import RedisQueueOptions, command_client
from core.jobs.redis_watch import StreamFanout


async def _collect(
    fanout: StreamFanout, key: str, want: int, ready: asyncio.Event | None = None
) -> list[bytes]:
    got: list[bytes] = []
    async with fanout.subscribe(key) as sub:
        if ready is not None:
            ready.set()
        while len(got) < want:
            entry = await sub.next(10)
            assert entry is not None, f"{key}: silent after {got}"
            got.append(entry[1][b"n"])
    return got


async def test_three_hundred_watchers_share_one_reader_on_a_small_pool(
    redis_url: str, namespace: str
) -> None:
    options = RedisQueueOptions(url=redis_url, namespace=namespace, block_ms=500, max_connections=4)
    client = command_client(options)
    fanout = StreamFanout(redis_url, client, wake_key=f"{namespace}:watch", block_ms=500)
    keys = [f"{namespace}:job:{i}:events" for i in range(300)]
    await client.xadd(keys[0], {"n": "early"})  # written before anyone watched: still seen
    try:
        readies = [asyncio.Event() for _ in keys]
        watchers = [
            asyncio.ensure_future(_collect(fanout, key, 3 if i else 4, readies[i]))
            for i, key in enumerate(keys)
        ]
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 30)
        assert fanout.watched == 300
        # A second watcher of a stream the reader is already past gets its history first.
        late = asyncio.ensure_future(_collect(fanout, keys[0], 4))
        for n in range(3):
            for key in keys:
                await client.xadd(key, {"n": str(n)})
        results = await asyncio.wait_for(asyncio.gather(*watchers, late), 60)
    finally:
        await fanout.aclose()
        await client.aclose()
    assert results[0] == [b"early", b"0", b"1", b"2"]
    assert results[-1] == [b"early", b"0", b"1", b"2"]
    assert all(r == [b"0", b"1", b"2"] for r in results[1:-1])
    assert fanout.watched == 0


async def test_a_stream_added_while_the_reader_blocks_is_read_at_once(redis_url: str, namespace: str) -> None:
    options = RedisQueueOptions(url=redis_url, namespace=namespace)
    client = command_client(options)
    fanout = StreamFanout(redis_url, client, wake_key=f"{namespace}:watch", block_ms=5000)
    try:
        quiet = asyncio.ensure_future(_collect(fanout, f"{namespace}:quiet", 1))
        await asyncio.sleep(0.3)  # the reader now blocks for up to 5 s on the quiet stream
        ready = asyncio.Event()
        busy = asyncio.ensure_future(_collect(fanout, f"{namespace}:busy", 1, ready))
        await ready.wait()
        loop = asyncio.get_running_loop()
        started = loop.time()
        await client.xadd(f"{namespace}:busy", {"n": "x"})
        assert await asyncio.wait_for(busy, 10) == [b"x"]
        assert loop.time() - started < 2.0  # woken, not after the 5 s block
        await client.xadd(f"{namespace}:quiet", {"n": "y"})
        assert await asyncio.wait_for(quiet, 10) == [b"y"]
    finally:
        await fanout.aclose()
        await client.aclose()
