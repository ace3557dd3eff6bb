"""Hubs in the dense half of memory search: moments near every question a little, taken down.

Embedders give some texts of a chat a place close to many others: small talk said a hundred ways ("밥
먹었어?", "날씨 많이 추워졌다"). Such a moment is among the nearest of almost any question, and crowds a
specific memory out of the few kept (hubness). A moment's *crowding* is its mean similarity to its
``HUB_NEIGHBOURS`` nearest moments of a fixed sample of the star's (a :class:`Reference`, drawn evenly
over its memory); search ranks the ``HUB_SHORTLIST`` nearest again less ``HUB_WEIGHT`` times their crowding
(the correction of CSLS, against a sample instead of every moment). ``bench/memory_recall.py``: recall@1 and
@5 rose on both sets, for any weight between 0.3 and 1 and any sample from 128 to 512 moments.

A moment's crowding depends only on it and the sample, so it is computed once per reference and kept: a
turn pays only for moments no earlier turn ranked (numpy's own loop, not a multi-threaded BLAS call, which
fought the bot's threads for a 2-core machine).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

REFERENCE_ROWS = 256
"""Moments of a star, spread over its memory, that a candidate's crowding is measured against."""
HUB_SHORTLIST = 60
"""Moments nearest the query whose crowding is weighed before the final ranking."""
HUB_NEIGHBOURS = 10
HUB_WEIGHT = 0.5
"""How much of a moment's crowding is taken off its score."""
KEPT = 200_000
"""Crowding values a reference keeps (then starts again): at most a few MB."""


def without(rows: npt.NDArray[np.float32], shared: npt.NDArray[np.float32] | None) -> npt.NDArray[np.float32]:
    """``rows`` less their part along the unit vector ``shared`` (unchanged without one)."""
    if shared is None:
        return np.ascontiguousarray(rows, dtype=np.float32)
    return np.ascontiguousarray(rows - np.outer(rows @ shared, shared), dtype=np.float32)


class Reference:
    """A fixed sample of a star's moment vectors (shared direction taken out) and the crowding measured."""

    def __init__(self, vectors: npt.NDArray[np.float32], shared: npt.NDArray[np.float32] | None) -> None:
        self.vectors = vectors
        self.shared = shared
        self._known: dict[int, float] = {}
        self._lock = threading.Lock()

    @classmethod
    def draw(
        cls, blocks: Sequence[npt.NDArray[np.float32]], shared: npt.NDArray[np.float32] | None
    ) -> Reference | None:
        """``REFERENCE_ROWS`` rows spread evenly over ``blocks`` (``None``: too few to tell crowded apart)."""
        sizes = [len(b) for b in blocks]
        rows = sum(sizes)
        if rows < 4 * HUB_NEIGHBOURS:
            return None
        starts = np.cumsum([0, *sizes[:-1]])
        picked = np.unique(np.linspace(0, rows - 1, REFERENCE_ROWS).astype(np.int64))
        block = np.searchsorted(starts, picked, side="right") - 1
        sample = np.stack([blocks[b][i - starts[b]] for b, i in zip(block, picked, strict=True)])
        return cls(without(sample, shared), shared)

    def crowding(self, ids: npt.NDArray[np.int64], rows: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Each moment's mean similarity to its ``HUB_NEIGHBOURS`` nearest reference rows, the nearest left
        out (a moment drawn into the sample would count itself); ``rows``: the moments' vectors."""
        with self._lock:
            found = [self._known.get(int(i)) for i in ids]
        missing = [n for n, value in enumerate(found) if value is None]
        if missing:
            near = np.einsum("ij,kj->ik", without(rows[missing], self.shared), self.vectors)
            near.partition(near.shape[1] - HUB_NEIGHBOURS - 1, axis=1)
            top = near[:, -HUB_NEIGHBOURS - 1 :]
            measured = (top.sum(axis=1) - top.max(axis=1)) / HUB_NEIGHBOURS
            with self._lock:
                if len(self._known) > KEPT:
                    self._known.clear()
                for n, value in zip(missing, measured, strict=True):
                    found[n] = self._known[int(ids[n])] = float(value)
        return np.asarray(found, dtype=np.float32)
