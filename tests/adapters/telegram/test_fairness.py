"""Telegram under real traffic (issue #20): one user's burst or flood control never holds up another user,
blocked users and a second poller are handled quietly, against the local Bot API server."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import pytest

from core.domain.actions import SendText
from core.domain.events import Event, TextMessage
from tests.adapters.telegram.botapi_server import BotApiServer, member_update, text_update
from tests.adapters.telegram.conftest import RunningAdapter, ScriptedEngine

ALICE, BOB = 3001, 3002
StartAdapter = Callable[..., Awaitable[RunningAdapter]]


def _echo(event: Event) -> list[SendText]:
    return [SendText(text=f"re: {event.text}")] if isinstance(event, TextMessage) else []


async def _reply_delay(server: BotApiServer, user_id: int, text: str) -> float:
    """Seconds from ``user_id`` sending ``text`` until the bot's reply reached the server."""
    before = len(server.calls("sendMessage", chat_id=user_id))
    started = time.monotonic()
    await server.inject(text_update(user_id, text))
    await server.wait_for(
        lambda s: any(r.status == 200 for r in s.calls("sendMessage", chat_id=user_id)[before:]), timeout=30
    )
    first = next(r for r in server.calls("sendMessage", chat_id=user_id)[before:] if r.status == 200)
    return first.at - started


async def test_a_burst_of_600_from_one_user_does_not_delay_another(
    server: BotApiServer, engine: ScriptedEngine, start_adapter: StartAdapter
) -> None:
    async def work(event: Event) -> list[SendText]:
        await asyncio.sleep(0.005)  # the engine's own work on each message
        return _echo(event)

    engine.script = work
    running = await start_adapter(overall_max_rate=0, concurrent_updates=256)
    for i in range(600):
        await server.inject(text_update(ALICE, f"a{i}"))
    await server.wait_calls("sendMessage", 20, chat_id=ALICE, timeout=30)  # the burst is being handled
    delay = await _reply_delay(server, BOB, "hello")
    pending = running.adapter._chats.pending
    print(f"\nBob's reply after Alice's burst of 600: {delay * 1000:.0f} ms ({pending} of Alice's pending)")
    assert pending > 100  # Bob really came in the middle of the burst
    assert delay < 0.5
    await server.wait_calls("sendMessage", 600, chat_id=ALICE, timeout=60)
    # Alice's messages were answered in the order she sent them.
    assert [r.params["text"] for r in server.calls("sendMessage", chat_id=ALICE)] == [
        f"re: a{i}" for i in range(600)
    ]


async def test_flood_control_in_one_chat_does_not_delay_another(
    server: BotApiServer, engine: ScriptedEngine, start_adapter: StartAdapter
) -> None:
    engine.script = _echo
    server.flood_control(max_messages=3, per_s=1.0, retry_after=2)
    running = await start_adapter()
    for i in range(5):
        await server.inject(text_update(ALICE, f"a{i}"))
    await server.wait_for(lambda s: any(r.status == 429 for r in s.calls("sendMessage", chat_id=ALICE)))
    limited_at = time.monotonic()
    delay = await _reply_delay(server, BOB, "hello")
    print(f"\nBob's reply while Alice's chat waits out a 429: {delay * 1000:.0f} ms")
    assert delay < 0.5
    assert time.monotonic() - limited_at < 1.5  # Bob was answered while Alice's chat was still paused
    sent = await server.wait_calls("sendMessage", 6, chat_id=ALICE, timeout=15)
    delivered = [r.params["text"] for r in sent if r.status == 200]
    assert delivered == [f"re: a{i}" for i in range(5)]  # every reply, in order, after the wait
    first_retry = next(r for r in sent[3:] if r.status == 200)
    assert first_retry.at - limited_at >= 1.8
    assert running.adapter.application.bot.rate_limiter.pauses >= 1  # type: ignore[union-attr]


