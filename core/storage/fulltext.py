"""Term search shared by full-text indexes: FTS5 trigram on SQLite, ``LIKE`` (pg_trgm-indexed) elsewhere.

For meeting segments and voice memories (the star's memory has its own morpheme index,
``core.storage.memory_lexical``): a trigram index cannot match terms shorter than three characters
(밥, 사랑), so those go through ``LIKE``; each term's hits are weighted by rarity (IDF), and scores are
normalized by what a row matching every term would get, so they fall in [0, 1].
Query words come from :func:`core.text.korean.query_terms` (particles stripped, stop words dropped).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

from core.text.korean import query_terms

K = TypeVar("K", bound=Hashable)

__all__ = ["fts_phrase", "idf_scores", "like_contains", "query_terms", "uses_trigram_index"]


def uses_trigram_index(is_sqlite: bool, term: str) -> bool:
    """Whether ``term`` can be looked up in an SQLite FTS5 trigram table (three characters or more)."""
    return is_sqlite and len(term) >= 3


def fts_phrase(term: str) -> str:
    """``term`` as one quoted FTS5 phrase (quotes doubled), so user text is never query syntax."""
    return '"' + term.replace('"', '""') + '"'


def like_contains(column: Any, term: str) -> Any:
    """``column LIKE '%term%'`` with ``%``, ``_`` and ``\\`` in the term escaped."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def idf_scores(hits_per_term: Sequence[Sequence[K]], total: int) -> tuple[dict[K, float], float]:
    """Rarity-weighted hit counts per row and the score of a row matching every term.

    ``total`` is how many rows were searched; a term with no hit still counts towards the maximum, so a
    question about something never said keeps a low normalized score.
    """
    total = max(1, total)
    scores: dict[K, float] = {}
    possible = 0.0
    for hits in hits_per_term:
        if not hits:
            possible += math.log(1 + total)
            continue
        idf = math.log(1 + total / len(hits))
        possible += idf
        for key in set(hits):
            scores[key] = scores.get(key, 0.0) + idf
    return scores, possible
