"""A large memory cut analyzes its morphemes in a child process: the same tokens, and no child left behind."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from core.domain.identity import Locale, Platform, UserRef
from core.storage import memory_index
from core.storage.db import Database
from core.storage.memory import MemoryStore
from core.storage.memory_index import MemoryIndexer
from core.storage.models import MemoryMomentRow
from core.storage.repositories import UserRepository
from core.text.analyzer_process import AnalyzerProcess
from core.text.morphemes import shared_analyzer
from tests.core.storage.test_repositories import Msg, make_star
from tests.support.processes import record_starts

T0 = datetime(2023, 3, 1, 8, 0)
# Everyday lines in words of their own; a few hours apart, so they make many moments.
_LINES = (
    "텃밭에 상추 심었어",
    "버스 놓쳐서 걸어왔다",
    "Coffee 두 잔 마셨어",
    "손주 생일 선물 샀지",
    "비 와서 빨래 걷었어",
)


async def _star_tokens(db: Database, memory: MemoryStore, user_id: str) -> list[str]:
    star_id = await make_star(db, user_id)
    msgs = [
        Msg(T0 + timedelta(hours=5 * i), "민지" if i % 2 else "엄마", f"{_LINES[i % 5]} {i}")
        for i in range(60)
    ]
    async with db.write() as s:
        await memory.import_messages(s, star_id, msgs, "엄마")
    await MemoryIndexer(memory).index_star(star_id)
    query = select(MemoryMomentRow.tokens).where(MemoryMomentRow.star_id == star_id)
    return await db.run(lambda c: [str(r[0]) for r in c.execute(query.order_by(MemoryMomentRow.id)).all()])


async def test_a_cut_in_a_child_process_stores_the_same_tokens(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory = MemoryStore(db)
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="cut"), display_name="민지", locale=Locale.KO
    )
    alone = await _star_tokens(db, memory, user.id)
    started = record_starts(monkeypatch, AnalyzerProcess)
    monkeypatch.setattr(memory_index, "READ_MESSAGES", 16)
    monkeypatch.setattr(memory_index, "ANALYZE_PROCESS_ABOVE", 16)
    monkeypatch.setattr(memory_index, "INSERT_BATCH", 3)
    apart = await _star_tokens(db, memory, user.id)
    assert len(started) == 1 and started[0]._child is None  # used, then closed
    assert apart == alone and len(alone) > 10 and any(alone)


async def test_the_child_gives_the_analyzers_tokens_and_ends_when_closed_mid_batch() -> None:
    texts = ["강아지가 수술했던 병원", "The weather is nice today", "ㅋㅋ 알았어"]
    child = AnalyzerProcess()
    await child.start()
    try:
        assert await child.many(texts) == shared_analyzer().many(texts)
        process = child._child
        busy = asyncio.ensure_future(child.many(["아주 긴 문장이야 " * 50] * 2000))
        await asyncio.sleep(0.05)
    finally:
        await child.close()
    assert process is not None and not process.is_alive()
    busy.cancel()
    with pytest.raises((asyncio.CancelledError, RuntimeError)):
        await busy
