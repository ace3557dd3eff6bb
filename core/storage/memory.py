"""The star's memory: hybrid search over moments (Korean morphemes + embeddings), and conversation memory.

A search reads one :class:`MemoryQuery` (the message's content morphemes and its embedding, computed once
per user message off the event loop and shared with the safety classifier) and fuses two rankings of the
star's moments by reciprocal rank fusion:

- lexical: each morpheme's moments from an index (SQLite FTS5 over the ``tokens`` column, narrowed by the
  star and user in ``scope``; a GIN index over the token array on PostgreSQL), weighted by rarity. A query
  reads at most ``PER_TERM_CAP`` moments per morpheme; nothing scans a star's messages. A morpheme that
  reaches the cap is no clue and is not looked up again (``core.storage.memory_terms``);
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
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from sqlalchemy import bindparam, delete, func, insert, select, text
from sqlalchemy.engine import Connection

from core.ports import Embedder
from core.storage.db import Database
from core.storage.memory_fusion import dense_ranking, fuse, similar
from core.storage.memory_terms import CommonTerms
from core.storage.models import MemoryMomentRow, StarMessageRow
from core.storage.moments import Moment, MomentLine, decode_body, encode_body, moment_text
from core.storage.star_messages import StarMessageStore, StoredMessage
from core.storage.vectors import HOT_ROWS, VECTOR_SCHEME, WARM_ROWS, WARM_ROWS_ON_LOOP, Key, VectorCache
from core.text.korean import query_terms
from core.text.morphemes import MorphemeAnalyzer, shared_analyzer

log = logging.getLogger(__name__)

__all__ = ["MemoryQuery", "MemoryStore", "Recollection", "StoredMessage", "query_terms"]

Source = Literal["export", "conversation"]
PER_TERM_CAP = 300
"""Moments read per query morpheme: a morpheme in more moments than this says little about any of them."""
_LEXICAL_FLOOR = 0.25
"""A moment holding less than this share of the query's (rarity-weighted) morphemes is not a lexical hit."""
# Words that ask about a memory rather than name it ("기억나?", "그때 얘기"): never search terms.
_QUESTION_WORDS = frozenset(
    {"기억나", "기억", "생각나", "생각", "때", "날", "거", "적", "얘기", "뭐", "말", "remember"}
)
_MAX_TERMS = 8

_M = MemoryMomentRow
_Ranked = tuple[dict[int, float], dict[int, float], dict[int, float]]
_COUNT = select(func.count(), func.max(_M.id)).where(_M.star_id == bindparam("sid"), _M.user_id.is_(None))
_LAST_ID = select(func.max(_M.id)).where(_M.star_id == bindparam("sid"), _M.user_id.is_(None))
_FTS_HITS = text("SELECT f.rowid FROM memory_moments_fts f WHERE memory_moments_fts MATCH :q LIMIT :cap")
# Every term's hits in one round trip: each term's own index lookup, capped, side by side.
_PG_HITS = text(
    "SELECT t.term, m.id FROM unnest(CAST(:terms AS text[])) AS t(term) CROSS JOIN LATERAL ("
    "SELECT id FROM memory_moments WHERE string_to_array(tokens, ' ') @> ARRAY[t.term] "
    "AND star_id = :sid AND (user_id IS NULL OR user_id = :uid) LIMIT :cap) AS m"
)
_RECENT_STAR_TEXTS = (
    select(StarMessageRow.text)
    .where(StarMessageRow.star_id == bindparam("sid"), StarMessageRow.kind == "text", StarMessageRow.is_star)
    .order_by(StarMessageRow.seq.desc())
    .limit(bindparam("n"))
)
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


def _scope(star_id: str, user_id: str | None) -> str:
    return f"s{star_id} " + (f"u{user_id}" if user_id else "export")


