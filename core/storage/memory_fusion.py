"""Fusing the two rankings of memory search (lexical and dense) and spotting near-duplicate moments."""

from __future__ import annotations

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
