"""Fusing the two rankings of memory search (lexical and dense) and spotting near-duplicate moments."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from core.storage.vectors import Key, VectorCache

CANDIDATES = 40
"""Moments each ranking contributes to the fusion."""
_RRF_K = 60


def similar(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two moments are mostly the same words (Jaccard over 0.5): near-duplicate small talk."""
    return bool(a and b) and len(a & b) > 0.5 * len(a | b)


def fuse(lexical: dict[int, float], dense: dict[int, float]) -> dict[int, float]:
    """Reciprocal rank fusion of both rankings, scaled so that first in both scores 1.

    A lexical hit counts as much as the share of the query's words it holds: a moment sharing one common
    word with the question is weak evidence, and must not push a moment that means the same out.
    """
    fused: dict[int, float] = {}
    used = 0
    for ranking, weighted in ((lexical, True), (dense, False)):
        if not ranking:
            continue
        used += 1
        ordered = sorted(ranking, key=lambda i: (-ranking[i], -i))[:CANDIDATES]
        for rank, moment_id in enumerate(ordered):
            weight = ranking[moment_id] if weighted else 1.0
            fused[moment_id] = fused.get(moment_id, 0.0) + weight / (_RRF_K + rank + 1)
    if not used:
        return {}
    top = used / (_RRF_K + 1)
    return {k: v / top for k, v in fused.items()}


def dense_ranking(
    vectors: VectorCache, keys: Sequence[Key], query: npt.NDArray[np.float32] | None
) -> tuple[dict[int, float], dict[int, float]]:
    """The cached moments nearest ``query`` (numpy only, no database: a worker thread may run it): moment
    -> cosine, and moment -> the score the dense ranking is by. The export's shared direction serves both
    entries (``keys[0]`` is the export's), so their scores stay comparable."""
    dense: dict[int, float] = {}
    closeness: dict[int, float] = {}
    if not keys or query is None:
        return dense, closeness
    shared = vectors.shared_direction(keys[0])
    reference = vectors.reference(keys[0])
    for key in keys:
        for moment_id, cosine, score in vectors.ranked(
            key, query, CANDIDATES, shared=shared, reference=reference
        ):
            dense[moment_id], closeness[moment_id] = cosine, score
    return dense, closeness
