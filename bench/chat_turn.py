"""Benchmark the chat-turn overhead (everything but the model call) with a star of N imported messages.

Queries are everyday sentences a user would type, written apart from the corpus (not its own words), so
they take the paths real messages take. Reports p50/p95 over many turns of:
- bare FTS: one lexical index lookup per query, the floor any memory search pays (baseline, same run);
- query: the message's morphemes and its one embedding (shared with the safety classifier);
- prompt: memory search (lexical + dense, fused) + prompt assembly for an LLM; target p95 <= 20 ms at
  100k messages, <= 50 ms at 1M;
- offline: the offline engine's whole turn (safety, search, choice, history and memory writes);
- cold star: the first search (then the first whole turn) of a star no cache has seen, and the longest
  event-loop stall meanwhile (target: no stall over 50 ms), with the CPU the loop's thread spent in it (our
  code on the loop; the rest is the thread waiting for a core or the GIL), beside the idle loop's longest
  stall in the same conditions; ``--trace-stalls`` samples where the loop was during stalls over 20 ms.
- turns are answered as if no crisis pause were on (the engine reads the pause with the history), so every
  turn takes the whole path.

Vectors: ``--vectors synthetic`` (default) stores random unit vectors for the moments instead of embedding
them (embedding 100k messages takes minutes; see ``bench/memory_recall.py`` and the import figures), so
search cost is measured at scale; ``--vectors real`` embeds them with the configured embedder.

``--keep DIR`` keeps the data (and the built star) in DIR and reuses it on the next run with the same
``--messages`` (a million-message star takes many minutes to build); with ``--database-url`` the star is kept
in that database instead (give the bench a database of its own: ``createdb vos_bench``).

Usage: ``python bench/chat_turn.py [--messages 100000] [--turns 300] [--database-url URL] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import random
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import bindparam, func, select, text, update

from bot.settings import load_settings
from bot.wiring import running_app
from core.domain.identity import Locale, Platform, UserRef
from core.personas.prompting import Memory, MemoryLine, PersonaCard, PromptBudget, build_prompt
from core.personas.stars import NewStar
from core.storage.memory import MemoryStore
from core.storage.models import MemoryMomentRow, StarMessageRow

_WORD_TEXT = (
    "밥 김치찌개 된장찌개 회사 비 우산 송편 추석 케이크 병원 검사 학교 시험 운전 여행 바다 산책 강아지 "
    "고양이 할머니 아빠 동생 친구 생일 선물 꽃 커피 빵 라면 주말 월요일 저녁 아침 감기 약 날씨"
)
_WORDS = _WORD_TEXT.split()
_ENDINGS = ("먹었어?", "했어 ㅎㅎ", "조심해~~", "사랑해", "잘 자", "괜찮아?", "보고 싶다", "ㅋㅋㅋ 진짜?")
# What users type: everyday sentences, written for this bench (not from the corpus generator above).
EVERYDAY = [
    "엄마 나 오늘 너무 힘들었어",
    "보고 싶어",
    "오늘 면접 보고 왔어",
    "요즘 잠이 안 와",
    "엄마 된장국 먹고 싶다",
    "회사에서 칭찬 받았어 ㅎㅎ",
    "비 오니까 엄마 생각나",
    "나 다음 달에 이사 가",
    "우리 강아지가 아파",
    "주말에 뭐 할까",
    "엄마가 해준 반찬이 그리워",
    "오늘 첫눈 왔어",
    "I miss you mom",
    "동생이랑 싸웠어",
    "아빠는 잘 지내?",
    "나 승진했어!",
]


def write_export(path: Path, count: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    when = datetime(2016, 1, 1, 8, 0)
    day = None
    with path.open("w", encoding="utf-8") as fh:
        fh.write("엄마 님과 카카오톡 대화\n저장한 날짜 : 2024-01-01 10:00:00\n\n")
        for i in range(count):
            # Bursts: a few minutes apart within a chat, hours between chats.
            when += (
                timedelta(minutes=rng.randint(1, 5))
                if rng.random() < 0.85
                else timedelta(hours=rng.randint(2, 20))
            )
            if when.date() != day:
                day = when.date()
                weekday = "월화수목금토일"[day.weekday()]
                fh.write(
                    f"--------------- {day.year}년 {day.month}월 {day.day}일 {weekday}요일 ---------------\n"
                )
            who = "엄마" if i % 2 else "민지"
            line = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.choice(_ENDINGS)}"
            ampm = "오전" if when.hour < 12 else "오후"
            fh.write(f"[{who}] [{ampm} {when.hour % 12 or 12}:{when.minute:02d}] {line}\n")


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def _synthetic_vectors(memory: MemoryStore, star_id: str, name: str, dim: int) -> int:
    ids = await memory.db.run(
        lambda conn: [
            int(r[0])
            for r in conn.execute(select(MemoryMomentRow.id).where(MemoryMomentRow.star_id == star_id))
        ]
    )
    rng = np.random.default_rng(1)
    statement = (
        update(MemoryMomentRow)
        .where(MemoryMomentRow.id == bindparam("mid"))
        .values(vector=bindparam("vec"), embedder=bindparam("emb"))
    )
    for start in range(0, len(ids), 5000):
        vectors = rng.standard_normal((len(ids[start : start + 5000]), dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        values = [
            {"mid": i, "vec": v.tobytes(), "emb": name}
            for i, v in zip(ids[start : start + 5000], vectors, strict=True)
        ]
        await memory.db.run(lambda conn, values=values: conn.execute(statement, values), write=True)
    return len(ids)


class LoopLag:
    """The longest delay of a 5 ms timer: how long the event loop was blocked; and ``busy``, the most CPU
    the loop's thread spent within one such delay: the part of a stall that was our code on the loop, not
    the thread waiting for a core (the machine's other processes) or for the GIL (another thread)."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.busy = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            t, cpu = time.perf_counter(), time.thread_time()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, time.perf_counter() - t - 0.005)
            self.busy = max(self.busy, time.thread_time() - cpu)

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.get_running_loop().create_task(self._run())
        await asyncio.sleep(0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


class StallTrace:
    """Where the event loop was when it stalled: a watchdog thread samples the loop thread's stack every
    few milliseconds while the loop's heartbeat is older than ``threshold`` (``--trace-stalls``)."""

    def __init__(self, threshold: float = 0.02) -> None:
        self.threshold = threshold
        self.samples: Counter[tuple[str, ...]] = Counter()
        self._beat = time.perf_counter()
        self._stop = threading.Event()
        self._loop_thread = threading.get_ident()
        self._task: asyncio.Task[None] | None = None
        self._watcher: threading.Thread | None = None
        self._collecting = 0.0
        self.collections: Counter[int] = Counter()
        self.longest_collection = (0.0, 0)

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        # A collection holds the GIL throughout: no thread runs, the watcher neither.
        if phase == "start":
            self._collecting = time.perf_counter()
            return
        took = time.perf_counter() - self._collecting
        self.collections[info["generation"]] += 1
        self.longest_collection = max(self.longest_collection, (took, info["generation"]))

    async def _heartbeat(self) -> None:
        while True:
            self._beat = time.perf_counter()
            await asyncio.sleep(0.002)

    def _watch(self) -> None:
        while not self._stop.wait(0.004):
            if time.perf_counter() - self._beat < self.threshold:
                continue
            frame = sys._current_frames().get(self._loop_thread)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)
            ours = [
                f for f in stack if "/site-packages/" not in f.filename and "/lib/python" not in f.filename
            ]
            here = [*ours[-4:], *[f for f in stack[-3:] if f not in ours[-4:]]]
            self.samples[tuple(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in here)] += 1

    async def __aenter__(self) -> StallTrace:
        self._task = asyncio.get_running_loop().create_task(self._heartbeat())
        await asyncio.sleep(0)
        self._beat = time.perf_counter()
        self._stop.clear()
        self._watcher = threading.Thread(target=self._watch, daemon=True)
        self._watcher.start()
        gc.callbacks.append(self._collected)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        gc.callbacks.remove(self._collected)
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        assert self._watcher is not None
        self._watcher.join()

    def report(self) -> str:
        lines = [f"loop stalls over {self.threshold * 1000:.0f} ms, sampled every 4 ms (most samples first):"]
        for stack, n in self.samples.most_common(8):
            lines.append(f"  {n} samples (~{n * 4} ms):")
            lines.extend(f"      {frame}" for frame in stack)
        took, generation = self.longest_collection
        done = ", ".join(f"generation {g}: {n}" for g, n in sorted(self.collections.items()))
        lines.append(f"garbage collections ({done}); longest {took * 1000:.1f} ms (generation {generation})")
        return "\n".join(lines)


async def _idle_lag(seconds: float) -> tuple[float, float]:
    """The loop's longest stall while it does nothing else: what this machine's load alone costs."""
    async with LoopLag() as lag:
        await asyncio.sleep(seconds)
    return lag.worst, lag.busy


async def _star(app: Any, user: Any, count: int, folder: Path, vectors: str) -> tuple[Any, int, float, int]:
    """The bench star (built now, or kept from an earlier run): (star, messages, import seconds, moments)."""
    embedder = app.memory.embedder
    assert embedder is not None
    for star in await app.stars.list_owned(user.id):
        kept = await app.db.run(
            lambda conn, sid=star.id: conn.scalar(
                select(func.count()).select_from(StarMessageRow).where(StarMessageRow.star_id == sid)
            )
        )
        if star.name == "엄마" and kept == count:
            await app.memory.forget_conversation(user.id, star.id)  # an earlier run's turns
            name = app.memory.embedder_name
            vectored = (MemoryMomentRow.star_id == star.id) & (MemoryMomentRow.embedder == name)
            with_vectors = await app.db.run(
                lambda conn, where=vectored: conn.scalar(select(func.count()).where(where))
            )
            if vectors == "synthetic" and not with_vectors:
                with_vectors = await _synthetic_vectors(app.memory, star.id, name, embedder.dim)
            return star, int(kept), 0.0, int(with_vectors)
    export = folder / "export.txt"
    write_export(export, count)
    if vectors == "synthetic":
        app.memory.embedder = None  # cut and index moments now; vectors are filled below
    t0 = time.perf_counter()
    result = await app.star_service.create(
        NewStar(owner_id=user.id, name="엄마", relation="어머니", participant="엄마"),
        await app.blobs.put_file(export),
        consent_text="bench",
    )
    import_s = time.perf_counter() - t0
    export.unlink()
    app.memory.embedder = embedder
    moments = (
        await _synthetic_vectors(app.memory, result.star.id, app.memory.embedder_name, embedder.dim)
        if vectors == "synthetic"
        else 0
    )
    return result.star, result.imported, import_s, moments


async def main(
    count: int, turns: int, vectors: str, database_url: str | None, keep: str | None, trace_stalls: bool
) -> None:
    folder = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="vos-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    overrides: dict[str, Any] = {"limits": {"max_export_mb": 2000}}
    if database_url:
        overrides["database_url"] = database_url
    settings = load_settings(env_file=None, data_dir=folder / "data", **overrides)
    async with running_app(settings, use_settings_model=False) as app:
        user = await app.users.get_or_create(
            UserRef(platform=Platform.CONSOLE, platform_user_id="bench"),
            display_name="민지",
            locale=Locale.KO,
        )
        star, imported, import_s, moments = await _star(app, user, count, folder, vectors)
        rng = random.Random(9)
        sentences = [rng.choice(EVERYDAY) for _ in range(turns)]
        # Cold star: fresh caches, the first search (then the first whole turn), and the loop's longest
        # stall meanwhile, beside the longest stall of the idle loop in the same conditions.
        gc.collect()  # the import's garbage is not the first turn's cost
        idle = await _idle_lag(3.0)
        app.memory.forget_star(star.id)
        first_query = await app.memory.prepare(sentences[0])
        trace = StallTrace() if trace_stalls else contextlib.nullcontext()
        async with trace, LoopLag() as lag:
            t = time.perf_counter()
            await app.memory.search(star.id, first_query, user_id=user.id, limit=6)  # warms the vectors
            cold_s = time.perf_counter() - t
        app.memory.forget_star(star.id)
        app.chat.offline.forget(star.id)
        async with trace, LoopLag() as turn_lag:
            t = time.perf_counter()
            # No earlier crisis pause (the engine reads it with the history): each turn is answered.
            await app.chat.turn(user, star, sentences[0], Locale.KO, query=first_query, last_care=None)
            cold_turn_s = time.perf_counter() - t
        fts_times, query_times, prompt_times, turn_times = [], [], [], []
        card = PersonaCard(star_name="엄마", relation="어머니", user_name="민지", locale="ko")
        budget = PromptBudget(context_tokens=8192, reply_tokens=400)
        is_sqlite = app.db.is_sqlite
        for sentence in sentences:
            t = time.perf_counter()
            query = await app.memory.prepare(sentence)
            query_times.append(time.perf_counter() - t)
            term = query.tokens[0] if query.tokens else "밥"
            if is_sqlite:
                sql, params = (
                    "SELECT rowid FROM memory_moments_fts WHERE memory_moments_fts MATCH :q LIMIT 300",
                    {"q": f'tokens : "{term}"'},
                )
            else:
                sql = (
                    "SELECT id FROM memory_moments WHERE string_to_array(tokens, ' ') @> "
                    "ARRAY[CAST(:t AS text)] AND star_id = :s LIMIT 300"
                )
                params = {"t": term, "s": star.id}
            t = time.perf_counter()
            await app.db.run(lambda conn, sql=sql, params=params: conn.execute(text(sql), params).all())
            fts_times.append(time.perf_counter() - t)
            t = time.perf_counter()
            found = await app.memory.search(star.id, query, user_id=user.id, limit=6)
            memories = tuple(
                Memory(
                    when=m.time.replace(tzinfo=None),
                    exchange=tuple(MemoryLine(author=x.author, text=x.text) for x in m.lines),
                    score=m.score,
                )
                for m in found
            )
            build_prompt(card, memories, (), sentence, budget=budget)
            prompt_times.append(time.perf_counter() - t)
        engines: Counter[str] = Counter()
        async with LoopLag() as warm_lag:
            for sentence in sentences:
                query = await app.memory.prepare(sentence)
                t = time.perf_counter()
                reply = await app.chat.turn(user, star, sentence, Locale.KO, query=query, last_care=None)
                turn_times.append(time.perf_counter() - t)
                engines[reply.engine] += 1
    db = "SQLite" if is_sqlite else "PostgreSQL"
    embedded = ", vectors" if vectors == "real" else ""
    print(f"{db}: {imported} star messages, {moments or 'embedded'} moments")
    if import_s:
        print(f"import (parse, store, moments, morphemes{embedded}): {import_s:.1f} s")
    print(
        f"idle event loop, longest stall over 3 s (this machine's load alone): {idle[0] * 1000:.1f} ms "
        f"(on the loop's CPU {idle[1] * 1000:.1f} ms)"
    )
    print(
        f"cold star first search: {cold_s * 1000:.0f} ms; longest event-loop stall {lag.worst * 1000:.1f} ms "
        f"(on the loop's CPU {lag.busy * 1000:.1f} ms)"
    )
    print(
        f"cold star first offline turn: {cold_turn_s * 1000:.0f} ms; "
        f"longest event-loop stall {turn_lag.worst * 1000:.1f} ms "
        f"(on the loop's CPU {turn_lag.busy * 1000:.1f} ms)"
    )
    if isinstance(trace, StallTrace):
        print(trace.report())
    print("offline turns answered by: " + ", ".join(f"{e} {n}" for e, n in engines.most_common()))
    print(
        f"warm offline turns: longest event-loop stall {warm_lag.worst * 1000:.1f} ms "
        f"(on the loop's CPU {warm_lag.busy * 1000:.1f} ms)"
    )
    for label, values in (
        ("bare FTS lookup (baseline)", fts_times),
        ("query: morphemes + embedding", query_times),
        ("prompt: search + assembly", prompt_times),
        ("offline full turn", turn_times),
    ):
        print(f"{label:30s} p50 {pct(values, 50):6.1f} ms  p95 {pct(values, 95):6.1f} ms")
    base = pct(fts_times, 95)
    print(f"prompt p95 / bare FTS p95: {pct(prompt_times, 95) / base:.1f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--vectors", choices=("synthetic", "real"), default="synthetic")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", default=None, help="a folder to keep the built star in, and reuse it from")
    parser.add_argument(
        "--trace-stalls", action="store_true", help="where the loop was when the cold star stalled it"
    )
    args = parser.parse_args()
    asyncio.run(
        main(args.messages, args.turns, args.vectors, args.database_url, args.keep, args.trace_stalls)
    )
