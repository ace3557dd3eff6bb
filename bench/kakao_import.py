"""Benchmark the KakaoTalk export parser: generate a large export in each shape, parse it, report speed.

Usage: ``python bench/kakao_import.py [--messages 1000000] [--shapes pc_windows_ko,ios_en] [--no-memory]``

For each shape it writes an export of N messages (a realistic mix of Korean text, multi-line messages,
placeholders and system lines), then reports:
- stream: messages per CPU-second (process time, so a busy machine does not distort it) of
  ``KakaoReader.messages()`` consumed without keeping the messages (the import path);
- parse: messages/s of ``parse_export`` (every message kept in memory);
- peak memory (tracemalloc, a separate run because tracing slows Python down) of both, against file size.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
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


def main() -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--shapes", default=",".join(ALL_SHAPES))
    parser.add_argument("--no-memory", action="store_true", help="skip the (slow) tracemalloc runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vos-kakao-bench-") as tmp:
        for shape in args.shapes.split(","):
            bench_shape(shape, args.messages, Path(tmp), memory=not args.no_memory)


if __name__ == "__main__":
    main()
