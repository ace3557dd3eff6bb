"""The Telegram bot as ``telegram.processes`` processes, each handling the chats of one shard.

One Python process handles updates on one core (the GIL); the engine's turn and PTB's per-update work are
CPU-bound, so a busy bot needs more processes. Telegram hands a bot's updates to a single receiver (one
``getUpdates`` caller or one webhook), so this process receives them all, handles its own shard's and
writes each other update, as one line of Bot API JSON, to the process that owns its chat over a socket
pair. Each of those builds its own app (no migrations, no scheduled jobs: this process keeps those) and
serves the stream (``TelegramAdapter.run_fed``), replying to Telegram itself.

A shard process that dies takes the bot down (the supervisor, e.g. Docker's restart policy, starts it again):
restarting one shard alone would silently drop its chats' updates in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import multiprocessing
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from multiprocessing.process import BaseProcess
from typing import Any

from bot.settings import Settings
from bot.wiring import App

log = logging.getLogger(__name__)

# One update is at most a few kB of JSON; the limit only stops a runaway line.
_LINE_LIMIT = 16 * 1024 * 1024
_STOP_GRACE_S = 60.0
_READY = b"ready\n"
_START_TIMEOUT_S = 300.0
# A shard reads its socket all the time (updates queue up inside it): a full socket means its loop is stuck.
_STUCK_S = 120.0


class ShardDied(RuntimeError):
    """A shard process exited while the bot was serving."""


class StreamSink:
    """The fan-out's end of one shard's socket: JSON lines, waiting while the shard is behind."""

    def __init__(self, name: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.name = name
        self._reader = reader
        self._writer = writer

    async def wait_ready(self) -> None:
        """Wait for the shard's "ready" line (its app is built and PTB started)."""
        line = await self._reader.readline()
        if line != _READY:
            raise ShardDied(f"telegram shard {self.name} exited while starting")

    async def send(self, data: dict[str, Any]) -> None:
        """Write one update; raises ``ConnectionError`` once the shard has gone, :class:`ShardDied` when it
        has stopped reading (its loop is stuck) for ``_STUCK_S``: every chat waits behind it, so the bot
        stops and is restarted rather than hang."""
        self._writer.write(json.dumps(data, separators=(",", ":")).encode() + b"\n")
        try:
            async with asyncio.timeout(_STUCK_S):
                await self._writer.drain()
        except TimeoutError:
            raise ShardDied(f"telegram shard {self.name} stopped reading for {_STUCK_S:.0f} s") from None

    async def close(self) -> None:
        """End of stream: the shard finishes what it has and exits.

        Returns at once: the transport still delivers what it holds, then the end of stream. Waiting for
        that here would hang the shutdown on a shard that stopped reading, before its grace period.
        """
        if self._writer.is_closing():
            return
        with contextlib.suppress(ConnectionError, OSError):
            self._writer.write_eof()
        self._writer.close()


async def stream_feed(reader: asyncio.StreamReader) -> AsyncIterator[dict[str, Any]]:
    """The shard's end: one update per line until the fan-out closes the stream."""
    while line := await reader.readline():
        if not line.endswith(b"\n"):
            log.warning("telegram: the fan-out's stream ended inside a line (was it killed?)")
            return
        yield json.loads(line)


