"""The dense half of memory search: each star's moment vectors, cached per process, scored with numpy.

Vectors are float32 blobs in ``memory_moments.vector`` on both databases (pgvector is not needed: a star's
memory is at most a few hundred thousand moments: a scan of their principal directions, then an exact
score of a shortlist, takes milliseconds).
A cache entry holds the vectors of one (star, user or the export, embedder) and grows by id: the indexer
embeds a star's moments in id order, so the vectors present always form a prefix and "rows with a vector
after the last id loaded" is all a turn must read (one indexed range). Loading a cold star's vectors takes
several reads of ``WARM_ROWS`` rows, each its own hop, so neither the loop nor a single hop carries it.
A read only keeps its rows as they came (PostgreSQL's hops run on the event loop); joining them into blocks
and sketching them happens in worker threads (``consolidate``, and ``ranked`` before it scores).
"""

from __future__ import annotations

import threading
from array import array
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Connection

from core.storage.memory_hubs import HUB_SHORTLIST, HUB_WEIGHT, Reference
from core.storage.vector_queries import (
    JOINED_CONVERSATION,
    JOINED_EXPORT,
    NEW_BOTH,
    NEW_CONVERSATION,
    NEW_EXPORT,
)

WARM_ROWS = 8000
"""Vectors read per hop while loading a star on SQLite (a worker thread reads them)."""
WARM_ROWS_ON_LOOP = 4000
"""The same on PostgreSQL, whose driver decodes rows on the event loop: joined into one row by the server
(``vector_queries.JOINED_EXPORT``), ~6 MB copied once, a millisecond or two."""
VECTOR_CHARS = 200
"""Characters of a moment the embedder reads (why 200: ``core.storage.memory_index``)."""
VECTOR_SCHEME = f"c{VECTOR_CHARS}"
"""What a stored vector means beside its embedder: a moment's first ``VECTOR_CHARS`` characters. Stored with
the embedder's name (``embedder@scheme``), so vectors built under another scheme (or embedder) are rebuilt."""
HOT_ROWS = 400
"""A turn's own hop tops up at most this many new vectors; more means the entry is cold (warm it first)."""

Key = tuple[str, str | None, str]


BLOCK_ROWS = 8192
"""Vectors are held in blocks of this many rows: never one huge array to copy (a 1M-message star has 200k)."""
SKETCH_FROM = 30_000
"""Entries this large are scanned on a sketch first (their top principal directions), then reranked."""
_SKETCH_DIM = 64
_SHORTLIST = 2048


@dataclass(slots=True)
class _Entry:
    """One cache entry. Rows read arrive as ``pending`` parts (no copy: a read may run on the event loop)
    and are joined into blocks of ``BLOCK_ROWS`` by :meth:`VectorCache._settle`, in a worker thread."""

    ids: list[npt.NDArray[np.int64]] = field(default_factory=list)
    blocks: list[npt.NDArray[np.float32]] = field(default_factory=list)
    sketches: list[npt.NDArray[np.float32] | None] = field(default_factory=list)
    pending: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]] = field(default_factory=list)
    rows: int = 0
    """Rows held, pending parts included."""
    width: int = 0
    epoch: int = 0
    """Raised when the entry starts again (another vector size): a join begun before is dropped."""
    settling: threading.Lock = field(default_factory=threading.Lock)
    """Held while pending parts are joined, so that two threads never join the same parts."""
    mean: npt.NDArray[np.float32] | None = None
    projection: npt.NDArray[np.float32] | None = None
    flat: npt.NDArray[np.float32] | None = None
    """Every sketched block's sketch in one array (blocks 0..len(flat)//BLOCK_ROWS - 1): one scan a turn."""
    last_id: int = 0
    total: npt.NDArray[np.float64] | None = None
    """The sum of every vector of the blocks: its direction is what all of the star's moments share."""
    reference: Reference | None = None
    reference_rows: int = 0
    """How many rows the entry held when ``reference`` was drawn (drawn again once it doubles)."""

    def append(self, ids: npt.NDArray[np.int64], block: npt.NDArray[np.float32]) -> None:
        """Keep rows read (ids ascending, after ``last_id``) as a pending part: no copy, no arithmetic."""
        if self.width and block.shape[1] != self.width:
            self.ids, self.blocks, self.sketches, self.pending = [], [], [], []  # another vector size
            self.mean = self.projection = self.flat = self.total = self.reference = None
            self.rows = self.reference_rows = 0
            self.epoch += 1
        self.width = block.shape[1]
        self.pending.append((ids, block))
        self.rows += len(ids)
        self.last_id = int(ids[-1])


