"""A cold star's first memory search leaves the event loop free: what is heavy runs in worker threads, and
what PostgreSQL's driver must decode on the loop comes in bounded hops (SQLite and PostgreSQL)."""

from __future__ import annotations

import gc
import threading
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy import bindparam, select, update

from core.domain.identity import Locale, Platform, UserRef
from core.storage import memory as memory_module
from core.storage import vectors as v
from core.storage.db import Database
from core.storage.memory import MemoryQuery, MemoryStore
from core.storage.memory_hubs import Reference
from core.storage.memory_index import MemoryIndexer
from core.storage.models import MemoryMomentRow
from core.storage.repositories import UserRepository
from tests.core.storage.test_repositories import Msg, make_star
from tests.support.app import app  # noqa: F401

T0 = datetime(2022, 5, 1, 9, 0)
DIM = 16


class _Thread:
    """Records which thread ran each spied function, and the rows of each vector part kept."""

    def __init__(self) -> None:
        self.loop = threading.get_ident()
        self.ran: dict[str, set[int]] = {}
        self.parts: list[tuple[int, int]] = []

    def spy(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
        original = getattr(owner, name)

        def spied(*args: Any, **kwargs: Any) -> Any:
            self.ran.setdefault(name, set()).add(threading.get_ident())
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, spied)

    def on_loop(self, name: str) -> bool:
        return self.loop in self.ran.get(name, set())


async def _star_with_vectors(db: Database, memory: MemoryStore, moments: int) -> tuple[str, str]:
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="cold"), display_name="민지", locale=Locale.KO
    )
    star_id = await make_star(db, user.id)
    msgs = []
    for i in range(moments):  # one moment each: hours apart
        when = T0 + timedelta(hours=3 * i)
        msgs += [Msg(when, "민지", f"초코 산책 {i}"), Msg(when + timedelta(minutes=1), "엄마", f"그래 {i}")]
    async with db.write() as s:
        await memory.import_messages(s, star_id, msgs, "엄마")
    await MemoryIndexer(memory).index_star(star_id)  # moments and morphemes (no embedder: no vectors)
    ids = await db.run(
        lambda conn: list(conn.scalars(select(MemoryMomentRow.id).where(MemoryMomentRow.star_id == star_id)))
    )
    rng = np.random.default_rng(2)
    rows = rng.standard_normal((len(ids), DIM)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    statement = (
        update(MemoryMomentRow)
        .where(MemoryMomentRow.id == bindparam("mid"))
        .values(vector=bindparam("vec"), embedder=bindparam("emb"))
    )
    values = [{"mid": i, "vec": r.tobytes(), "emb": "e@c200"} for i, r in zip(ids, rows, strict=True)]
    await db.run(lambda conn: conn.execute(statement, values), write=True)
    return star_id, user.id


async def test_a_cold_star_is_loaded_and_ranked_off_the_event_loop(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A small star made "large": blocks of 64, sketched from 150 moments, 40 rows a warming hop.
    monkeypatch.setattr(v, "BLOCK_ROWS", 64)
    monkeypatch.setattr(v, "SKETCH_FROM", 150)
    monkeypatch.setattr(memory_module, "WARM_ROWS", 40)
    monkeypatch.setattr(memory_module, "WARM_ROWS_ON_LOOP", 40)
    monkeypatch.setattr(memory_module, "HOT_ROWS", 20)
    memory = MemoryStore(db)
    star_id, user_id = await _star_with_vectors(db, memory, 300)
    seen = _Thread()
    for name in ("_settle", "consolidate", "ranked", "reference", "shared_direction"):
        seen.spy(monkeypatch, v.VectorCache, name)
    seen.spy(monkeypatch, v, "_principal")
    seen.spy(monkeypatch, Reference, "draw")
    append = v._Entry.append

    def kept(entry: v._Entry, ids: Any, block: Any) -> None:
        seen.parts.append((threading.get_ident(), len(ids)))
        append(entry, ids, block)

    monkeypatch.setattr(v._Entry, "append", kept)
    query = MemoryQuery(
        text="초코 산책", tokens=("초코", "산책"), vector=np.eye(DIM, dtype=np.float32)[0], embedder="e@c200"
    )
    found = await memory.search(star_id, query, user_id=user_id, limit=5)
    assert found and memory.vectors.size((star_id, None, "e@c200")) == 300
    # Joining rows into blocks, principal directions, sketches, the ranking: never on the loop.
    for name in ("_settle", "consolidate", "_principal", "ranked", "reference", "shared_direction", "draw"):
        assert seen.ran.get(name), name
        assert not seen.on_loop(name), name
    # What reaches the loop at all (PostgreSQL's driver decodes there) is one warming hop's rows.
    on_loop = [rows for thread, rows in seen.parts if thread == seen.loop]
    assert max(on_loop, default=0) <= 40
    if db.is_sqlite:
        assert not on_loop  # SQLite's hops run in a worker thread


def test_parts_read_are_joined_into_whole_blocks_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(v, "BLOCK_ROWS", 64)
    cache = v.VectorCache()
    key: v.Key = ("star", None, "e")
    rng = np.random.default_rng(4)
    rows = rng.standard_normal((300, 8)).astype(np.float32)
    start = 0
    for size in (10, 70, 1, 64, 100, 55):  # parts that straddle block ends, and one of a whole block
        part = rows[start : start + size]
        cache._entry(key).append(np.arange(start + 1, start + size + 1, dtype=np.int64), part)
        start += size
    entry = cache._entry(key)
    assert entry.rows == 300 and entry.last_id == 300 and not entry.blocks  # nothing joined on reading
    cache.consolidate(key)
    assert [len(b) for b in entry.blocks] == [64, 64, 64, 64, 44] and not entry.pending
    assert np.array_equal(np.concatenate(entry.blocks), rows)
    assert np.array_equal(np.concatenate(entry.ids), np.arange(1, 301))
    assert entry.total is not None and np.allclose(entry.total, rows.sum(axis=0, dtype=np.float64), atol=1e-4)
    cache._entry(key).append(np.array([301], dtype=np.int64), rows[:1])  # a turn's new moment
    assert cache.nearest(key, rows[0], 2)[0][0] in (1, 301)  # ranking joins what is pending first
    assert [len(b) for b in entry.blocks] == [64, 64, 64, 64, 45]


async def test_recent_star_texts_come_newest_first_in_bounded_hops(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_module, "TEXTS_PER_HOP_ON_LOOP", 7)
    memory = MemoryStore(db)
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="t"), display_name="민지", locale=Locale.KO
    )
    star_id = await make_star(db, user.id)
    msgs = [Msg(T0 + timedelta(minutes=i), "엄마" if i % 2 else "민지", f"말 {i}") for i in range(60)]
    async with db.write() as s:
        await memory.import_messages(s, star_id, msgs, "엄마")
    hops = 0
    run = db.run

    async def counted(fn: Any, **kwargs: Any) -> Any:
        nonlocal hops
        hops += 1
        return await run(fn, **kwargs)

    monkeypatch.setattr(db, "run", counted)
    texts = await memory.recent_star_texts(star_id, 20)
    assert texts == [f"말 {i}" for i in range(59, 19, -2)]
    assert hops == (1 if db.is_sqlite else 3)  # 7 + 7 + 6 on PostgreSQL
    assert await memory.recent_star_texts(star_id, 100) == [f"말 {i}" for i in range(59, 0, -2)]


async def test_the_app_keeps_its_startup_objects_out_of_full_collections(app: Any) -> None:  # noqa: F811
    assert gc.get_freeze_count() > 10_000  # a full collection walks only what turns create
