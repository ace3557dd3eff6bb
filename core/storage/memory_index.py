"""Building a star's memory after an import: moments with their morphemes, then their vectors.

Part of the import job, with progress: the first phase cuts the messages not yet in a moment into moments
and stores their morphemes (the lexical index works from then on); the second embeds every moment that has
no vector from the current embedder, in id order and in batches, so an interrupted job resumes where it
stopped and a changed embedder (``VOS_EMBEDDER__BACKEND``) rebuilds the vectors the same way. Moments are
embedded, not lines: a 100,000-message export is about 20,000 moments, each cut to ``EMBED_CHARS``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from core.ports import ProgressCallback
from core.storage.memory import MemoryStore
from core.storage.models import MemoryMomentRow, StarMessageRow
from core.storage.moments import EMBED_CHARS, Moment, MomentCutter, decode_body
from core.storage.star_messages import StoredMessage

log = logging.getLogger(__name__)

READ_MESSAGES = 20_000
"""Messages read per hop while cutting moments."""
EMBED_BATCH = 64
"""Moments embedded per call (and written per hop)."""
INSERT_BATCH = 2000

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
        while True:

            def read(conn: Connection, after: int = after) -> list[StoredMessage]:
                return _read_messages(conn, star_id, after)

            chunk = await self.db.run(read)
            done = len(chunk) < READ_MESSAGES
            moments = list(cutter.feed(chunk))
            if done:
                moments.extend(cutter.finish())
            written += await self._store(star_id, moments)
            await _report(progress, 0.0, f"moments {written}")
            if done:
                return written
            after = chunk[-1].seq

    async def _store(self, star_id: str, moments: Sequence[Moment]) -> int:
        for start in range(0, len(moments), INSERT_BATCH):
            part = moments[start : start + INSERT_BATCH]
            tokens = await asyncio.to_thread(self.memory.analyzer.many, [m.text for m in part])
            rows = self.memory.moment_rows(star_id, None, part, tokens)

            def write(conn: Connection, rows: list[dict[str, Any]] = rows) -> None:
                conn.execute(insert(_M), rows)

            await self.db.run(write, write=True)
        return len(moments)

    async def _embed(self, star_id: str, progress: ProgressCallback | None) -> int:
        embedder = self.memory.embedder
        if embedder is None:
            return 0
        name = embedder.name
        todo = await self.db.run(
            lambda conn: conn.scalar(
                select(func.count()).where(
                    _M.star_id == star_id, or_(_M.vector.is_(None), _M.embedder != name)
                )
            )
        )
        total, done, after = int(todo or 0), 0, 0
        while done < total:

            def pending(conn: Connection, after: int = after) -> list[tuple[int, str]]:
                rows = conn.execute(_unembedded(star_id, name, after, EMBED_BATCH)).all()
                return [(int(r[0]), str(r[1])) for r in rows]

            batch = await self.db.run(pending)
            if not batch:
                break
            texts = [_embed_text(body) for _, body in batch]
            vectors = await asyncio.to_thread(embedder.passages, texts)
            values = [
                {"mid": int(mid), "vec": np.asarray(vec, dtype=np.float32).tobytes(), "emb": name}
                for (mid, _), vec in zip(batch, vectors, strict=True)
            ]

            def store(conn: Connection, values: list[dict[str, object]] = values) -> None:
                _write_vectors(conn, values)

            await self.db.run(store, write=True)
            done += len(batch)
            after = int(batch[-1][0])
            await _report(progress, done / total, f"vectors {done}/{total}")
        return done


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


def _embed_text(body: str) -> str:
    return " / ".join(line.text for line in decode_body(body))[:EMBED_CHARS]


async def _report(progress: ProgressCallback | None, fraction: float, text: str) -> None:
    if progress is None:
        return
    result = progress(fraction, text)
    if result is not None:
        await result
