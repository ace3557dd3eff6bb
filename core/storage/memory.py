"""The star's memory: hybrid search over moments (Korean morphemes + embeddings), and conversation memory.

A search reads one :class:`MemoryQuery` (the message's content morphemes and its embedding, computed once
per user message off the event loop and shared with the safety classifier) and fuses two rankings of the
star's moments by reciprocal rank fusion:

- lexical: each morpheme's moments from an index, weighted by rarity; nothing scans a star's messages
  (``core.storage.memory_lexical``);
- dense: the query vector against every moment vector of the star (``core.storage.vectors``), ranked by
  cosine less the part owed to what all of the star's moments share (its mean direction), the nearest then
  less their crowding, so that small talk near every question does not push a memory out
  (``core.storage.memory_hubs``).

A turn whose star's vectors are cached searches in one hop (one round trip on PostgreSQL).

Memories of the export are shared by the star's owner; what a user told the star in VOS is searched only
for that user. Every moment read back is filtered by star and user in SQL, whatever the caches hold.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.engine import Connection

from core.ports import Embedder
from core.storage.db import Database
from core.storage.memory_fusion import dense_ranking, fuse, similar
from core.storage.memory_lexical import LexicalIndex, scope
from core.storage.models import MemoryMomentRow, StarMessageRow
from core.storage.moments import Moment, MomentLine, decode_body, encode_body, moment_text
from core.storage.star_messages import StarMessageStore, StoredMessage
from core.storage.vectors import HOT_ROWS, VECTOR_SCHEME, WARM_ROWS, WARM_ROWS_ON_LOOP, Key, VectorCache
from core.text.korean import query_terms
from core.text.morphemes import MorphemeAnalyzer, shared_analyzer

log = logging.getLogger(__name__)

__all__ = ["MemoryQuery", "MemoryStore", "Recollection", "StoredMessage", "query_terms"]

Source = Literal["export", "conversation"]
# Words that ask about a memory rather than name it ("기억나?", "그때 얘기"): never search terms.
_QUESTION_WORDS = frozenset(
    {"기억나", "기억", "생각나", "생각", "때", "날", "거", "적", "얘기", "뭐", "말", "remember"}
)
_MAX_TERMS = 8

_M = MemoryMomentRow
_Ranked = tuple[dict[int, float], dict[int, float], dict[int, float]]
_RECENT_STAR_TEXTS = (
    select(StarMessageRow.seq, StarMessageRow.text)
    .where(
        StarMessageRow.star_id == bindparam("sid"),
        StarMessageRow.kind == "text",
        StarMessageRow.is_star,
        StarMessageRow.seq < bindparam("before"),
    )
    .order_by(StarMessageRow.seq.desc())
    .limit(bindparam("n"))
)
TEXTS_PER_HOP_ON_LOOP = 2000
"""Texts read per hop on PostgreSQL, whose driver decodes rows on the event loop (20,000 at once: 56-100 ms
of stall at a million messages)."""
_NO_SEQ = 2**31 - 1
# Isolation lives here: whatever an index or cache returned, only this star's export and this user's
# conversation moments are read back. The star is compared as an expression (``|| ''``), so that no
# planner reads a million-message star's whole index range (SQLite did: 190 ms) instead of the ids' rows.
_READ = select(_M.id, _M.user_id, _M.started_at, _M.body).where(
    _M.id.in_(bindparam("ids", expanding=True)),
    _M.star_id.concat("") == bindparam("sid"),
    (_M.user_id.is_(None)) | (_M.user_id == bindparam("uid")),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryQuery:
    """A message prepared for memory search: its content morphemes and its embedding (``None``: none)."""

    text: str
    tokens: tuple[str, ...]
    vector: npt.NDArray[np.float32] | None = None
    embedder: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Recollection:
    """One memory: a whole moment, when it happened, where it comes from, and how well it matched.

    ``score`` is the fused rank score scaled to [0, 1] (1: first in both rankings); ``similarity`` the
    cosine of the moment's vector with the query's (0 without vectors); ``lexical`` the rarity-weighted
    share of the query's morphemes the moment holds.
    """

    moment_id: int
    source: Source
    time: datetime
    lines: tuple[MomentLine, ...]
    score: float
    similarity: float = 0.0
    lexical: float = 0.0

    @property
    def text(self) -> str:
        """The whole moment, one ``author: text`` line per message."""
        return moment_text(self.lines)

    @property
    def when(self) -> datetime:
        """When the moment began."""
        return self.time


class MemoryStore(StarMessageStore):
    """The star's messages (import, reading) and its memory: moments, search, conversation memory."""

    def __init__(
        self,
        db: Database,
        *,
        embedder: Embedder | None = None,
        analyzer: MorphemeAnalyzer | None = None,
        vectors: VectorCache | None = None,
    ) -> None:
        super().__init__(db)
        self.embedder = embedder
        self.analyzer = analyzer or shared_analyzer()
        self.vectors = vectors or VectorCache()
        self.lexical = LexicalIndex(sqlite=db.is_sqlite)

    @property
    def embedder_name(self) -> str:
        """The identity vectors are stored under, ``name@scheme`` (empty: no embedder, lexical search only):
        the embedder and what it was given, so a change of either makes the indexer rebuild them."""
        return f"{self.embedder.name}@{VECTOR_SCHEME}" if self.embedder is not None else ""

    # --- Queries ------------------------------------------------------------------------------------

    def prepare_sync(self, text: str, *, vector: bool = True) -> MemoryQuery:
        """:meth:`prepare` in the calling thread (blocking)."""
        words = dict.fromkeys(t for t in self.analyzer.tokens(text) if t not in _QUESTION_WORDS)
        tokens = tuple(words)[:_MAX_TERMS]
        embedded = None
        if vector and self.embedder is not None and text.strip():
            try:
                embedded = np.asarray(self.embedder.query(text), dtype=np.float32)
            except Exception:  # an unreachable endpoint must not cost the turn: lexical search only
                log.warning("query embedding failed; memory search is lexical this turn", exc_info=True)
        return MemoryQuery(text=text, tokens=tokens, vector=embedded, embedder=self.embedder_name)

    async def prepare(self, text: str, *, vector: bool = True) -> MemoryQuery:
        """Morphemes and embedding of a user message, in a worker thread: one ``query()`` per message."""
        return await asyncio.to_thread(self.prepare_sync, text, vector=vector)

    # --- Search -------------------------------------------------------------------------------------

    def _keys(self, star_id: str, user_id: str | None, query: MemoryQuery) -> list[Key]:
        if query.vector is None or not query.embedder:
            return []
        keys: list[Key] = [(star_id, None, query.embedder)]
        if user_id:
            keys.append((star_id, user_id, query.embedder))
        return keys

    async def warm(self, star_id: str, user_id: str | None, query: MemoryQuery) -> None:
        """Load the star's vectors into the cache, ``WARM_ROWS`` per hop (a cold star's first turn), then
        join and sketch them in a worker thread."""
        rows = WARM_ROWS if self.db.is_sqlite else WARM_ROWS_ON_LOOP
        for key in self._keys(star_id, user_id, query):

            def load(conn: Connection, key: Key = key) -> bool:
                return self.vectors.top_up(conn, key, rows=rows)

            while not await self.db.run(load):
                pass
            await asyncio.to_thread(self.vectors.consolidate, key)

    async def search(
        self,
        star_id: str,
        query: str | MemoryQuery,
        *,
        user_id: str | None = None,
        limit: int = 5,
    ) -> list[Recollection]:
        """The star's moments most like ``query``, best first: the export's and ``user_id``'s own."""
        prepared = query if isinstance(query, MemoryQuery) else await self.prepare(query)
        if not self.db.is_sqlite:
            return await self._search_off_loop(star_id, prepared, user_id, limit)
        # One hop when the star's vectors are cached (every turn but a cold star's first); a cold star is
        # loaded in several hops first, then searched.
        found = await self.db.run(lambda conn: self._search(conn, star_id, prepared, user_id, limit))
        if found is None:
            await self.warm(star_id, user_id, prepared)
            found = await self.db.run(lambda conn: self._search(conn, star_id, prepared, user_id, limit))
        return found or []

    async def _search_off_loop(
        self, star_id: str, query: MemoryQuery, user_id: str | None, limit: int
    ) -> list[Recollection]:
        """:meth:`search` on PostgreSQL (hops on the event loop): vectors ranked in a thread between two
        reads on one connection (one checkout and one transaction's round trips, not two)."""
        keys = self._keys(star_id, user_id, query)
        for cold in (False, True):
            if cold:  # loaded in hops of its own, no transaction held open meanwhile
                await self.warm(star_id, user_id, query)
            async with self.db.read() as session:
                conn = await session.connection()
                lexical = await conn.run_sync(lambda c: self._gather(c, star_id, user_id, query, keys))
                if lexical is None:
                    continue
                dense = await asyncio.to_thread(dense_ranking, self.vectors, keys, query.vector)
                ranked: _Ranked = (lexical, *dense)

                def read(c: Connection, ranked: _Ranked = ranked) -> list[Recollection]:
                    return self._read(c, star_id, user_id, limit, ranked)

                return await conn.run_sync(read)
        return []  # forgotten meanwhile

    def search_on(
        self,
        conn: Connection,
        star_id: str,
        query: MemoryQuery,
        *,
        user_id: str | None,
        limit: int,
        export_version: int | None = None,
    ) -> list[Recollection] | None:
        """:meth:`search` inside a caller's hop; ``None`` when vectors are cold (use :meth:`search`)."""
        return self._search(conn, star_id, query, user_id, limit)

    def _search(
        self, conn: Connection, star_id: str, query: MemoryQuery, user_id: str | None, limit: int
    ) -> list[Recollection] | None:
        keys = self._keys(star_id, user_id, query)
        lexical = self._gather(conn, star_id, user_id, query, keys)
        if lexical is None:
            return None
        dense = dense_ranking(self.vectors, keys, query.vector)
        return self._read(conn, star_id, user_id, limit, (lexical, *dense))

    def _gather(
        self, conn: Connection, star_id: str, user_id: str | None, query: MemoryQuery, keys: list[Key]
    ) -> dict[int, float] | None:
        """The lexical ranking, once the vectors of ``keys`` are cached; ``None`` when they are cold."""
        if len(keys) == 2:
            if not self.vectors.top_up_pair(conn, keys[0], keys[1], rows=HOT_ROWS):
                return None
        elif keys and not self.vectors.top_up(conn, keys[0], rows=HOT_ROWS):
            return None
        known = self.vectors.size(keys[0]) if keys else 0  # the export's moments: no count query needed
        return self.lexical.ranking(conn, star_id, user_id, query.tokens, known=known)

    def _read(
        self, conn: Connection, star_id: str, user_id: str | None, limit: int, ranked: _Ranked
    ) -> list[Recollection]:
        """The best moments of the rankings (lexical, dense cosine, dense score), read and deduplicated."""
        lexical, dense, closeness = ranked
        fused = fuse(lexical, closeness)
        if not fused:
            return []
        best = sorted(fused, key=lambda i: (-fused[i], -i))[: limit * 3]
        rows = conn.execute(_READ, {"ids": best, "sid": star_id, "uid": user_id or ""}).all()
        by_id = {int(r[0]): r for r in rows}
        found: list[Recollection] = []
        seen: list[frozenset[str]] = []
        for moment_id in best:
            row = by_id.get(moment_id)
            if row is None:  # deleted since the cache read it, or not this user's
                continue
            lines = decode_body(row[3])
            words = frozenset(w for line in lines for w in line.text.split())
            if any(similar(words, other) for other in seen):
                continue  # the same small talk again: make room for another memory
            seen.append(words)
            found.append(
                Recollection(
                    moment_id=moment_id,
                    source="conversation" if row[1] else "export",
                    time=row[2].replace(tzinfo=UTC) if row[1] else row[2],
                    lines=lines,
                    score=round(fused[moment_id], 6),
                    similarity=round(dense.get(moment_id, 0.0), 6),
                    lexical=round(lexical.get(moment_id, 0.0), 6),
                )
            )
            if len(found) >= limit:
                break
        return found

    async def recent_star_texts(self, star_id: str, limit: int) -> list[str]:
        """The texts of the star's ``limit`` most recent text messages (one indexed range, newest first;
        on PostgreSQL in hops of ``TEXTS_PER_HOP_ON_LOOP``)."""
        per_hop = limit if self.db.is_sqlite else TEXTS_PER_HOP_ON_LOOP
        texts: list[str] = []
        before = _NO_SEQ
        while len(texts) < limit:
            n = min(per_hop, limit - len(texts))
            params: dict[str, object] = {"sid": star_id, "n": n, "before": before}

            def read(conn: Connection, params: dict[str, object] = params) -> list[tuple[int, str]]:
                return [(int(r[0]), str(r[1])) for r in conn.execute(_RECENT_STAR_TEXTS, params)]

            rows = await self.db.run(read)
            texts.extend(text for _, text in rows)
            if len(rows) < n:
                break
            before = rows[-1][0]
        return texts

    # --- Writing ------------------------------------------------------------------------------------

    def moment_rows(
        self, star_id: str, user_id: str | None, moments: Sequence[Moment], tokens: Sequence[Sequence[str]]
    ) -> list[dict[str, Any]]:
        """Insert rows for ``moments`` (``tokens``: their morphemes), without vectors."""
        where = scope(star_id, user_id)
        return [
            {
                "star_id": star_id,
                "user_id": user_id,
                "source": "conversation" if user_id else "export",
                "first_seq": m.first_seq,
                "last_seq": m.last_seq,
                "started_at": m.started_at,
                "body": encode_body(m.lines),
                "tokens": " ".join(toks),
                "scope": where,
                "vector": None,
                "embedder": "",
            }
            for m, toks in zip(moments, tokens, strict=True)
        ]

    async def remembering(
        self,
        *,
        user_id: str,
        star_id: str,
        moment: Moment,
        vector: npt.NDArray[np.float32] | None,
        embedder: str,
    ) -> Callable[[Connection], None]:
        """A write that keeps what a user told the star (and its answer) as that user's searchable memory;
        run it inside the turn's own transaction. ``vector``: the embedding of the user's message computed
        for this turn (no second model call). The moment's morphemes are analyzed here, in a worker thread,
        before the transaction: a write lock is never held while the analyzer works."""
        tokens = await asyncio.to_thread(self.analyzer.tokens, moment.text)

        def write(conn: Connection) -> None:
            row = self.moment_rows(star_id, user_id, [moment], [tokens])[0]
            if vector is not None and embedder:
                row.update(vector=np.asarray(vector, dtype=np.float32).tobytes(), embedder=embedder)
            conn.execute(insert(_M), [row])

        return write

    async def conversation_memories(self, user_id: str, star_id: str) -> list[Recollection]:
        """Everything the user told the star that memory keeps, oldest first (for /export)."""
        query = (
            select(_M.id, _M.started_at, _M.body)
            .where(_M.star_id == star_id, _M.user_id == user_id)
            .order_by(_M.id)
        )
        rows = await self.db.run(lambda conn: conn.execute(query).all())
        return [
            Recollection(
                moment_id=int(r[0]),
                source="conversation",
                time=r[1].replace(tzinfo=UTC),
                lines=decode_body(r[2]),
                score=1.0,
            )
            for r in rows
        ]

    async def forget_conversation(self, user_id: str, star_id: str | None = None) -> int:
        """Delete what ``user_id`` told a star (every star without ``star_id``); returns moments removed."""
        statement = delete(_M).where(_M.user_id == user_id)
        if star_id is not None:
            statement = statement.where(_M.star_id == star_id)
        removed = await self.db.run(lambda conn: conn.execute(statement).rowcount, write=True)
        self.vectors.forget_user(user_id)
        self.lexical.forget_user(user_id)
        return int(removed or 0)

    def forget_star(self, star_id: str) -> None:
        """Drop what this process cached of a deleted star (its rows go with the star's cascade)."""
        self.vectors.forget(star_id)
        self.lexical.forget(star_id)
