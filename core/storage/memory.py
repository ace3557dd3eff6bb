"""The star's memory index: retrieval of past exchanges from the imported conversation.

Search uses FTS5 trigram on SQLite and pg_trgm on PostgreSQL for terms of three or more characters, and
``LIKE`` for the 1-2 character terms trigram indexes miss (밥, 사랑, ㅎㅎ). Both databases share one API.
The messages themselves and their import live in ``core.storage.star_messages``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.engine import Connection

from core.storage.db import Database
from core.storage.models import StarMessageRow
from core.storage.star_messages import StarMessageStore, StoredMessage, _stored
from core.text.korean import query_terms

__all__ = ["Exchange", "MemoryStore", "StoredMessage", "query_terms"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Exchange:
    """A retrieved memory: the messages around a hit, and the star's reply to it.

    ``score`` is in [0, 1]: the share of the query's (rarity-weighted) terms the hit matched.
    """

    prompt: tuple[StoredMessage, ...]
    reply: tuple[StoredMessage, ...]
    score: float
    hit_is_star: bool = False

    @property
    def when(self) -> datetime | None:
        """When the exchange happened."""
        first = (self.prompt or self.reply)[:1]
        return first[0].sent_at if first else None


# Retrieval statements, built once: each chat turn runs them (see ``Database.run``).
_COUNT = select(func.count()).where(StarMessageRow.star_id == bindparam("sid"))
_PER_TERM_CAP = 200  # hits read per query term
_FTS_HITS = text(
    # CROSS JOIN: SQLite drives the loop from the full-text index, not the star's rows.
    "SELECT m.seq FROM star_messages_fts f CROSS JOIN star_messages m ON m.id = f.rowid "
    "WHERE star_messages_fts MATCH :q AND m.star_id = :sid AND m.kind = 'text' LIMIT :cap"
)
_LIKE_HITS = (
    select(StarMessageRow.seq)
    .where(
        StarMessageRow.star_id == bindparam("sid"),
        StarMessageRow.kind == "text",
        StarMessageRow.text.like(bindparam("pattern"), escape="\\"),
    )
    .limit(bindparam("cap"))
)
_WINDOW = select(StarMessageRow.__table__).where(
    StarMessageRow.star_id == bindparam("sid"), StarMessageRow.seq.in_(bindparam("seqs", expanding=True))
)


class MemoryStore(StarMessageStore):
    """Imports export messages and retrieves past exchanges for a star."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self._totals: dict[str, tuple[int, int]] = {}

    def _changed(self, star_id: str) -> None:
        self._totals.pop(star_id, None)

    def _total(self, conn: Connection, star_id: str, export_version: int | None) -> int:
        """Message count of a star, cached per export version."""
        if export_version is None:
            export_version = self._export_version(conn, star_id)
        cached = self._totals.get(star_id)
        if cached is not None and cached[0] == export_version:
            return max(1, cached[1])
        total = int(conn.scalar(_COUNT, {"sid": star_id}) or 0)
        self._totals[star_id] = (export_version, total)
        return max(1, total)

    def _hits(self, conn: Connection, star_id: str, term: str, cap: int) -> list[int]:
        if self.db.is_sqlite and len(term) >= 3:
            phrase = '"' + term.replace('"', '""') + '"'
            rows = conn.execute(_FTS_HITS, {"q": phrase, "sid": star_id, "cap": cap})
        else:
            escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            rows = conn.execute(_LIKE_HITS, {"sid": star_id, "pattern": f"%{escaped}%", "cap": cap})
        return [int(r[0]) for r in rows]

    async def search(
        self,
        star_id: str,
        message: str,
        *,
        limit: int = 5,
        per_term_cap: int = _PER_TERM_CAP,
        export_version: int | None = None,
    ) -> list[Exchange]:
        """Past exchanges most relevant to ``message``, best first (every query in one round trip).

        ``export_version``: the star's :meth:`export_version` when the caller already read it.
        """
        terms = query_terms(message)
        if not terms:
            return []
        return await self.db.run(
            lambda conn: self._search(
                conn, star_id, terms, limit, per_term_cap=per_term_cap, export_version=export_version
            )
        )

    def search_on(
        self, conn: Connection, star_id: str, message: str, *, limit: int, export_version: int | None = None
    ) -> list[Exchange]:
        """:meth:`search` for a caller already inside ``Database.run``: the same answer, no hop of its own."""
        terms = query_terms(message)
        if not terms:
            return []
        return self._search(
            conn, star_id, terms, limit, per_term_cap=_PER_TERM_CAP, export_version=export_version
        )

    def _search(
        self,
        conn: Connection,
        star_id: str,
        terms: list[str],
        limit: int,
        *,
        per_term_cap: int,
        export_version: int | None,
    ) -> list[Exchange]:
        total = self._total(conn, star_id, export_version)
        scores: dict[int, float] = {}
        possible = 0.0  # the score of a message matching every term: normalizes scores to [0, 1]
        for term in terms:
            hits = self._hits(conn, star_id, term, per_term_cap)
            if not hits:
                possible += math.log(1 + total)
                continue
            idf = math.log(1 + total / len(hits))
            possible += idf
            for seq in hits:
                scores[seq] = scores.get(seq, 0.0) + idf
        best = sorted(scores, key=lambda seq: (-scores[seq], seq))[: limit * 3]
        if not best:
            return []
        wanted = sorted({i for seq in best for i in range(seq - 3, seq + 7)})
        by_seq = {r.seq: _stored(r) for r in conn.execute(_WINDOW, {"sid": star_id, "seqs": wanted})}
        exchanges: list[Exchange] = []
        used: set[int] = set()
        for seq in best:
            if seq in used:
                continue
            window = [by_seq[i] for i in range(seq - 3, seq + 7) if i in by_seq]
            ex = _exchange_around(window, seq, scores[seq] / possible)
            if ex is None:
                continue
            used.update(m.seq for m in ex.prompt + ex.reply)
            exchanges.append(ex)
            if len(exchanges) >= limit:
                break
        return exchanges


def _exchange_around(window: list[StoredMessage], hit_seq: int, score: float) -> Exchange | None:
    """The hit and its neighbours: prompt = the non-star run at or before it, reply = the star's run."""
    idx = next((i for i, m in enumerate(window) if m.seq == hit_seq), None)
    if idx is None:
        return None
    hit = window[idx]
    if hit.is_star:
        # The star said it: the reply is the star's run, the prompt what the other person said just before.
        start = idx
        while start > 0 and window[start - 1].is_star:
            start -= 1
        end = idx
        while end + 1 < len(window) and window[end + 1].is_star:
            end += 1
        p_start = start
        while p_start > 0 and not window[p_start - 1].is_star:
            p_start -= 1
        return Exchange(
            prompt=tuple(window[p_start:start]),
            reply=tuple(window[start : end + 1]),
            score=score,
            hit_is_star=True,
        )
    start = idx
    while start > 0 and not window[start - 1].is_star:
        start -= 1
    end = idx
    while end + 1 < len(window) and not window[end + 1].is_star:
        end += 1
    r_end = end
    while r_end + 1 < len(window) and window[r_end + 1].is_star:
        r_end += 1
    reply = tuple(window[end + 1 : r_end + 1])
    return Exchange(prompt=tuple(window[start : end + 1]), reply=reply, score=score)
