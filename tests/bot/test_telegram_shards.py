"""The Telegram bot as a fan-out process and real shard processes over one SQLite database."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.extras import need

need("telegram")
need("aiohttp")

from bot.runner import telegram_runner
from bot.settings import Settings
from bot.telegram_shards import ShardDied, StreamSink, run_telegram_shards, stream_feed
from bot.wiring import running_app
from tests.adapters.telegram.botapi_server import TOKEN, BotApiServer, text_update
from tests.support.app import declared_router, make_settings

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # each shard is a fresh interpreter importing the whole app


def _settings(tmp_path: Path, server: BotApiServer, processes: int) -> Settings:
    return make_settings(
        tmp_path, telegram={"token": TOKEN, "base_url": server.base_url, "processes": processes}
    )


def _overrides(server: BotApiServer) -> dict[str, Any]:
    return {"base_file_url": server.base_file_url, "poll_timeout_s": 1, "max_typing_pause_s": 0}


async def _shard_processes(count: int, timeout: float = 60) -> list[multiprocessing.process.BaseProcess]:
    async with asyncio.timeout(timeout):
        while len(children := multiprocessing.active_children()) < count:
            await asyncio.sleep(0.05)
    return children


async def _serve_and_stop(server: BotApiServer, task: asyncio.Task[None]) -> None:
    """Six chats over three shards: every one answered, each shard on its own connections."""
    await server.wait_calls("getUpdates", 1, timeout=60)
    users = range(6001, 6007)
    for user in users:
        await server.inject(text_update(user, "/start"))
    peers: dict[int, set[Any]] = {}
    for user in users:
        replies = await server.wait_calls("sendMessage", chat_id=user, timeout=60)
        assert replies[0].status == 200
        peers[user] = {r.peer for r in replies}
    # Chats of one shard share its connections; other shards' chats use other connections.
    by_shard = [set().union(*(peers[u] for u in users if u % 3 == shard)) for shard in range(3)]
    assert all(not (a & b) for i, a in enumerate(by_shard) for b in by_shard[i + 1 :])
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_three_processes_answer_every_chat_and_stop_cleanly(tmp_path: Path) -> None:
    async with BotApiServer() as server:
        settings = _settings(tmp_path, server, processes=3)
        async with running_app(settings) as app:
            task = asyncio.create_task(run_telegram_shards(app, settings, 3, overrides=_overrides(server)))
            await _shard_processes(2)
            await _serve_and_stop(server, task)
    assert multiprocessing.active_children() == []


async def test_a_dead_shard_stops_the_bot(tmp_path: Path) -> None:
    async with BotApiServer() as server:
        settings = _settings(tmp_path, server, processes=3)
        async with running_app(settings) as app:
            task = asyncio.create_task(run_telegram_shards(app, settings, 3, overrides=_overrides(server)))
            victim, *_ = await _shard_processes(2)
            await server.wait_calls("getUpdates", 1, timeout=60)
            assert victim.pid is not None
            os.kill(victim.pid, signal.SIGKILL)
            with pytest.raises(ExceptionGroup) as raised:
                await asyncio.wait_for(task, 60)
            assert raised.group_contains(ShardDied)
    assert multiprocessing.active_children() == []


def test_one_process_runs_the_adapter_itself(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, telegram={"token": TOKEN, "processes": 1})
    sharded = make_settings(tmp_path, telegram={"token": TOKEN, "processes": 3})

    class _Engine:
        router = declared_router()

    class _App:
        engine = _Engine()

    single = telegram_runner(_App(), settings)  # type: ignore[arg-type]
    several = telegram_runner(_App(), sharded)  # type: ignore[arg-type]
    try:
        assert single.__qualname__ == "TelegramAdapter.run"
        assert several.__qualname__ == "run_telegram_shards"
    finally:
        single.close()
        several.close()


def _children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


async def _vos_run(tmp_path: Path, server: BotApiServer) -> asyncio.subprocess.Process:
    """``vos run`` with two Telegram processes, on this checkout's code."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "VOS_DATA_DIR": str(tmp_path / "data"),
        "VOS_TELEGRAM__TOKEN": TOKEN,
        "VOS_TELEGRAM__BASE_URL": server.base_url,
        "VOS_TELEGRAM__PROCESSES": "2",
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_vos_run_exits_with_a_clear_line_when_a_shard_dies(tmp_path: Path) -> None:
    async with BotApiServer() as server:
        bot = await _vos_run(tmp_path, server)
        try:
            await server.wait_calls("getUpdates", 1, timeout=90)
            await server.inject(text_update(7001, "/start"))
            await server.wait_calls("sendMessage", chat_id=7001, timeout=60)  # shard 1 answers
            (shard,) = [
                pid
                for pid in _children_of(bot.pid)
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            os.kill(shard, signal.SIGKILL)
            _, stderr = await asyncio.wait_for(bot.communicate(), 60)
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
    assert bot.returncode == 1
    assert "telegram shard vos-telegram-1 exited" in stderr.decode()
    assert TOKEN.partition(":")[2] not in stderr.decode()


async def _fill(sink: StreamSink, update: dict[str, Any]) -> None:
    """Send until the socket and the transport are full and the shard pushes back."""
    while True:
        try:
            await asyncio.wait_for(sink.send(update), 0.5)
        except TimeoutError:
            return


async def test_closing_the_stream_of_a_shard_that_stopped_reading_does_not_hang() -> None:
    """A stuck shard must not hang the fan-out's shutdown: its grace period and SIGTERM come after."""
    ours, theirs = socket.socketpair()
    reader, writer = await asyncio.open_unix_connection(sock=ours)
    sink = StreamSink("vos-telegram-1", reader, writer)
    update = {"update_id": 1, "text": "x" * 65536}
    with theirs:  # the shard's end: never read
        await _fill(sink, update)
        await asyncio.wait_for(sink.close(), 2)
        assert writer.is_closing()
    with contextlib.suppress(ConnectionError):
        await asyncio.wait_for(writer.wait_closed(), 5)


async def test_a_shard_that_cannot_start_says_why_without_the_token(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    async with BotApiServer(token="42:another-bots-token") as server:  # so TOKEN is rejected
        settings = _settings(tmp_path, server, processes=2)
        async with running_app(settings) as app:
            with pytest.raises(ShardDied, match="exited while starting"):
                await run_telegram_shards(app, settings, 2, overrides=_overrides(server))
    err = capfd.readouterr().err
    assert "InvalidToken" in err  # the shard's own account of its death...
    assert TOKEN.partition(":")[2] not in err  # ...which PTB words with the token in it
    assert multiprocessing.active_children() == []


async def test_sigterm_stops_vos_run_gracefully(tmp_path: Path) -> None:
    """``docker stop`` sends SIGTERM (to PID 1, which has no default action for it): stop as on Ctrl-C."""
    async with BotApiServer() as server:
        bot = await _vos_run(tmp_path, server)
        try:
            await server.wait_calls("getUpdates", 1, timeout=90)
            await server.inject(text_update(7001, "/start"))
            await server.wait_calls("sendMessage", chat_id=7001, timeout=60)
            (shard,) = [
                pid
                for pid in _children_of(bot.pid)
                if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
            ]
            bot.send_signal(signal.SIGTERM)
            _, stderr = await asyncio.wait_for(bot.communicate(), 60)
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
    assert bot.returncode == 0, stderr.decode()[-2000:]
    assert "telegram: stopped" in stderr.decode()  # the receiver's graceful stop ran
    assert "telegram: shard stopped" in stderr.decode()
    assert not Path(f"/proc/{shard}").exists()


async def test_a_line_cut_short_by_the_fan_outs_death_is_dropped() -> None:
    """A killed fan-out can leave half a line in the socket: the shard finishes the rest calmly."""
    reader = asyncio.StreamReader()
    reader.feed_data(b'{"update_id":1}\n{"update_id":2,"mess')
    reader.feed_eof()
    assert [data async for data in stream_feed(reader)] == [{"update_id": 1}]


async def test_a_shard_that_stops_reading_is_declared_dead(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot import telegram_shards

    monkeypatch.setattr(telegram_shards, "_STUCK_S", 0.2)
    ours, theirs = socket.socketpair()
    with ours, theirs:  # nobody reads ``theirs``: the socket buffer fills up
        reader, writer = await asyncio.open_unix_connection(sock=ours)
        sink = telegram_shards.StreamSink("vos-telegram-9", reader, writer)

        async def flood() -> None:
            for i in range(100_000):
                await sink.send({"update_id": i, "padding": "x" * 1000})

        with pytest.raises(ShardDied, match="stopped reading"):
            await flood()
        writer.transport.abort()
