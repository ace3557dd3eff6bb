"""The core EventRunner: per-user order, the deadline, the apology with a reference id."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator

import pytest

from core.domain.actions import Action, SendText
from core.domain.events import Event, TextMessage
from core.domain.identity import Platform, UserRef
from core.event_runner import EventRunner


class _Engine:
    def __init__(self) -> None:
        self.closed = 0

    async def handle(self, event: Event) -> AsyncIterator[Action]:
        try:
            yield SendText(text="one")
            yield SendText(text="two")
        finally:
            self.closed += 1


def _runner(deadline_s: float = 5.0) -> EventRunner:
    return EventRunner(_Engine(), deadline_s=deadline_s, name="test")


async def test_one_users_events_run_in_order_others_concurrently() -> None:
    runner = _runner()
    seen: list[str] = []
    gate = asyncio.Event()

    async def slow(name: str) -> None:
        seen.append(f"{name}+")
        await gate.wait()
        seen.append(f"{name}-")

    async def fast(name: str) -> None:
        seen.append(name)

    async def apologise(ref: str) -> None:
        raise AssertionError(ref)

    first = asyncio.create_task(runner.run("alice", lambda: slow("a1"), apologise=apologise))
    second = asyncio.create_task(runner.run("alice", lambda: fast("a2"), apologise=apologise))
    other = asyncio.create_task(runner.run("bob", lambda: fast("b1"), apologise=apologise))
    await asyncio.sleep(0.05)
    assert seen == ["a1+", "b1"]  # Bob does not wait for Alice; Alice's second waits for her first
    gate.set()
    await asyncio.gather(first, second, other)
    assert seen == ["a1+", "b1", "a1-", "a2"]
    assert len(runner.order) == 0  # locks are dropped once nobody waits


async def test_failures_and_the_deadline_end_in_an_apology_with_a_logged_ref(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runner = _runner(deadline_s=0.05)
    told: list[str] = []

    async def apologise(ref: str) -> None:
        told.append(ref)

    async def boom() -> None:
        raise RuntimeError("engine exploded")

    with caplog.at_level(logging.ERROR):
        ref = await runner.run("alice", boom, apologise=apologise)
        late = await runner.run("alice", lambda: asyncio.sleep(1), apologise=apologise)
    assert ref is not None and late is not None and told == [ref, late]
    assert all(re.fullmatch(r"[0-9a-f]{8}", r) for r in told)
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)
    # More time when asked for it (a long meeting's import).
    assert await runner.run(None, lambda: asyncio.sleep(0.1), apologise=apologise, extra_s=1.0) is None


async def test_quiet_failures_and_a_failing_apology_never_raise() -> None:
    runner = _runner()
    quiet: list[BaseException] = []

    async def refused() -> None:
        raise PermissionError("blocked")

    async def apologise(ref: str) -> None:
        raise ConnectionError("cannot even apologise")

    assert (
        await runner.run("a", refused, apologise=apologise, quiet=(PermissionError,), on_quiet=quiet.append)
        is None
    )
    assert len(quiet) == 1
    assert await runner.run("a", refused, apologise=apologise) is not None  # logged, not raised


async def test_stream_renders_each_action_and_closes_the_engine_turn() -> None:
    runner = _runner()
    engine = runner.engine
    assert isinstance(engine, _Engine)
    event = TextMessage(user=UserRef(platform=Platform.CONSOLE, platform_user_id="1"), chat_id="c", text="hi")
    shown: list[str] = []

    async def render(action: Action) -> None:
        assert isinstance(action, SendText)
        shown.append(action.text)
        raise ValueError("render failed")

    with pytest.raises(ValueError):
        await runner.stream(event, render)
    assert shown == ["one"] and engine.closed == 1
