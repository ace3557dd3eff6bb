"""Several processes behind one bot: the first receives and keeps its shard, the others are fed updates.

Everything runs in the test's loop here (the sinks and feeds are queues); tests/bot/test_telegram_shards.py
runs real shard processes.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Update

from adapters.telegram.adapter import TelegramAdapter, shard_of
from core.domain.actions import SendText
from core.domain.events import Event, TextMessage
from tests.adapters.telegram.botapi_server import BotApiServer, callback_update, text_update
from tests.adapters.telegram.conftest import RunningAdapter, ScriptedEngine, make_config
from tests.support.extras import need


class QueueSink:
    """A shard's inbox as the fan-out sees it."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.received: list[dict[str, Any]] = []

    async def send(self, data: dict[str, Any]) -> None:
        self.received.append(data)
        await self.queue.put(data)

    async def feed(self) -> AsyncIterator[dict[str, Any]]:
        while (item := await self.queue.get()) is not None:
            yield item

    def close(self) -> None:
        self.queue.put_nowait(None)


def _chat_of(data: dict[str, Any]) -> int:
    message = data.get("message") or data["callback_query"]["message"]
    return int(message["chat"]["id"])


def test_shard_of_keeps_a_chat_in_one_shard() -> None:
    updates = [
        Update.de_json({"update_id": i, **text_update(user, "hi")}, None)
        for i, user in enumerate((1001, 1002, 1003, 1001, 1002))
    ]
    shards = [shard_of(u, 2) for u in updates]
    assert shards == [1, 0, 1, 1, 0]
    query = Update.de_json({"update_id": 9, **callback_update(1003, "x")}, None)
    assert shard_of(query, 2) == 1  # a button press goes where the chat's messages go
    assert shard_of(updates[0], 1) == 0


def _replying(index: int) -> ScriptedEngine:
    engine = ScriptedEngine()

    def reply(event: Event) -> list[SendText]:
        assert isinstance(event, TextMessage)
        return [SendText(text=f"shard {index}: {event.text}")]

    engine.script = reply
    return engine


async def test_the_receiver_keeps_its_shard_and_hands_over_the_others_in_order(
    server: BotApiServer, tmp_path: Path
) -> None:
    peer = QueueSink()
    engine = _replying(0)
    receiver = TelegramAdapter(make_config(server, tmp_path), engine, peers=[None, peer])
    running = await RunningAdapter(receiver).start()
    for i in range(5):
        for user in (1001, 1002, 1003):
            await server.inject(text_update(user, f"m{i}"))
    await server.wait_calls("sendMessage", 5, chat_id=1002)
    await server.wait_for(lambda s: len(peer.received) == 10, timeout=10)
    await running.stop()

    # Odd chats are the peer's, in the order they were sent; even ones were answered here.
    assert {_chat_of(d) for d in peer.received} == {1001, 1003}
    for user in (1001, 1003):
        assert [d["message"]["text"] for d in peer.received if _chat_of(d) == user] == [
            f"m{i}" for i in range(5)
        ]
    assert [r.params["text"] for r in server.calls("sendMessage", chat_id=1002)] == [
        f"shard 0: m{i}" for i in range(5)
    ]
    assert {e.chat_id for e in engine.events} == {"1002"}
    assert not server.calls("sendMessage", chat_id=1001)


