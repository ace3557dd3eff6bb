"""The lexical half of memory search: each query morpheme's moments from an index, weighted by rarity.

SQLite: FTS5 over the ``tokens`` column, narrowed by the star and user in ``scope``; PostgreSQL: a GIN index
over the token array, every term's lookup in one round trip. A query reads at most ``PER_TERM_CAP`` moments
per morpheme; nothing scans a star's messages. A morpheme that reaches the cap is no clue and is not looked
up again (``core.storage.memory_terms``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.engine import Connection

from core.storage.memory_terms import CommonTerms
from core.storage.models import MemoryMomentRow

PER_TERM_CAP = 300
"""Moments read per query morpheme: a morpheme in more moments than this says little about any of them."""
_LEXICAL_FLOOR = 0.25
"""A moment holding less than this share of the query's (rarity-weighted) morphemes is not a lexical hit."""

_M = MemoryMomentRow
_COUNT = select(func.count(), func.max(_M.id)).where(_M.star_id == bindparam("sid"), _M.user_id.is_(None))
_LAST_ID = select(func.max(_M.id)).where(_M.star_id == bindparam("sid"), _M.user_id.is_(None))
_FTS_HITS = text("SELECT f.rowid FROM memory_moments_fts f WHERE memory_moments_fts MATCH :q LIMIT :cap")
# Every term's hits in one round trip: each term's own index lookup, capped, side by side.
_PG_HITS = text(
    "SELECT t.term, m.id FROM unnest(CAST(:terms AS text[])) AS t(term) CROSS JOIN LATERAL ("
    "SELECT id FROM memory_moments WHERE string_to_array(tokens, ' ') @> ARRAY[t.term] "
    "AND star_id = :sid AND (user_id IS NULL OR user_id = :uid) LIMIT :cap) AS m"
)


def scope(star_id: str, user_id: str | None) -> str:
    """A moment's ``scope`` column: its star and user (or the export) as FTS5 tokens."""
    return f"s{star_id} " + (f"u{user_id}" if user_id else "export")


def _fts_query(star_id: str, user_id: str | None, term: str) -> str:
    who = f"(export OR u{user_id})" if user_id else "export"
    quoted = '"' + term.replace('"', '""') + '"'
    return f"scope : s{star_id} AND scope : {who} AND tokens : {quoted}"


class LexicalIndex:
    """Lexical rankings of a star's moments, with what this process learned: totals and common morphemes."""

    def __init__(self, *, sqlite: bool) -> None:
        self.sqlite = sqlite
        self._totals: dict[str, tuple[int, int]] = {}
        self._common = CommonTerms()

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
        if self.sqlite:
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

    def ranking(
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

    def forget(self, star_id: str) -> None:
        """Drop what was learned of a star."""
        self._totals.pop(star_id, None)
        self._common.forget(star_id)

    def forget_user(self, user_id: str) -> None:
        """Drop what was learned of a user's conversation moments."""
        self._common.forget_user(user_id)
