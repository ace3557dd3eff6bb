"""``Database.run`` and the chat-turn queries built on it behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, make_url, select
from sqlalchemy.engine import Connection

from core.domain.identity import Locale, Platform, UserRef
from core.domain.stars import TurnRole
from core.storage.db import Database
from core.storage.models import ChatTurnRow
from core.storage.repositories import ChatRepository, NewTurns, StarRepository, UserRepository
from core.storage.turns import TurnRepository
from tests.core.storage.test_repositories import make_star


def ref(uid: str) -> UserRef:
    return UserRef(platform=Platform.TELEGRAM, platform_user_id=uid)


def _count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(ChatTurnRow)) or 0)


async def test_run_commits_a_write_and_rolls_back_a_failed_one(db: Database) -> None:
    user = await UserRepository(db).get_or_create(ref("1"), display_name="a", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    chats = ChatRepository(db)
    await chats.add(user.id, star_id, TurnRole.USER, ["하나"])

    def add_then_fail(conn: Connection) -> None:
        conn.execute(
            ChatTurnRow.__table__.insert(),
            {
                "user_id": user.id,
                "star_id": star_id,
                "role": "user",
                "text": "x",
                "created_at": user.created_at,
            },
        )
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.run(add_then_fail, write=True)
    assert await db.run(_count) == 1  # the failed transaction left nothing behind


async def test_concurrent_writes_through_run_and_sessions_all_land(db: Database) -> None:
    user = await UserRepository(db).get_or_create(ref("1"), display_name="a", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    chats = ChatRepository(db)
    fast = [chats.add(user.id, star_id, TurnRole.USER, [f"m{i}"]) for i in range(30)]
    slow = [UserRepository(db).set_voice_replies(user.id, i % 2 == 0) for i in range(10)]
    await asyncio.gather(*fast, *slow)  # no "database is locked" on SQLite
    assert await db.run(_count) == 30


async def test_add_many_keeps_the_order_of_message_and_reply(db: Database) -> None:
    user = await UserRepository(db).get_or_create(ref("1"), display_name="a", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    chats = ChatRepository(db)
    said = NewTurns(role=TurnRole.USER, texts=("엄마 뭐해",))
    answered = NewTurns(role=TurnRole.STAR, texts=("밥 먹었어?", "일찍 자", "사랑해"), engine="offline")
    ids = await chats.add_many(user.id, star_id, [said, answered])
    turns = await chats.all_turns(user.id, star_id)
    assert ids == [t.id for t in turns]  # one id per bubble, in the bubbles' order
    # A star bubble's id is its listen key: resolved for its user only, and only a star's words.
    star_turn = await chats.star_turn(user.id, ids[2])
    assert star_turn is not None and star_turn.text == "일찍 자"
    other = await UserRepository(db).get_or_create(ref("2"), display_name="b", locale=Locale.KO)
    assert await chats.star_turn(other.id, ids[2]) is None
    assert await chats.star_turn(user.id, ids[0]) is None  # the user's own words
    assert await chats.star_turn(user.id, "1 OR 1=1") is None
    assert [(t.role, t.text) for t in turns] == [
        (TurnRole.USER, "엄마 뭐해"),
        (TurnRole.STAR, "밥 먹었어?"),
        (TurnRole.STAR, "일찍 자"),
        (TurnRole.STAR, "사랑해"),
    ]
    assert [t.engine for t in turns] == ["", "offline", "offline", "offline"]
    assert await chats.add_many(user.id, star_id, []) == []  # nothing to write is not an error
    assert len(await chats.all_turns(user.id, star_id)) == 4


async def test_recent_and_any_sees_turns_that_reset_took_out_of_context(db: Database) -> None:
    user = await UserRepository(db).get_or_create(ref("1"), display_name="a", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    chats = ChatRepository(db)
    assert await chats.recent_and_any(user.id, star_id) == ([], False)
    await chats.add(user.id, star_id, TurnRole.USER, ["a", "b", "c"])
    history, talked = await chats.recent_and_any(user.id, star_id, 2)
    assert [t.text for t in history] == ["b", "c"] and talked
    await chats.reset_context(user.id, star_id)
    history, talked = await chats.recent_and_any(user.id, star_id)
    assert history == [] and talked  # the AI notice was already shown in this conversation
    assert await chats.has_turns(user.id, star_id)


async def test_active_star_is_only_ever_the_users_own(db: Database) -> None:
    users, stars = UserRepository(db), StarRepository(db)
    alice = await users.get_or_create(ref("a"), display_name="a", locale=Locale.KO)
    bob = await users.get_or_create(ref("b"), display_name="b", locale=Locale.KO)
    assert await users.active_star(alice.id) is None
    mine = await make_star(db, alice.id, "엄마")
    theirs = await make_star(db, bob.id, "아빠")
    await users.set_active_star(alice.id, mine)
    star = await users.active_star(alice.id)
    assert star is not None and star.id == mine and star.name == "엄마"
    await users.set_active_star(alice.id, theirs)  # never reachable through the UI; still not leaked
    assert await users.active_star(alice.id) is None
    await users.set_active_star(alice.id, mine)
    assert await stars.delete_owned(mine, alice.id)
    assert await users.active_star(alice.id) is None


async def test_in_memory_sqlite_falls_back_to_the_async_engine(tmp_path: Path) -> None:
    file_db = Database(f"sqlite+aiosqlite:///{tmp_path / 'f.db'}")
    memory_db = Database("sqlite+aiosqlite://")
    try:
        assert file_db._sync_engine is not None and memory_db._sync_engine is None
        assert await memory_db.run(lambda conn: conn.exec_driver_sql("SELECT 41 + 1").scalar()) == 42
        await memory_db.run(lambda conn: conn.exec_driver_sql("CREATE TABLE t (x INTEGER)"), write=True)
        await memory_db.run(lambda conn: conn.exec_driver_sql("INSERT INTO t VALUES (7)"), write=True)
        assert await memory_db.run(lambda conn: conn.exec_driver_sql("SELECT x FROM t").scalar()) == 7
    finally:
        await file_db.dispose()
        await memory_db.dispose()


async def test_run_after_dispose_still_works(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    await database.dispose()
    try:
        assert await database.run(_count) == 0
    finally:
        await database.dispose()


@pytest.mark.slow
async def test_a_write_waits_out_another_process_holding_the_write_lock(sqlite_url: str) -> None:
    # Another bot process importing a big export holds SQLite's write lock for its whole transaction (a
    # million messages took 22.7 s). The in-process lock cannot cover it: this process's writes must wait in
    # SQLite's busy timeout, not fail with "database is locked" after 10 s.
    database = Database(sqlite_url)
    path = make_url(sqlite_url).database
    assert path is not None
    await database.run(_count)  # the database is in WAL mode, as after the bot's first start
    held = threading.Event()

    def import_elsewhere() -> None:
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(11)
            other.execute("COMMIT")
        finally:
            other.close()

    try:
        holder = asyncio.create_task(asyncio.to_thread(import_elsewhere))
        await asyncio.to_thread(held.wait, 5)
        state, user = await asyncio.gather(
            TurnRepository(database).read(ref("w"), display_name="w", locale=Locale.KO),
            UserRepository(database).get_or_create(ref("v"), display_name="v", locale=Locale.KO),
        )
        await holder
        assert state.user.platform_user_id == "w" and user.platform_user_id == "v"
        assert await UserRepository(database).count() == 2
    finally:
        await database.dispose()