async def test_a_blocked_user_is_handled_quietly(
    server: BotApiServer,
    engine: ScriptedEngine,
    start_adapter: StartAdapter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine.script = _echo
    running = await start_adapter()
    server.block(ALICE)
    with caplog.at_level(logging.INFO):
        for text in ("hi", "are you there"):
            await server.inject(text_update(ALICE, text))
        await engine.wait_events(2)
        await server.wait_calls("sendMessage", 2, chat_id=ALICE)
        await asyncio.sleep(0.2)
    # One reply each, refused with 403: no apology, no retry, no traceback.
    assert [r.status for r in server.calls("sendMessage", chat_id=ALICE)] == [403, 403]
    assert ALICE in running.adapter.blocked
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert sum("unreachable" in r.getMessage() for r in caplog.records) == 1  # said once

    await server.inject(member_update(ALICE, "member", old_status="kicked"))
    await server.wait_for(lambda s: ALICE not in running.adapter.blocked)
    await server.inject(member_update(BOB, "kicked"))
    await server.wait_for(lambda s: BOB in running.adapter.blocked)
    assert len(engine.events) == 2  # membership changes are not messages


async def test_a_second_poller_409_is_one_clear_line_and_polling_goes_on(
    server: BotApiServer,
    engine: ScriptedEngine,
    start_adapter: StartAdapter,
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine.script = _echo
    server.conflict_polls(2)
    with caplog.at_level(logging.INFO):
        await start_adapter()
        await server.wait_for(lambda s: s.state.conflicts == 0)
        assert await _reply_delay(server, BOB, "hello") < 5
    conflicts = [r for r in caplog.records if "409 Conflict" in r.getMessage()]
    assert len(conflicts) == 2 and all(r.exc_info is None for r in conflicts)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_chat_queues_keep_order_bound_a_flood_and_drain() -> None:
    from adapters.telegram.chats import ChatQueues

    handled: list[tuple[int, int]] = []

    async def handle(item: tuple[int, int]) -> None:
        await asyncio.sleep(0)
        handled.append(item)

    queues: ChatQueues[tuple[int, int]] = ChatQueues(handle, concurrency=2, max_pending_per_chat=50)
    async with asyncio.TaskGroup() as group:
        queues.bind(group)
        accepted = [queues.submit(1, (1, i)) for i in range(80)] + [queues.submit(2, (2, 0))]
        await queues.drained()
        queues.bind(None)
    assert accepted.count(False) == 30  # the flood beyond 50 pending was dropped, the other chat was not
    assert [i for chat, i in handled if chat == 1] == list(range(50))
    assert (2, 0) in handled and queues.pending == 0


async def test_a_429_without_a_chat_pauses_everything_and_one_with_a_chat_only_that_chat() -> None:
    from telegram.error import RetryAfter

    from adapters.telegram.ratelimit import ChatRateLimiter

    limiter = ChatRateLimiter(slots=4, overall_max_rate=0, max_retries=2)
    failures = {"a": 1}

    async def call(name: str) -> dict[str, str]:
        if failures.get(name, 0) > 0:
            failures[name] -= 1
            raise RetryAfter(1)
        return {"ok": name}

    started = time.monotonic()
    flooded = asyncio.create_task(
        limiter.process_request(call, ("a",), {}, "sendMessage", {"chat_id": 1}, None)
    )
    await asyncio.sleep(0.05)
    other = await limiter.process_request(call, ("b",), {}, "sendMessage", {"chat_id": 2}, None)
    assert other == {"ok": "b"} and time.monotonic() - started < 0.5  # chat 2 was not held up
    assert limiter.paused_for(1) > 0.5 and limiter.paused_for(2) == 0
    assert await flooded == {"ok": "a"} and time.monotonic() - started >= 1.0
    failures["c"] = 1
    await limiter.process_request(call, ("c",), {}, "getMe", {}, None)  # no chat: a global pause
    assert limiter.pauses == 2
