"""Telegram adapter throughput: N concurrent chats talking to the bot through the local Bot API server.

Each simulated user sends a message, waits for the bot's reply, then sends the next (a closed loop), so
the figures are updates handled per second and the reply latency a user would feel (update queued at the
server → reply received by the server). PTB's real stack runs: long polling, the update queue,
concurrent handlers, the rate limiter (its 30 msg/s cap disabled: the local server has no flood limits)
and real HTTP on 127.0.0.1.

    python bench/telegram_throughput.py --chats 50 --messages 20

``--engine echo`` (default) measures the adapter alone; ``--engine offline`` runs the real engine with the
offline reply engine on SQLite, every simulated user talking to the demo star. ``--processes N`` runs the bot
as N processes (``VOS_TELEGRAM__PROCESSES``): this one receives and serves its shard of the chats, the
others get theirs over a socket. Errors are non-200 Bot API answers and apologies sent to a user.

Target (issue #8): >= 500 updates/s on 2 cores with the offline engine and no errors:

    python bench/telegram_throughput.py --engine offline --chats 50 --messages 100 --processes 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.config import TelegramAdapterConfig
from core.domain.actions import Action, SendText
from core.domain.events import Event, TextMessage
from core.domain.identity import Locale
from core.i18n import t
from tests.adapters.telegram.botapi_server import TOKEN, BotApiServer, RecordedRequest, text_update


class EchoEngine:
    """A trivial engine: one bubble back per text message."""

    async def handle(self, event: Event) -> AsyncIterator[Action]:
        if isinstance(event, TextMessage):
            yield SendText(text=f"re:{event.text}")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# CPU the bot process spent serving (from the adapter's start to the last reply): no set-up (the offline
# engine imports a demo star per user first, about 2 s of CPU for 50 users).
_SERVING_CPU: list[float] = []
_FANOUT_CPU: list[float] = []  # the receiving process (shard 0) when there are several processes


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def drive_users(
    server: BotApiServer, chats: int, messages: int, on_start: Callable[[], object] = lambda: None
) -> dict[str, Any]:
    """Simulated users: each sends a message, waits for the reply, sends the next."""
    replies: dict[int, asyncio.Queue[float]] = {chat: asyncio.Queue() for chat in range(1, chats + 1)}
    errors: list[RecordedRequest] = []
    calls: Counter[str] = Counter()
    # An apology is a reply too, but a failed update: count it as an error.
    apologies = tuple(t(Locale.KO, key, ref="").split("(")[0] for key in ("common.error", "telegram.apology"))

    def on_request(record: RecordedRequest) -> None:
        calls[record.method] += 1
        if record.status != 200 or str(record.params.get("text", "")).startswith(apologies):
            errors.append(record)
        elif record.method == "sendMessage" and record.chat_id in replies:
            replies[record.chat_id].put_nowait(record.at)

    server.on_request = on_request
    latencies: list[float] = []

    async def user(chat: int) -> None:
        for i in range(messages):
            sent = time.monotonic()
            await server.inject(text_update(chat, f"m{i}"))
            received = await asyncio.wait_for(replies[chat].get(), timeout=60)
            latencies.append(received - sent)

    await server.wait_calls("getUpdates", 1, timeout=120)  # the adapter is polling
    on_start()
    start = time.monotonic()
    async with asyncio.TaskGroup() as users:
        for chat in replies:
            users.create_task(user(chat))
    elapsed = time.monotonic() - start
    total = chats * messages
    return {
        "chats": chats,
        "updates": total,
        "seconds": elapsed,
        "updates_per_s": total / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": _percentile(latencies, 0.95) * 1000,
        "max_ms": max(latencies) * 1000,
        "errors": len(errors),
        "calls": ", ".join(f"{method} {count / total:.2f}" for method, count in calls.most_common()),
    }


def _bench_settings(data_dir: Path, **overrides: Any) -> Any:
    from bot.settings import load_settings

    return load_settings(
        env_file=None,
        data_dir=data_dir,
        limits={"messages_per_minute": 1_000_000, "jobs_per_hour": 1_000_000},
        **overrides,
    )


@asynccontextmanager
async def offline_app(settings: Any, chats: int) -> AsyncIterator[Any]:
    """The real app with the offline reply engine; every simulated user already has the demo star."""
    from bot.runner import ensure_demo_star
    from bot.wiring import running_app
    from core.domain.identity import Locale, Platform, UserRef

    async with running_app(settings, use_settings_model=False) as app:
        for chat in range(1, chats + 1):
            user = await app.users.get_or_create(
                UserRef(platform=Platform.TELEGRAM, platform_user_id=str(chat)),
                display_name="u",
                locale=Locale.KO,
            )
            await ensure_demo_star(app, user)
        yield app


def _adapter_overrides(file_url: str, chats: int, poll_timeout: int, pool: int, tmp: Path) -> dict[str, Any]:
    """The bench's adapter settings: no typing pauses, no flood limit (the local server has none)."""
    return {
        "base_file_url": file_url,
        "download_dir": tmp / "downloads",
        "max_typing_pause_s": 0,
        "poll_timeout_s": poll_timeout,
        "overall_max_rate": 0,
        "concurrent_updates": max(chats, 8),
        "connection_pool_size": pool,
    }


