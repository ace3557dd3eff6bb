"""Fixtures: a local Bot API server, a scripted fake engine and a running TelegramAdapter against them."""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.support.extras import need

need("telegram")
need("aiohttp")

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.config import TelegramAdapterConfig
from core.domain.actions import Action
from core.domain.events import Event
from tests.adapters.telegram.botapi_server import TOKEN, BotApiServer
from tests.support.app import declared_router


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """PTB's own rate limiter reads ``RetryAfter.retry_after``, which warns in PTB 22 (not our code)."""
    for item in items:
        if "adapters/telegram" in str(item.path):
            item.add_marker(
                pytest.mark.filterwarnings(
                    "ignore:.*attribute `retry_after`.*:telegram.warnings.PTBDeprecationWarning"
                )
            )


Script = Callable[[Event], Iterable[Action] | AsyncIterator[Action] | Awaitable[Iterable[Action]]]


class ScriptedEngine:
    """A fake engine: ``script(event)`` returns (or async-yields) the actions; every event is recorded."""

    def __init__(self, script: Script | None = None) -> None:
        self.script: Script = script or (lambda event: ())
        self.events: list[Event] = []
        self.received = asyncio.Event()

    async def handle(self, event: Event) -> AsyncIterator[Action]:
        self.events.append(event)
        self.received.set()
        produced = self.script(event)
        if inspect.isawaitable(produced):
            produced = await produced
        if isinstance(produced, AsyncIterator):
            async for action in produced:
                yield action
        else:
            for action in produced:
                yield action

    async def wait_events(self, count: int = 1, timeout: float = 5.0) -> list[Event]:
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                self.received.clear()
                await self.received.wait()
        return self.events


@pytest.fixture
async def server() -> AsyncIterator[BotApiServer]:
    async with BotApiServer() as srv:
        yield srv


@pytest.fixture
def engine() -> ScriptedEngine:
    return ScriptedEngine()


def make_config(server: BotApiServer, tmp_path: Path, **overrides: Any) -> TelegramAdapterConfig:
    base = TelegramAdapterConfig(
        token=TOKEN,
        base_url=server.base_url,
        base_file_url=server.base_file_url,
        download_dir=tmp_path / "downloads",
        poll_timeout_s=2,
        max_typing_pause_s=0.2,
        progress_edit_interval_s=0.2,
        max_retries=3,
        menu=declared_router().menu(),
    )
    return dataclasses.replace(base, **overrides)


class RunningAdapter:
    """An adapter serving in a background task of the test's loop."""

    def __init__(self, adapter: TelegramAdapter) -> None:
        self.adapter = adapter
        self.task: asyncio.Task[None] | None = None

    async def start(self, runner: Coroutine[Any, Any, None] | None = None) -> RunningAdapter:
        """Run ``runner`` (default: ``adapter.run()``) until the adapter is ready."""
        self.task = asyncio.create_task(runner if runner is not None else self.adapter.run())
        ready = asyncio.create_task(self.adapter.ready.wait())
        done, _ = await asyncio.wait({self.task, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if self.task in done:
            ready.cancel()
            self.task.result()
        assert ready in done, "adapter did not become ready"
        return self

    async def stop(self) -> None:
        self.adapter.stop()
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout=15)


@pytest.fixture
async def start_adapter(
    server: BotApiServer, engine: ScriptedEngine, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[RunningAdapter]]]:
    running: list[RunningAdapter] = []

    async def _start(**overrides: Any) -> RunningAdapter:
        target_engine = overrides.pop("engine", engine)
        adapter = TelegramAdapter(make_config(server, tmp_path, **overrides), target_engine)
        handle = await RunningAdapter(adapter).start()
        running.append(handle)
        return handle

    yield _start
    for handle in running:
        if handle.task is not None and not handle.task.done():
            await handle.stop()


def write_opus(path: Path, seconds: float = 0.5) -> Path:
    """A real OGG/Opus mono voice note (a sine tone) written with PyAV."""
    import av

    rate = 48000
    t = np.arange(int(rate * seconds), dtype=np.float32) / rate
    samples = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    with av.open(str(path), "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=rate, layout="mono")
        frame_size = 960
        for start in range(0, samples.size, frame_size):
            chunk = samples[start : start + frame_size]
            if chunk.size < frame_size:
                chunk = np.pad(chunk, (0, frame_size - chunk.size))
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