async def run_telegram_shards(
    app: App, settings: Settings, processes: int, *, overrides: Mapping[str, Any] | None = None
) -> None:
    """Serve shard 0 here and the other shards in ``processes - 1`` child processes, until cancelled or
    a shard dies. ``overrides``: adapter settings (``TelegramAdapterConfig`` fields) for tests and benches.
    """
    from adapters.telegram.adapter import TelegramAdapter
    from bot.runner import telegram_adapter_config

    context = multiprocessing.get_context("spawn")
    children: list[BaseProcess] = []
    sinks: list[StreamSink] = []
    extra = dict(overrides or {})
    try:
        for index in range(1, processes):
            ours, theirs = socket.socketpair()
            child = context.Process(
                target=shard_main,
                args=(settings, index, processes, theirs, extra),
                name=f"vos-telegram-{index}",
            )
            child.start()
            theirs.close()
            children.append(child)
            reader, writer = await asyncio.open_unix_connection(sock=ours, limit=_LINE_LIMIT)
            sinks.append(StreamSink(child.name, reader, writer))
        config = _shard_config(telegram_adapter_config(settings, app), processes, extra)
        receiver = TelegramAdapter(config, app.engine, peers=[None, *sinks])
        # Receive only once every shard can handle what it is given.
        async with asyncio.timeout(_START_TIMEOUT_S):
            await asyncio.gather(*(sink.wait_ready() for sink in sinks))
        log.info("telegram: %d shard processes ready", processes)
        async with asyncio.TaskGroup() as tg:
            serving = tg.create_task(receiver.run())
            for shard in children:
                tg.create_task(_watch(shard, serving))
    finally:
        for sink in sinks:
            await sink.close()
        await asyncio.to_thread(_join_all, children, _STOP_GRACE_S)


def _shard_config(config: Any, processes: int, overrides: Mapping[str, Any]) -> Any:
    """Telegram's overall send limit is per bot: each shard gets its share."""
    overall = config.overall_max_rate / processes if config.overall_max_rate else 0
    return dataclasses.replace(config, **{"overall_max_rate": overall, **overrides})


async def _watch(child: BaseProcess, serving: asyncio.Task[None]) -> None:
    """Raise :class:`ShardDied` if ``child`` exits while the fan-out is still serving."""
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()

    def on_exit() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(child.sentinel, on_exit)
    try:
        await asyncio.wait({exited, serving}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        loop.remove_reader(child.sentinel)
    if exited.done() and not serving.done():
        raise ShardDied(f"telegram shard {child.name} exited with code {child.exitcode}")


def _join_all(children: list[BaseProcess], grace_s: float) -> None:
    for child in children:
        child.join(grace_s)
        if child.is_alive():
            log.warning("telegram: shard %s did not stop in %.0f s; terminating it", child.name, grace_s)
            child.terminate()
            child.join(5)


def shard_main(
    settings: Settings, index: int, processes: int, sock: socket.socket, overrides: dict[str, Any]
) -> None:
    """A shard process: its own app over the shared database, serving the updates of its chats."""
    from adapters.telegram.logs import TokenRedactingFilter
    from bot.cli_common import setup_logging

    # Ctrl-C reaches the whole process group: the fan-out decides when shards stop (end of stream).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup_logging(settings)
    try:
        asyncio.run(_serve_shard(settings, index, processes, sock, overrides))
    except Exception:
        # multiprocessing would print the traceback as it is, and PTB words some errors with the token
        # in them (InvalidToken): log it through a filter that takes the token out instead.
        assert settings.telegram.token is not None
        log.addFilter(TokenRedactingFilter(settings.telegram.token.get_secret_value()))
        log.exception("telegram: shard %d/%d failed", index + 1, processes)
        sys.exit(1)


async def _serve_shard(
    settings: Settings, index: int, processes: int, sock: socket.socket, overrides: dict[str, Any]
) -> None:
    from adapters.telegram.adapter import TelegramAdapter
    from bot.runner import telegram_adapter_config
    from bot.wiring import running_app

    reader, writer = await asyncio.open_unix_connection(sock=sock, limit=_LINE_LIMIT)
    config = _shard_config(telegram_adapter_config(settings), processes, overrides)
    async with running_app(settings, migrate=False) as app:
        adapter = TelegramAdapter(config, app.engine)
        async with asyncio.TaskGroup() as tg:
            serving = tg.create_task(adapter.run_fed(stream_feed(reader)))
            await adapter.ready.wait()
            writer.write(_READY)
            await writer.drain()
            log.info("telegram: shard %d/%d serving", index + 1, processes)
            await serving
    writer.close()