def _process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of another process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def serve_adapter(
    base_url: str,
    file_url: str,
    chats: int,
    poll_timeout: int,
    pool: int,
    started: asyncio.Event,
    done: asyncio.Event,
    engine_name: str = "echo",
    processes: int = 1,
    options: dict[str, Any] | None = None,
) -> None:
    """The bot side: the real adapter with the echo or the offline engine until ``done``."""
    with tempfile.TemporaryDirectory() as tmp:
        overrides = _adapter_overrides(file_url, chats, poll_timeout, pool, Path(tmp)) | (options or {})
        if processes > 1:
            await _serve_shards(base_url, overrides, chats, processes, started, done, Path(tmp) / "data")
        elif engine_name == "offline":
            async with offline_app(_bench_settings(Path(tmp) / "data"), chats) as app:
                await _serve(app.engine, base_url, overrides, started, done)
        else:
            await _serve(EchoEngine(), base_url, overrides, started, done)


async def _serve(
    engine: object, base_url: str, overrides: dict[str, Any], started: asyncio.Event, done: asyncio.Event
) -> None:
    config = TelegramAdapterConfig(token=TOKEN, base_url=base_url, **overrides)
    adapter = TelegramAdapter(config, engine)  # type: ignore[arg-type]
    async with asyncio.TaskGroup() as tg:
        tg.create_task(adapter.run())
        await started.wait()
        start = _cpu_s()
        await done.wait()
        _SERVING_CPU.append(_cpu_s() - start)
        adapter.stop()


async def _serve_shards(
    base_url: str,
    overrides: dict[str, Any],
    chats: int,
    processes: int,
    started: asyncio.Event,
    done: asyncio.Event,
    data_dir: Path,
) -> None:
    """Shard 0 (receiving) in this process and the other shards in their own, on the offline engine."""

    settings = _bench_settings(
        data_dir, telegram={"token": TOKEN, "base_url": base_url, "processes": processes}
    )
    async with offline_app(settings, chats) as app:
        await _serve_sharded(app, settings, overrides, processes, started, done)


async def _serve_sharded(
    app: Any,
    settings: Any,
    overrides: dict[str, Any],
    processes: int,
    started: asyncio.Event,
    done: asyncio.Event,
) -> None:
    from bot.telegram_shards import run_telegram_shards

    serving = asyncio.create_task(run_telegram_shards(app, settings, processes, overrides=overrides))
    try:
        await started.wait()  # the shards are ready: the fan-out polls only then
        shards = [p.pid for p in multiprocessing.active_children() if p.name.startswith("vos-telegram")]
        start_fanout, start_shards = _cpu_s(), sum(_process_cpu_s(pid) for pid in shards if pid)
        await done.wait()
        _FANOUT_CPU.append(_cpu_s() - start_fanout)
        _SERVING_CPU.append(
            _FANOUT_CPU[-1] + sum(_process_cpu_s(pid) for pid in shards if pid) - start_shards
        )
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving


async def run_in_process(
    chats: int, messages: int, poll_timeout: int, pool: int, options: dict[str, Any]
) -> dict[str, Any]:
    """Server, users and adapter share one process (and one event loop)."""
    async with BotApiServer() as server:
        started, done = asyncio.Event(), asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            tg.create_task(
                serve_adapter(
                    server.base_url,
                    server.base_file_url,
                    chats,
                    poll_timeout,
                    pool,
                    started,
                    done,
                    options=options,
                )
            )
            result = await drive_users(server, chats, messages, started.set)
            done.set()
    return result


