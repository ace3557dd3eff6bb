"""Benchmark the KakaoTalk export parser and the star import.

``python bench/kakao_import.py --goals [--messages 1000000] [--database-url postgresql+asyncpg://...]``
is the issue's check, in one run on one file (an iOS-shaped family chat, the star writing 60% of the
bubbles, realistic lengths: ``tests/support/kakao_realistic.py``):
- parse: ``KakaoReader.messages()`` beside a bare one-regex loop over the same file (CPU seconds, each
  the best of three, alternating), messages/s and the ratio;
- import: ``StarService.create`` in a child process on a fresh SQLite database (and PostgreSQL with
  ``--database-url``): wall seconds and the child's peak RSS;
and a PASS/FAIL line per goal (parse >= 250k msg/s and >= 0.7x bare; import <= 30 s SQLite, <= 60 s
PostgreSQL; peak RSS <= 350 MiB).

Older modes: ``python bench/kakao_import.py [--messages 1000000] [--shapes pc_windows_ko,ios_en]
[--no-memory]`` and ``python bench/kakao_import.py --import [--messages 1000000] [--shapes pc_windows_ko]
[--tracemalloc]``

For each shape it writes an export of N messages (a realistic mix of Korean text, multi-line messages,
placeholders and system lines), then reports:
- stream: messages per CPU-second (process time, so a busy machine does not distort it) of
  ``KakaoReader.messages()`` consumed without keeping the messages (the import path);
- parse: messages/s of ``parse_export`` (every message kept in memory);
- peak memory (tracemalloc, a separate run because tracing slows Python down) of both, against file size.

``--import`` instead creates a star from the export through ``StarService`` (the path the chat flow takes) in
a fresh SQLite data directory: streamed parse, style profile and messages in batches of short transactions,
then the memory's moments and vectors. It reports messages/s, total seconds and the growth of the process's
peak RSS (SQLite's page cache included) against the file size; ``--tracemalloc`` adds a second run traced by
tracemalloc (Python objects only, slower).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.personas.kakao import KakaoMessage, KakaoReader, parse_export
from tests.support.kakao import ALL_SHAPES, SystemEvent, write_export

_TEXTS = (
    "밥 먹었어?",
    "응 먹었어 ㅋㅋ",
    "오늘 날씨 좋다~~",
    "우리 아들 잘 지내지?",
    "조심히 들어가요",
    "사진",
    "이모티콘",
    "엄마가 내일 전화할게\n반찬 보냈어\n\n꼭 챙겨 먹어",
    "ㅋㅋㅋㅋㅋ 진짜 웃기다",
    "회의 끝나고 3:30에 볼까? 장소: 카페",
    "삭제된 메시지입니다.",
    "알았어 사랑해 ❤️",
)
_AUTHORS = ("고민수", "엄마 (김영희)", "[아빠], 최")


def messages(count: int, seed: int = 7) -> Iterator[KakaoMessage | SystemEvent]:
    """A deterministic stream of ``count`` messages (plus a system line every 5,000)."""
    rng = random.Random(seed)
    when = datetime(2015, 3, 1, 8, 0)
    for index in range(count):
        when += timedelta(minutes=rng.choice((0, 0, 1, 2, 7, 45, 300)))
        if index % 5000 == 4999:
            yield SystemEvent(time=when, text="이도현님이 들어왔습니다.")
        yield KakaoMessage(time=when, author=rng.choice(_AUTHORS), kind="text", text=rng.choice(_TEXTS))


def bench_shape(shape: str, count: int, folder: Path, memory: bool) -> None:
    """Write, parse and measure one shape."""
    path = folder / f"{shape}.txt"
    started = time.process_time()
    write_export(path, shape, messages(count), crlf=shape.startswith("ios"), bom=shape.startswith("ios"))
    written = time.process_time() - started
    size_mb = path.stat().st_size / 1e6

    started = time.process_time()
    reader = KakaoReader(path)
    streamed = sum(1 for _ in reader.messages())
    stream_s = time.process_time() - started

    started = time.process_time()
    export = parse_export(path)
    parse_s = time.process_time() - started
    assert len(export.messages) == streamed == count, (len(export.messages), streamed, count)
    del export

    line = (
        f"{shape:14s} file {size_mb:7.1f} MB (written in {written:5.1f} s)  "
        f"stream {streamed / stream_s / 1e3:6.0f}k msg/s  parse {count / parse_s / 1e3:6.0f}k msg/s"
    )
    if memory:
        tracemalloc.start()
        reader = KakaoReader(path)
        for _ in reader.messages():
            pass
        stream_peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.reset_peak()
        export = parse_export(path)
        parse_peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        del export
        line += (
            f"  peak stream {stream_peak:6.1f} MB ({stream_peak / size_mb:4.2f}x)"
            f"  peak parse {parse_peak:6.1f} MB ({parse_peak / size_mb:4.2f}x)"
        )
    print(line, flush=True)
    path.unlink()


async def _create_star(
    path: Path,
    data_dir: Path,
    *,
    url: str | None = None,
    participant: str = _AUTHORS[0],
    process_above: int | None = None,
) -> tuple[int, float, float]:
    """Create a star from ``path`` in a fresh database under ``data_dir``.

    Returns (messages, wall seconds, CPU seconds of every thread: what the import costs on a busy machine).
    """
    from core.domain.identity import Locale, Platform, UserRef
    from core.personas.stars import NewStar, StarService
    from core.storage.blobs import LocalBlobStore
    from core.storage.db import Database
    from core.storage.memory import MemoryStore
    from core.storage.migrate import upgrade
    from core.storage.repositories import UserRepository

    url = url or f"sqlite+aiosqlite:///{data_dir / 'vos.db'}"
    await upgrade(url)
    db = Database(url)
    try:
        blobs = LocalBlobStore(data_dir / "blobs")
        service = StarService(db, MemoryStore(db), blobs, max_export_bytes=1 << 40)
        if process_above is not None:
            service.process_above_bytes = process_above
        user = await UserRepository(db).get_or_create(
            UserRef(platform=Platform.CONSOLE, platform_user_id="bench"), display_name="b", locale=Locale.KO
        )
        key = await blobs.put_file(path)
        new = NewStar(owner_id=user.id, name="엄마", relation="어머니", participant=participant)
        started, cpu = time.perf_counter(), time.process_time()
        result = await service.create(new, key, consent_text="bench")
        return result.imported, time.perf_counter() - started, time.process_time() - cpu
    finally:
        await db.dispose()


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # KiB on Linux


def bench_import(shape: str, count: int, folder: Path, traced: bool) -> None:
    """Write one export, create a star from it, report speed and peak memory against the file size."""
    import asyncio
    import gc

    path = folder / f"{shape}.txt"
    ios = shape.startswith("ios")
    # A small warm-up import first: module imports and thread pools are not the import's memory.
    write_export(path, shape, messages(200), crlf=ios, bom=ios)
    (folder / "warm-up").mkdir()
    asyncio.run(_create_star(path, folder / "warm-up"))
    write_export(path, shape, messages(count), crlf=ios, bom=ios)
    size_mb = path.stat().st_size / 1e6
    (folder / f"{shape}-data").mkdir()
    gc.collect()
    rss_before = _peak_rss_mb()
    imported, seconds, cpu = asyncio.run(_create_star(path, folder / f"{shape}-data"))
    rss_growth = _peak_rss_mb() - rss_before
    assert imported == count, (imported, count)
    db_mb = sum(f.stat().st_size for f in (folder / f"{shape}-data").glob("vos.db*")) / 1e6
    line = (
        f"{shape:14s} import {count:,} messages from {size_mb:6.1f} MB: {seconds:6.1f} s "
        f"({count / seconds / 1e3:5.0f}k msg/s; CPU {cpu:5.1f} s)  peak RSS growth {rss_growth:6.1f} MB "
        f"({rss_growth / size_mb:4.2f}x file)  database {db_mb:6.0f} MB"
    )
    if traced:
        (folder / f"{shape}-traced").mkdir()
        tracemalloc.start()
        asyncio.run(_create_star(path, folder / f"{shape}-traced"))
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
        line += f"  tracemalloc peak {peak:6.1f} MB ({peak / size_mb:4.2f}x)"
    print(line, flush=True)


# --- the goals, in one run -----------------------------------------------------------------

_BARE_IOS_KO = re.compile(r"(\d{4})\. (\d{1,2})\. (\d{1,2})\. (오전|오후) (\d{1,2}):(\d{2}), (.+?) : (.*)")
MIB = 1 << 20


def bare_parse(path: Path) -> int:
    """The floor to compare with: what a throwaway script does for the same information. One regex per
    line; a message line gives (datetime, author, text); any other line continues the last message.
    No system lines, day separators, kinds, damage checks or other shapes."""
    match = _BARE_IOS_KO.match
    count = 0
    last: tuple[datetime, str, str] | None = None
    with path.open(encoding="utf-8-sig") as fh:
        for line in fh:
            m = match(line)
            if m:
                year, month, day, ampm, hour, minute, author, text = m.groups()
                clock = int(hour) % 12 + (12 if ampm == "오후" else 0)
                last = (datetime(int(year), int(month), int(day), clock, int(minute)), author, text)
                count += 1
            elif last is not None:
                last = (last[0], last[1], last[2] + "\n" + line)
    return count


def vos_parse(path: Path) -> int:
    """The import's parse: stream every message of the export as records."""
    return sum(1 for _ in KakaoReader(path).records())


