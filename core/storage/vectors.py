"""The dense half of memory search: each star's moment vectors, cached per process, scored with numpy.

Vectors are float32 blobs in ``memory_moments.vector`` on both databases (pgvector is not needed: a star's
memory is at most a few hundred thousand moments, and one matrix product over them takes milliseconds).
A cache entry holds the vectors of one (star, user or the export, embedder) and grows by id: the indexer
embeds a star's moments in id order, so the vectors present always form a prefix and "rows with a vector
after the last id loaded" is all a turn must read (one indexed range). Loading a cold star's matrix takes
several reads of ``WARM_ROWS`` rows, each its own hop, so neither the loop nor a single hop carries it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy import bindparam, select
from sqlalchemy.engine import Connection

from core.storage.models import MemoryMomentRow

WARM_ROWS = 8000
"""Vectors read per hop while loading a star (8000 x 1.5 KB: a few milliseconds of decoding)."""
HOT_ROWS = 400
"""A turn's own hop tops up at most this many new vectors; more means the entry is cold (warm it first)."""

_M = MemoryMomentRow
_NEW_EXPORT = (
    select(_M.id, _M.vector)
    .where(
        _M.star_id == bindparam("sid"),
        _M.user_id.is_(None),
        _M.id > bindparam("after"),
        _M.embedder == bindparam("embedder"),
        _M.vector.is_not(None),
    )
    .order_by(_M.id)
    .limit(bindparam("n"))
)
_NEW_CONVERSATION = (
    select(_M.id, _M.vector)
    .where(
        _M.star_id == bindparam("sid"),
        _M.user_id == bindparam("uid"),
        _M.id > bindparam("after"),
        _M.embedder == bindparam("embedder"),
        _M.vector.is_not(None),
    )
    .order_by(_M.id)
    .limit(bindparam("n"))
)

Key = tuple[str, str | None, str]


@dataclass(slots=True)
class _Entry:
    ids: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    matrix: npt.NDArray[np.float32] | None = None
    last_id: int = 0


class VectorCache:
    """Moment vectors per (star, user or ``None`` for the export, embedder), least recently used dropped."""

    def __init__(self, *, max_entries: int = 64) -> None:
        self._entries: OrderedDict[Key, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self.max_entries = max_entries

    def _entry(self, key: Key) -> _Entry:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry()
                if len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            self._entries.move_to_end(key)
            return entry

    def top_up(self, conn: Connection, key: Key, *, rows: int) -> bool:
        """Read up to ``rows`` vectors added since the last read; whether the entry is now complete."""
        star_id, user_id, embedder = key
        entry = self._entry(key)
        params = {"sid": star_id, "after": entry.last_id, "embedder": embedder, "n": rows + 1}
        if user_id is None:
            fetched = conn.execute(_NEW_EXPORT, params).all()
        else:
            fetched = conn.execute(_NEW_CONVERSATION, {**params, "uid": user_id}).all()
        complete = len(fetched) <= rows
        fetched = fetched[:rows]
        if fetched:
            ids = np.fromiter((r[0] for r in fetched), dtype=np.int64, count=len(fetched))
            block = np.frombuffer(b"".join(bytes(r[1] or b"") for r in fetched), dtype=np.float32).reshape(
                len(fetched), -1
            )
            with self._lock:
                if entry.matrix is None or entry.matrix.shape[1] != block.shape[1]:
                    entry.matrix, entry.ids = block.copy(), ids
                else:
                    entry.matrix = np.vstack([entry.matrix, block])
                    entry.ids = np.concatenate([entry.ids, ids])
                entry.last_id = int(ids[-1])
        return complete

    def nearest(self, key: Key, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The ``k`` moments most similar to ``vector`` (cosine: vectors are normalized), best first."""
        entry = self._entry(key)
        with self._lock:
            matrix, ids = entry.matrix, entry.ids
        if matrix is None or not len(ids) or matrix.shape[1] != vector.shape[0]:
            return []
        sims = matrix @ vector
        k = min(k, len(ids))
        top = np.argpartition(-sims, k - 1)[:k]
        order = top[np.argsort(-sims[top], kind="stable")]
        return [(int(ids[i]), float(sims[i])) for i in order]

    def forget(self, star_id: str) -> None:
        """Drop every entry of a star (deleted, or its moments rebuilt)."""
        with self._lock:
            for key in [k for k in self._entries if k[0] == star_id]:
                del self._entries[key]

    def forget_user(self, user_id: str) -> None:
        """Drop every conversation entry of a user."""
        with self._lock:
            for key in [k for k in self._entries if k[1] == user_id]:
                del self._entries[key]
