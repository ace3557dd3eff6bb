"""Migration 0004: messages imported before it keep deduplicating, and the index keeps working."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from core.domain.identity import Locale, Platform, UserRef
from core.storage.db import Database
from core.storage.ids import new_id, utcnow
from core.storage.memory import MemoryStore
from core.storage.memory_index import MemoryIndexer
from core.storage.migrate import upgrade_sync
from core.storage.models import StarMessageRow
from core.storage.repositories import UserRepository
from core.storage.star_messages import fingerprint
from tests.support.db import database_at


class Msg:
    def __init__(self, time: datetime, author: str, text: str) -> None:
        self.time, self.author, self.text, self.kind = time, author, text, "text"


T0 = datetime(2022, 7, 1, 21, 0)
MESSAGES = [
    Msg(T0, "민지", "엄마 뭐해"),
    Msg(T0, "엄마", "티비 봐 ㅎㅎ"),
    Msg(T0, "엄마", "티비 봐 ㅎㅎ"),  # the same bubble twice in a minute: two messages
    Msg(T0 + timedelta(minutes=3), "엄마", "된장찌개 먹었어"),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_at_0001(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_at(request.param, "0001", tmp_path) as url:
        yield url


async def _import_the_old_way(db: Database) -> str:
    """Rows as the importer wrote them before 0004: plain SHA-1 fingerprints, indexed by the trigger."""
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="old"), display_name="o", locale=Locale.KO
    )
    star_id = new_id()
    async with db.write() as s:
        # The columns the table had then (the ORM row has grown since).
        await s.execute(
            text(
                "INSERT INTO stars (id, owner_id, name, relation, participant_name, notes, status, created_at) "
                "VALUES (:id, :owner, '엄마', '', '엄마', '', 'active', :at)"
            ),
            {"id": star_id, "owner": user.id, "at": utcnow()},
        )
        seen: dict[tuple[datetime, str, str], int] = {}
        for seq, m in enumerate(MESSAGES):
            ident = (m.time, m.author, m.text)
            seen[ident] = seen.get(ident, 0) + 1
            key = f"{m.time.isoformat()}\x1f{m.author}\x1f{m.text}\x1f{seen[ident]}"
            s.add(
                StarMessageRow(
                    star_id=star_id,
                    seq=seq,
                    sent_at=m.time,
                    author=m.author,
                    is_star=m.author == "엄마",
                    kind="text",
                    text=m.text,
                    fingerprint=hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest(),
                )
            )
    return star_id


async def test_old_imports_still_deduplicate_after_0004(url_at_0001: str) -> None:
    db = Database(url_at_0001)
    try:
        star_id = await _import_the_old_way(db)
        await asyncio.to_thread(upgrade_sync, url_at_0001)
        memory = MemoryStore(db)
        async with db.write() as s:
            assert await memory.import_messages(s, star_id, MESSAGES, "엄마") == 0
            more = [*MESSAGES, Msg(T0 + timedelta(minutes=9), "엄마", "잘 자 우리 딸")]
            assert await memory.import_messages(s, star_id, more, "엄마") == 1
        async with db.read() as s:
            stored = (await s.scalars(select(StarMessageRow).order_by(StarMessageRow.seq))).all()
        assert [r.fingerprint for r in stored][:3] == [
            fingerprint(T0, "민지", "엄마 뭐해", 1),
            fingerprint(T0, "엄마", "티비 봐 ㅎㅎ", 1),
            fingerprint(T0, "엄마", "티비 봐 ㅎㅎ", 2),
        ]
        assert stored[0].fingerprint < stored[3].fingerprint < stored[4].fingerprint  # time-ordered
        await MemoryIndexer(memory).index_star(star_id)  # what `vos memory index` does after 0007
        hits = await memory.search(star_id, "된장찌개")
        assert hits and "된장찌개 먹었어" in hits[0].text
        async with db.read() as s:
            assert await s.scalar(select(func.count()).select_from(StarMessageRow)) == 5
    finally:
        await db.dispose()