def _cpu(fn: Callable[[Path], int], path: Path) -> tuple[int, float]:
    started = time.process_time()
    count = fn(path)
    return count, time.process_time() - started


def write_family_export(path: Path, count: int) -> None:
    """The held-out-like export: iOS ko, CRLF and a BOM, the star writing 60% (see kakao_realistic)."""
    from tests.support.kakao_realistic import family_chat

    write_export(path, "ios_ko", family_chat(count), crlf=True, bom=True, title="엄마")


def _import_child(path: str, data_dir: str, database_url: str | None, thread: bool) -> None:
    """In a child process: one import; prints a JSON line with seconds, CPU seconds (this process and
    the import's reader process), peak RSS (the larger of the two)."""
    import asyncio
    import json
    import resource

    from tests.support.kakao_realistic import STAR

    url = database_url or f"sqlite+aiosqlite:///{Path(data_dir) / 'vos.db'}"
    imported, seconds, cpu = asyncio.run(
        _create_star(
            Path(path), Path(data_dir), url=url, participant=STAR, process_above=1 << 62 if thread else None
        )
    )
    own = resource.getrusage(resource.RUSAGE_SELF)
    reader = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "imported": imported,
                "seconds": seconds,
                "cpu": cpu,
                "reader_cpu": reader.ru_utime + reader.ru_stime,
                "peak_rss": max(own.ru_maxrss, reader.ru_maxrss) * 1024,
            }
        )
    )