def test_exactly_one_shard_is_the_receivers_own(server: BotApiServer, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        TelegramAdapter(make_config(server, tmp_path), ScriptedEngine(), peers=[QueueSink(), QueueSink()])


async def test_every_shard_replies_from_its_own_process(server: BotApiServer, tmp_path: Path) -> None:
    sinks = [QueueSink(), QueueSink()]
    engines = [_replying(i) for i in range(3)]
    shards = [TelegramAdapter(make_config(server, tmp_path / str(i)), engines[i]) for i in (1, 2)]
    fed = [asyncio.create_task(shard.run_fed(sink.feed())) for shard, sink in zip(shards, sinks, strict=True)]
    receiver = TelegramAdapter(make_config(server, tmp_path), engines[0], peers=[None, *sinks])
    receiving = await RunningAdapter(receiver).start()

    users = (2001, 2002, 2003, 2004, 2005, 2006)
    for user in users:
        await server.inject(text_update(user, "안녕"))
    for user in users:
        (sent,) = await server.wait_calls("sendMessage", chat_id=user)
        assert sent.params["text"] == f"shard {user % 3}: 안녕"

    await receiving.stop()
    for sink in sinks:
        sink.close()  # end of stream: shards finish and return
    await asyncio.wait_for(asyncio.gather(*fed), 10)
    assert [len(e.events) for e in engines] == [2, 2, 2]


async def test_a_shard_finishes_replies_in_flight_when_its_feed_ends(
    server: BotApiServer, tmp_path: Path
) -> None:
    engine = ScriptedEngine()

    async def slow(event: Event) -> list[SendText]:
        await asyncio.sleep(0.3)
        return [SendText(text="늦었지만 왔어")]

    engine.script = slow
    sink = QueueSink()
    shard = TelegramAdapter(make_config(server, tmp_path), engine)
    task = asyncio.create_task(shard.run_fed(sink.feed()))
    await asyncio.wait_for(shard.ready.wait(), 10)
    await sink.send({"update_id": 1, **text_update(3001, "거기 있어?")})
    sink.close()
    await asyncio.wait_for(task, 10)
    (sent,) = server.calls("sendMessage", chat_id=3001)
    assert sent.params["text"] == "늦었지만 왔어"


async def test_the_receiver_in_webhook_mode_checks_the_secret_and_routes(
    server: BotApiServer, tmp_path: Path
) -> None:
    need("tornado")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    peer = QueueSink()
    config = make_config(
        server,
        tmp_path,
        mode="webhook",
        webhook_url="https://vos.example/telegram",
        webhook_port=port,
        webhook_secret_token="s3cret",
    )
    engine = _replying(0)
    receiver = TelegramAdapter(config, engine, peers=[None, peer])
    receiving = await RunningAdapter(receiver).start()
    url = f"http://127.0.0.1:{port}/telegram"
    async with httpx.AsyncClient() as client:
        forged = await client.post(url, json={"update_id": 1, **text_update(4001, "x")})
        assert forged.status_code == 403
        for update_id, user in enumerate((4001, 4002), start=2):
            body = {"update_id": update_id, **text_update(user, "웹훅")}
            sent = await client.post(url, json=body, headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret"})
            assert sent.status_code == 200
    await server.wait_calls("sendMessage", chat_id=4002)
    await receiving.stop()
    assert [_chat_of(d) for d in peer.received] == [4001]
    assert [e.chat_id for e in engine.events] == ["4002"]


class StuckSink:
    """A shard that took its first update and then stopped reading: ``send`` waits for good."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def send(self, data: dict[str, Any]) -> None:
        self.received.append(data)
        await asyncio.Event().wait()


async def test_a_stop_while_a_shard_is_behind_confirms_what_was_handed_over(
    server: BotApiServer, tmp_path: Path
) -> None:
    stuck = StuckSink()
    engine = _replying(0)
    receiver = TelegramAdapter(make_config(server, tmp_path), engine, peers=[None, stuck])
    running = await RunningAdapter(receiver).start()
    # One batch: this shard's, the stuck shard's, then this shard's again.
    await server.inject(text_update(1002, "first"))
    await server.inject(text_update(1001, "second"))
    third = await server.inject(text_update(1004, "third"))
    await server.wait_calls("sendMessage", chat_id=1002)
    await server.wait_for(lambda s: len(stuck.received) == 1)
    await running.stop()

    # "first" was answered and "second" handed over: a restart must not fetch (and answer) them again.
    # "third" was never taken, so it stays with Telegram.
    assert [u["update_id"] for u in server.state.updates] == [third]
    assert not server.calls("sendMessage", chat_id=1004)


class GoneSink:
    """A shard whose process has gone: every hand-over fails."""

    async def send(self, data: dict[str, Any]) -> None:
        raise ConnectionResetError("shard gone")


async def test_a_failed_hand_over_stops_the_receiver_and_is_sent_again_later(
    server: BotApiServer, tmp_path: Path
) -> None:
    engine = _replying(0)
    receiver = TelegramAdapter(make_config(server, tmp_path), engine, peers=[None, GoneSink()])
    task = asyncio.create_task(receiver.run())
    await asyncio.wait_for(receiver.ready.wait(), 10)
    await server.inject(text_update(8002, "mine"))
    await server.wait_calls("sendMessage", chat_id=8002)
    failed_id = await server.inject(text_update(8001, "the other shard's"))
    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(task, 10)
    # Not confirmed: a restarted bot gets this update again instead of losing it.
    assert [u["update_id"] for u in server.state.updates] == [failed_id]