def _fts_query(star_id: str, user_id: str | None, term: str) -> str:
    who = f"(export OR u{user_id})" if user_id else "export"
    quoted = '"' + term.replace('"', '""') + '"'
    return f"scope : s{star_id} AND scope : {who} AND tokens : {quoted}"


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
        self._totals: dict[str, tuple[int, int]] = {}
        self._common = CommonTerms()

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
        """Load the star's vectors into the cache, ``WARM_ROWS`` per hop (a cold star's first turn)."""
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
        """:meth:`search` on PostgreSQL (hops on the event loop): vectors ranked in a thread between hops."""
        keys = self._keys(star_id, user_id, query)
        lexical = await self.db.run(lambda conn: self._gather(conn, star_id, user_id, query, keys))
        if lexical is None:
            await self.warm(star_id, user_id, query)
            lexical = await self.db.run(lambda conn: self._gather(conn, star_id, user_id, query, keys))
        if lexical is None:  # forgotten meanwhile
            return []
        dense = await asyncio.to_thread(dense_ranking, self.vectors, keys, query.vector)
        return await self.db.run(lambda conn: self._read(conn, star_id, user_id, limit, (lexical, *dense)))

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
        return self._lexical(conn, star_id, user_id, query.tokens, known=known)

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

    def _total(self, conn: Connection, star_id: str) -> int:
        last = conn.scalar(_LAST_ID, {"sid": star_id})
        last = -1 if last is None else int(last)
        cached = self._totals.get(star_id)
        if cached is None or cached[0] != last:
            count = int(conn.execute(_COUNT, {"sid": star_id}).one()[0] or 0)
            cached = self._totals[star_id] = (last, count)
        return max(1, cached[1])

    def _hits(
        self, conn: Connection, star_id: str, user_id: str | None, terms: Sequence[str]
    ) -> dict[str, list[int]]:
        if self.db.is_sqlite:
            return {
                term: [
                    int(r[0])
                    for r in conn.execute(
                        _FTS_HITS, {"q": _fts_query(star_id, user_id, term), "cap": PER_TERM_CAP}
                    )
                ]
                for term in terms
            }
        params = {"terms": list(terms), "sid": star_id, "uid": user_id or "", "cap": PER_TERM_CAP}
        found: dict[str, list[int]] = {term: [] for term in terms}
        for term, moment_id in conn.execute(_PG_HITS, params):
            found[term].append(int(moment_id))
        return found

    def _lexical(
        self, conn: Connection, star_id: str, user_id: str | None, terms: Sequence[str], *, known: int = 0
    ) -> dict[int, float]:
        """Moment id -> rarity-weighted share of the terms it holds, in [0, 1]."""
        if not terms:
            return {}
        common = self._common.of(star_id, user_id)
        asked = [t for t in terms if t not in common]
        if not asked:
            return {}
        total = known or self._total(conn, star_id)
        scores: dict[int, float] = {}
        possible = 0.0
        for term, hits in self._hits(conn, star_id, user_id, asked).items():
            if len(hits) >= PER_TERM_CAP:
                # In more moments than were read: which of them came back says nothing, so the term is
                # not a lexical clue; remembered, its index lookup (the slowest of a turn) is not repeated.
                self._common.add(star_id, user_id, term)
                continue
            idf = math.log(1 + total / max(1, len(hits)))
            possible += idf if hits else math.log(1 + total)
            for moment_id in hits:
                scores[moment_id] = scores.get(moment_id, 0.0) + idf
        if not possible:
            return {}
        shares = {k: v / possible for k, v in scores.items()}
        return {k: v for k, v in shares.items() if v >= _LEXICAL_FLOOR}

    async def recent_star_texts(self, star_id: str, limit: int) -> list[str]:
        """The texts of the star's ``limit`` most recent text messages (one indexed range, newest first)."""
        return await self.db.run(
            lambda conn: list(conn.scalars(_RECENT_STAR_TEXTS, {"sid": star_id, "n": limit}))
        )

    # --- Writing ------------------------------------------------------------------------------------

    def moment_rows(
        self, star_id: str, user_id: str | None, moments: Sequence[Moment], tokens: Sequence[Sequence[str]]
    ) -> list[dict[str, Any]]:
        """Insert rows for ``moments`` (``tokens``: their morphemes), without vectors."""
        scope = _scope(star_id, user_id)
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
                "scope": scope,
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
        self._common.forget_user(user_id)
        return int(removed or 0)

    def forget_star(self, star_id: str) -> None:
        """Drop what this process cached of a deleted star (its rows go with the star's cascade)."""
        self.vectors.forget(star_id)
        self._totals.pop(star_id, None)
        self._common.forget(star_id)