def _run_child(
    path: Path, data_dir: Path, database_url: str | None, *, thread: bool = False
) -> dict[str, float]:
    import json
    import subprocess

    data_dir.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, __file__, "--child-import", str(path), "--dir", str(data_dir)]
    if database_url:
        args += ["--database-url", database_url]
    if thread:
        args += ["--thread"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


def _fresh_pg_url(base: str) -> tuple[str, str]:
    """A new, migrated PostgreSQL database on the server of ``base`` (dropped by the caller)."""
    import os

    from core.storage.migrate import upgrade_sync
    from tests.support.db import PG_ENV, create_pg_database

    os.environ[PG_ENV] = base
    url, name = create_pg_database()
    upgrade_sync(url)
    return url, name


def _drop_pg(base: str, name: str) -> None:
    from tests.support.db import drop_pg_database

    drop_pg_database(name)


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _import_line(count: int, result: dict[str, float]) -> str:
    return (
        f"{result['seconds']:.1f} s wall, {count / result['seconds'] / 1e3:.0f}k msg/s; "
        f"CPU: importing process {result['cpu']:.1f} s + reader {result.get('reader_cpu', 0.0):.1f} s; "
        f"peak RSS {result['peak_rss'] / MIB:.0f} MiB"
    )


def bench_goals(count: int, folder: Path, database_url: str | None, *, baseline: bool = False) -> bool:
    """Parse beside the bare loop, then import on SQLite (and PostgreSQL): one line per goal."""
    path = folder / "family.txt"
    write_family_export(path, count)
    size_mb = path.stat().st_size / 1e6
    runs: dict[str, list[float]] = {"bare": [], "vos": []}
    for _ in range(3):  # best of three, alternating: a busy machine slows either one at random
        for name, fn in (("bare", bare_parse), ("vos", vos_parse)):
            parsed, seconds = _cpu(fn, path)
            assert parsed == count, (name, parsed, count)
            runs[name].append(seconds)
    bare_rate, vos_rate = count / min(runs["bare"]), count / min(runs["vos"])
    ratio = vos_rate / bare_rate
    print(f"export: {count:,} messages, iOS ko, star 60%, {size_mb:.1f} MB")
    print(
        f"parse  bare one-regex loop {bare_rate / 1e3:6.0f}k msg/s   VOS stream {vos_rate / 1e3:6.0f}k msg/s"
    )
    ok = vos_rate >= 250_000 and ratio >= 0.7
    print(f"{_verdict(ok)} parse >= 250k msg/s and >= 0.7x bare: {vos_rate / 1e3:.0f}k msg/s, {ratio:.2f}x")
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average before the imports: {load} ({os.cpu_count()} CPUs)")
    if baseline:
        result = _run_child(path, folder / "sqlite-thread", None, thread=True)
        print(f"  baseline (rows built in a thread of the importing process): {_import_line(count, result)}")
    result = _run_child(path, folder / "sqlite", None)
    assert result["imported"] == count, result
    rss = result["peak_rss"] / MIB
    good = result["seconds"] <= 30 and rss <= 350
    print(f"{_verdict(good)} SQLite import <= 30 s, peak RSS <= 350 MiB: {_import_line(count, result)}")
    ok = ok and good
    if database_url:
        url, name = _fresh_pg_url(database_url)
        try:
            result = _run_child(path, folder / "pg", url)
        finally:
            _drop_pg(database_url, name)
        rss = result["peak_rss"] / MIB
        good = result["seconds"] <= 60 and rss <= 350
        print(f"{_verdict(good)} PostgreSQL import <= 60 s: {_import_line(count, result)}")
        ok = ok and good
    return ok


def main() -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--shapes", default=None, help="comma-separated; default: all (parse), pc_windows_ko")
    parser.add_argument("--no-memory", action="store_true", help="skip the (slow) tracemalloc runs")
    parser.add_argument("--import", dest="import_", action="store_true", help="create a star in SQLite")
    parser.add_argument("--tracemalloc", action="store_true", help="with --import: a traced second run")
    parser.add_argument("--dir", type=Path, default=None, help="work directory (default: a temp dir)")
    parser.add_argument("--goals", action="store_true", help="the issue's goals in one run (see above)")
    parser.add_argument("--database-url", default=None, help="with --goals: also import into PostgreSQL")
    parser.add_argument("--baseline", action="store_true", help="with --goals: also import the old way")
    parser.add_argument("--thread", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-import", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_import:
        _import_child(args.child_import, str(args.dir), args.database_url, args.thread)
        return
    if args.goals:
        with tempfile.TemporaryDirectory(prefix="vos-kakao-bench-", dir=args.dir) as tmp:
            sys.exit(
                0 if bench_goals(args.messages, Path(tmp), args.database_url, baseline=args.baseline) else 1
            )
    shapes = (args.shapes or ("pc_windows_ko" if args.import_ else ",".join(ALL_SHAPES))).split(",")
    with tempfile.TemporaryDirectory(prefix="vos-kakao-bench-", dir=args.dir) as tmp:
        for shape in shapes:
            if args.import_:
                bench_import(shape, args.messages, Path(tmp), traced=args.tracemalloc)
            else:
                bench_shape(shape, args.messages, Path(tmp), memory=not args.no_memory)


if __name__ == "__main__":
    main()