def _principal(block: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The block's mean and its ``_SKETCH_DIM`` principal directions (columns), from the eigenvectors of
    its covariance: the same subspace as an SVD of the block, in a tenth of a second instead of seconds
    (an SVD of 8192 x 384 took 5 s on the busy 2-core machine, most of a cold star's first search)."""
    mean = block.mean(axis=0)
    centred = block - mean
    covariance = np.einsum("ji,jk->ik", centred, centred)  # numpy's own loop: see ``consolidate``
    _, vectors = np.linalg.eigh(covariance.astype(np.float64))
    top = vectors[:, ::-1][:, :_SKETCH_DIM]  # eigh sorts ascending
    return mean, np.ascontiguousarray(top.astype(np.float32))


class _Read:
    """Rows of one read, copied into two buffers as they stream: no row object outlives its step, so
    loading a cold star's hundreds of thousands of vectors leaves the garbage collector nothing to scan
    (holding them as rows set off full collections that stalled the event loop for 300 ms)."""

    __slots__ = ("complete", "ids", "rows", "vectors")

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self.ids = array("q")
        self.vectors = bytearray()
        self.complete = True

    def add(self, moment_id: int, vector: bytes | None) -> None:
        if len(self.ids) >= self.rows:
            self.complete = False  # one row more than asked for: more remain
            return
        self.ids.append(moment_id)
        self.vectors += vector or b""


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
        if conn.dialect.name == "postgresql":
            return self._top_up_joined(conn, key, entry, rows)
        params = {"sid": star_id, "after": entry.last_id, "embedder": embedder, "n": rows + 1}
        if user_id is None:
            result = conn.execute(NEW_EXPORT, params)
        else:
            result = conn.execute(NEW_CONVERSATION, {**params, "uid": user_id})
        read = _Read(rows)
        for moment_id, vector in result:
            read.add(moment_id, vector)
        return self._add(entry, read)

    def _top_up_joined(self, conn: Connection, key: Key, entry: _Entry, rows: int) -> bool:
        star_id, user_id, embedder = key
        params = {"sid": star_id, "after": entry.last_id, "embedder": embedder, "n": rows}
        if user_id is None:
            count, ids, vectors = conn.execute(JOINED_EXPORT, params).one()
        else:
            count, ids, vectors = conn.execute(JOINED_CONVERSATION, {**params, "uid": user_id}).one()
        if count:
            block = np.frombuffer(vectors, dtype=np.float32).reshape(count, -1)
            with self._lock:
                entry.append(np.asarray(ids, dtype=np.int64), block)
        return bool(count < rows)

    def top_up_pair(self, conn: Connection, export: Key, conversation: Key, *, rows: int) -> bool:
        """:meth:`top_up` of the export's entry and a user's conversation entry in one statement."""
        star_id, user_id, embedder = conversation
        first, second = self._entry(export), self._entry(conversation)
        params = {
            "sid": star_id,
            "uid": user_id,
            "embedder": embedder,
            "after_e": first.last_id,
            "after_c": second.last_id,
            "n": rows + 1,
        }
        split = (_Read(rows), _Read(rows))
        for kind, moment_id, vector in conn.execute(NEW_BOTH, params):
            split[int(kind)].add(moment_id, vector)
        done_first = self._add(first, split[0])
        return self._add(second, split[1]) and done_first

    def _add(self, entry: _Entry, read: _Read) -> bool:
        if read.ids:
            # Views of the read's own buffers (nothing copied on the event loop); joined by ``_settle``.
            ids = np.frombuffer(read.ids, dtype=np.int64)
            block = np.frombuffer(read.vectors, dtype=np.float32).reshape(len(ids), -1)
            with self._lock:
                entry.append(ids, block)
        return read.complete

    def _settle(self, entry: _Entry) -> None:
        """Join the entry's pending parts into blocks of ``BLOCK_ROWS`` (worker threads: copies of up to
        a block each), one block at a time, the cache's lock held only to swap them in."""
        with entry.settling:
            while True:
                with self._lock:
                    if not entry.pending:
                        return
                    epoch, parts = entry.epoch, list(entry.pending)
                    tail = len(entry.blocks[-1]) if entry.blocks else BLOCK_ROWS
                    grow = tail < BLOCK_ROWS
                    head = [(entry.ids[-1], entry.blocks[-1])] if grow else []
                room = BLOCK_ROWS - tail if grow else BLOCK_ROWS
                taken, rows = 0, 0
                while taken < len(parts) and rows < room:
                    rows += len(parts[taken][0])
                    taken += 1
                used = parts[:taken]
                ids = np.concatenate([i for i, _ in head + used])
                block = np.concatenate([b for _, b in head + used])
                added = sum(b.sum(axis=0, dtype=np.float64) for _, b in used)
                keep = BLOCK_ROWS  # a grown block fills up to it, as a new one does
                rest = None
                if len(ids) > keep:  # the part that straddles the block's end: its rest waits
                    rest = (ids[keep:].copy(), block[keep:].copy())
                    ids, block = ids[:keep].copy(), block[:keep].copy()  # not views of the whole join
                    added = added - rest[1].sum(axis=0, dtype=np.float64)
                with self._lock:
                    if entry.epoch != epoch:
                        return  # the entry started again meanwhile
                    del entry.pending[:taken]
                    if rest is not None:  # first in line for the next block
                        entry.pending.insert(0, rest)
                    if grow:
                        entry.ids[-1], entry.blocks[-1] = ids, block
                    else:
                        entry.ids.append(ids)
                        entry.blocks.append(block)
                        entry.sketches.append(None)
                    entry.total = added if entry.total is None else entry.total + added

    def _settled(self, key: Key) -> _Entry:
        entry = self._entry(key)
        self._settle(entry)
        return entry

    def consolidate(self, key: Key, *, most: int | None = None) -> None:
        """Join the rows read into blocks and sketch every full block of a large entry (``most``: at most
        that many); call from a worker thread (a cold star's: up to a few seconds).

        The arithmetic runs outside the cache's lock, which a turn on the event loop may wait for, and the
        sketches are joined once at the end, not once per block.
        """
        entry = self._settled(key)
        with self._lock:
            if entry.rows < SKETCH_FROM or not entry.blocks:
                return
            first, mean, projection = entry.blocks[0], entry.mean, entry.projection
        if mean is None or projection is None:
            mean, projection = _principal(first)
            with self._lock:
                if entry.projection is None:
                    entry.mean, entry.projection = mean, projection
                mean, projection = entry.mean, entry.projection
        assert mean is not None
        assert projection is not None
        sketched = 0
        while most is None or sketched < most:
            with self._lock:
                todo = [
                    (i, b)
                    for i, b in enumerate(entry.blocks)
                    if entry.sketches[i] is None and len(b) == BLOCK_ROWS
                ][:1]
            if not todo:
                break
            i, block = todo[0]
            # einsum, not a BLAS matmul: OpenBLAS's threads took both cores and the event loop waited
            # for one (60 ms stalls with 0.2 ms of the loop's own CPU), and were slower on the busy machine.
            sketch = np.ascontiguousarray(np.einsum("ij,jk->ik", block - mean, projection), dtype=np.float32)
            with self._lock:
                if i >= len(entry.blocks) or entry.blocks[i] is not block:
                    return  # the entry started again meanwhile
                entry.sketches[i] = sketch
            sketched += 1
        with self._lock:
            done = 0
            while done < len(entry.sketches) and entry.sketches[done] is not None:
                done += 1
            if entry.flat is not None and len(entry.flat) >= done * BLOCK_ROWS:
                return  # nothing new to join (every turn of a warm star)
            parts = [s for s in entry.sketches[:done] if s is not None]
        flat = np.concatenate(parts) if parts else None
        with self._lock:
            if flat is not None and (entry.flat is None or len(entry.flat) < len(flat)):
                entry.flat = flat

    def shared_direction(self, key: Key) -> npt.NDArray[np.float32] | None:
        """The unit direction of the entry's mean vector (``None``: empty): what its moments all share."""
        entry = self._settled(key)
        with self._lock:
            total = entry.total
        if total is None:
            return None
        norm = float(np.linalg.norm(total))
        return (total / norm).astype(np.float32) if norm > 0 else None

    def reference(self, key: Key) -> Reference | None:
        """The entry's :class:`Reference` (``None``: too few moments), drawn again once the entry doubles."""
        entry = self._settled(key)
        with self._lock:
            rows = entry.rows
            if entry.reference is not None and rows < 2 * entry.reference_rows:
                return entry.reference
            blocks = list(entry.blocks)
        drawn = Reference.draw(blocks, self.shared_direction(key))
        with self._lock:
            entry.reference, entry.reference_rows = drawn, rows
        return drawn

    def nearest(self, key: Key, vector: npt.NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The ``k`` moments most similar to ``vector`` (cosine: vectors are normalized), best first."""
        return [(moment_id, cosine) for moment_id, cosine, _ in self.ranked(key, vector, k)]

    def ranked(
        self,
        key: Key,
        vector: npt.NDArray[np.float32],
        k: int,
        *,
        shared: npt.NDArray[np.float32] | None = None,
        reference: Reference | None = None,
    ) -> list[tuple[int, float, float]]:
        """The ``k`` moments nearest ``vector``, best first: (id, cosine, the score they are ranked by).

        With ``shared`` (a unit vector: :meth:`shared_direction`), moments are ranked by their cosine with
        the query less the part both owe to that direction. Embedders put every text of a chat in a narrow
        cone (e5: cosines of 0.8 and more between unrelated lines), whose axis is the chat's everyday small
        talk; ranking on what is left lets a specific memory outrank the hundredth "밥 먹었어?".
        With ``reference`` (:meth:`reference`), the ``HUB_SHORTLIST`` best are ranked again less
        ``HUB_WEIGHT`` times their crowding (``core.storage.memory_hubs``): small talk near every question a
        little no longer crowds a specific memory out.
        A large entry is scanned on its sketch (``_SKETCH_DIM`` principal directions, a sixth of the bytes)
        for a shortlist, which is then scored exactly; blocks not sketched yet are scored exactly.
        """
        self.consolidate(key, most=1)  # at most one block a turn; a warm-up sketches them all
        entry = self._entry(key)
        with self._lock:
            blocks, ids = list(entry.blocks), list(entry.ids)
            projection, flat = entry.projection, entry.flat
        if not blocks or blocks[0].shape[1] != vector.shape[0]:
            return []
        # einsum's own SIMD loop, not BLAS: a multi-threaded BLAS gemv cost 2-4x more on a busy 2-core
        # machine (its threads fight the bot's), for a product bound by memory bandwidth anyway.
        along = float(vector @ shared) if shared is not None else 0.0
        ranked = vector - along * shared if shared is not None else vector
        scored_ids: list[npt.NDArray[np.int64]] = []
        scored: list[npt.NDArray[np.float32]] = []
        sources: list[npt.NDArray[np.float32]] = []  # the rows scored, chunk by chunk (views where whole)
        sketched = 0
        if flat is not None and projection is not None:
            rough = np.einsum("ij,j->i", flat, ranked @ projection)
            keep = min(_SHORTLIST, len(rough))
            shortlist = np.sort(np.argpartition(rough, len(rough) - keep)[len(rough) - keep :])
            sketched = len(flat) // BLOCK_ROWS
            for b in np.unique(shortlist // BLOCK_ROWS):
                rows = shortlist[shortlist // BLOCK_ROWS == b] % BLOCK_ROWS
                sources.append(blocks[b][rows])
                scored.append(np.einsum("ij,j->i", sources[-1], ranked))
                scored_ids.append(ids[b][rows])
        for block, block_ids in zip(blocks[sketched:], ids[sketched:], strict=True):
            sources.append(block)
            scored.append(np.einsum("ij,j->i", block, ranked))
            scored_ids.append(block_ids)
        rank = np.concatenate(scored)
        all_ids = np.concatenate(scored_ids)
        wide = min(max(k, HUB_SHORTLIST) if reference is not None else k, len(all_ids))
        k = min(k, len(all_ids))
        top = np.argpartition(-rank, wide - 1)[:wide]
        order = top[np.argsort(-rank[top], kind="stable")]
        # The rows of the few kept, found by chunk: their cosine, and their crowding.
        starts = np.cumsum([0] + [len(c) for c in scored[:-1]])
        chunk = np.searchsorted(starts, order, side="right") - 1
        kept = np.stack([sources[c][i - starts[c]] for c, i in zip(chunk, order, strict=True)])
        final = rank[order]
        if reference is not None:
            final = final - HUB_WEIGHT * reference.crowding(all_ids[order], kept)
            best = np.argsort(-final, kind="stable")[:k]
            order, kept, final = order[best], kept[best], final[best]
        sims = np.einsum("ij,j->i", kept, vector)
        return [
            (int(all_ids[i]), float(sim), float(score))
            for i, sim, score in zip(order, sims, final, strict=True)
        ]

    def size(self, key: Key) -> int:
        """How many vectors the entry holds (read so far)."""
        entry = self._entry(key)
        with self._lock:
            return entry.rows

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