def _server_process(conn: Connection, chats: int, messages: int) -> None:
    async def main() -> None:
        async with BotApiServer() as server:
            conn.send((server.base_url, server.base_file_url))
            start = _cpu_s()
            result = await drive_users(server, chats, messages, lambda: conn.send("started"))
            # The server and its simulated users share the machine's cores with the bot: their CPU too.
            result["server_cpu_ms"] = (_cpu_s() - start) * 1000 / result["updates"]
            conn.send(result)
            await asyncio.to_thread(conn.recv)  # serve until the bot has shut down

    asyncio.run(main())


async def run_two_processes(
    chats: int,
    messages: int,
    poll_timeout: int,
    pool: int,
    engine_name: str = "echo",
    processes: int = 1,
    options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The Bot API server and its users in a child process, as Telegram is elsewhere in production."""
    parent, child = multiprocessing.get_context("spawn").Pipe()
    process = multiprocessing.get_context("spawn").Process(
        target=_server_process, args=(child, chats, messages), daemon=True
    )
    process.start()
    base_url, file_url = await asyncio.to_thread(parent.recv)
    started, done = asyncio.Event(), asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        tg.create_task(
            serve_adapter(
                base_url, file_url, chats, poll_timeout, pool, started, done, engine_name, processes, options
            )
        )
        assert await asyncio.to_thread(parent.recv) == "started"
        started.set()
        result: dict[str, Any] = await asyncio.to_thread(parent.recv)
        done.set()
    parent.send("stop")
    await asyncio.to_thread(process.join, 30)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20, help="messages per chat")
    parser.add_argument("--poll-timeout", type=int, default=10)
    parser.add_argument("--in-process", action="store_true", help="run the server in the bot's process")
    parser.add_argument("--pool", type=int, default=8, help="HTTP connections to the Bot API")
    parser.add_argument(
        "--engine", choices=("echo", "offline"), default="echo", help="echo or the real offline engine"
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="bot processes (offline engine): this one receives and serves shard 0, the others are fed",
    )
    parser.add_argument(
        "--http-client", choices=("aiohttp", "httpx"), default="aiohttp", help="PTB's HTTP transport"
    )
    parser.add_argument(
        "--poll-interval", type=float, default=0.0, help="seconds between long polls (batches updates)"
    )
    args = parser.parse_args()
    options = {"http_client": args.http_client, "poll_interval_s": args.poll_interval}
    if args.processes > 1 and (args.engine != "offline" or args.in_process):
        parser.error("--processes needs --engine offline (and not --in-process)")
    logging.basicConfig(level=logging.WARNING)
    before = resource.getrusage(resource.RUSAGE_SELF)
    if args.in_process:
        result = asyncio.run(run_in_process(args.chats, args.messages, args.poll_timeout, args.pool, options))
    else:
        result = asyncio.run(
            run_two_processes(
                args.chats, args.messages, args.poll_timeout, args.pool, args.engine, args.processes, options
            )
        )
    after = resource.getrusage(resource.RUSAGE_SELF)
    # CPU the bot process spent (start-up included): a figure that does not depend on the machine's load.
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    cpu_ms = cpu_s * 1000 / result["updates"]
    serving_ms = sum(_SERVING_CPU) * 1000 / result["updates"]
    print(
        f"chats={result['chats']} updates={result['updates']} in {result['seconds']:.2f}s: "
        f"{result['updates_per_s']:.0f} updates/s, reply latency p50 {result['p50_ms']:.1f} ms, "
        f"p95 {result['p95_ms']:.1f} ms, max {result['max_ms']:.1f} ms, errors {result['errors']}; "
        f"bot CPU {cpu_ms:.2f} ms/update in this process (set-up included), "
        f"{serving_ms:.2f} ms/update serving, all bot processes "
        f"(≈ {1000 / serving_ms:.0f} updates/s per free core)\n"
        + (
            f"receiving process (shard 0 + hand-over) CPU "
            f"{sum(_FANOUT_CPU) * 1000 / result['updates']:.2f} ms/update\n"
            if _FANOUT_CPU
            else ""
        )
        + f"Bot API server + simulated users CPU {result.get('server_cpu_ms', float('nan')):.2f} ms/update\n"
        f"Bot API calls per update: {result['calls']}"
    )


if __name__ == "__main__":
    main()
