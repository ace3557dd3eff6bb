"""The turn read: everything an event needs in one round trip, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import Connection

from core.domain.flows import RunningFlow
from core.domain.identity import Locale, Platform, UserRef
from core.domain.stars import StarStatus, TurnRole
from core.ports import StarChat
from core.storage.db import Database
from core.storage.memory import MemoryStore
from core.storage.memory_index import MemoryIndexer
from core.storage.models import StarMessageRow
from core.storage.repositories import ChatRepository, FlowRepository, NewTurns, StarRepository, UserRepository
from core.storage.turns import TurnRepository
from tests.core.storage.test_repositories import make_star


def ref(uid: str) -> UserRef:
    return UserRef(platform=Platform.TELEGRAM, platform_user_id=uid)


@pytest.fixture
def hops(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every ``Database.run`` call (its ``write`` flag), in order."""
    calls: list[bool] = []
    run = db.run

    async def counted(fn: Callable[[Connection], Any], *, write: bool = False) -> Any:
        calls.append(write)
        return await run(fn, write=write)

    monkeypatch.setattr(db, "run", counted)
    return calls


async def add_messages(db: Database, star_id: str, count: int, start: int = 0) -> None:
    rows = [
        {
            "star_id": star_id,
            "seq": start + i,
            "sent_at": datetime(2023, 1, 5, 15, i),
            "author": "엄마",
            "is_star": True,
            "kind": "text",
            "text": f"말 {start + i}",
            "fingerprint": f"{star_id[:8]}-{start + i}",
        }
        for i in range(count)
    ]
    await db.run(lambda conn: conn.execute(insert(StarMessageRow), rows), write=True)


async def test_first_contact_creates_the_user_then_one_read_finds_them(
    db: Database, hops: list[bool]
) -> None:
    turns = TurnRepository(db)
    first = await turns.read(ref("1"), display_name="민지" * 200, locale=Locale.EN, history_turns=20)
    assert hops == [False, True]  # a read that finds no one, then one write that creates and reads
    assert first.user.display_name == ("민지" * 200)[:200]
    assert first.user.locale is Locale.EN and not first.user.locale_is_explicit
    assert first.user.created_at.tzinfo is not None
    assert first.flow is None and first.chat == StarChat(star=None)
    hops.clear()
    again = await turns.read(ref("1"), display_name="other", locale=Locale.KO, history_turns=20)
    assert hops == [False]
    assert again.user == first.user  # found, not re-created with the new name or locale
    assert await UserRepository(db).count() == 1


async def test_a_running_flow_comes_back_and_the_chat_is_not_read(db: Database) -> None:
    turns, users = TurnRepository(db), UserRepository(db)
    user = await users.get_or_create(ref("f"), display_name="f", locale=Locale.KO)
    await users.set_active_star(user.id, await make_star(db, user.id))
    await FlowRepository(db).save(user.id, "create_star", "name", {"name": "엄마", "n": 1})
    state = await turns.read(ref("f"), display_name="f", locale=Locale.KO, history_turns=20)
    assert state.flow == RunningFlow(kind="create_star", step="name", data={"name": "엄마", "n": 1})
    assert state.chat is None  # the flow takes the message
    await FlowRepository(db).clear(user.id)
    state = await turns.read(ref("f"), display_name="f", locale=Locale.KO, history_turns=20)
    assert state.flow is None and state.chat is not None and state.chat.star is not None


async def test_without_history_turns_only_the_user_and_flow_are_read(db: Database) -> None:
    users = UserRepository(db)
    user = await users.get_or_create(ref("c"), display_name="c", locale=Locale.KO)
    await users.set_active_star(user.id, await make_star(db, user.id))
    state = await TurnRepository(db).read(ref("c"), display_name="c", locale=Locale.KO)
    assert state.user == user and state.flow is None and state.chat is None


async def test_the_chat_is_the_active_star_its_history_and_whether_they_talked(
    db: Database, hops: list[bool]
) -> None:
    turns, users, chats = TurnRepository(db), UserRepository(db), ChatRepository(db)
    user = await users.get_or_create(ref("u"), display_name="u", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    await users.set_active_star(user.id, star_id)
    chat = (await turns.read(ref("u"), display_name="u", locale=Locale.KO, history_turns=2)).chat
    assert chat is not None and chat.star == await users.active_star(user.id)
    assert chat.history == () and not chat.talked and chat.export_version == -1
    await chats.add_many(
        user.id,
        star_id,
        [
            NewTurns(role=TurnRole.USER, texts=("a",)),
            NewTurns(role=TurnRole.STAR, texts=("b", "c"), engine="offline"),
        ],
    )
    hops.clear()
    chat = (await turns.read(ref("u"), display_name="u", locale=Locale.KO, history_turns=2)).chat
    assert hops == [False]
    assert chat is not None and chat.talked
    expected = (await chats.recent(user.id, star_id, 2))[-2:]
    assert list(chat.history) == expected
    assert [(t.role, t.text, t.engine) for t in chat.history] == [
        (TurnRole.STAR, "b", "offline"),
        (TurnRole.STAR, "c", "offline"),
    ]
    assert all(t.created_at.tzinfo is not None for t in chat.history)
    assert await turns.star_chat(user.id, 2) == chat
    await chats.reset_context(user.id, star_id)
    chat = await turns.star_chat(user.id, 2)
    assert chat.history == () and chat.talked  # the AI notice was already shown in this conversation


async def test_the_active_star_is_only_ever_the_users_own(db: Database) -> None:
    turns, users = TurnRepository(db), UserRepository(db)
    alice = await users.get_or_create(ref("a"), display_name="a", locale=Locale.KO)
    bob = await users.get_or_create(ref("b"), display_name="b", locale=Locale.KO)
    theirs = await make_star(db, bob.id, "아빠")
    await users.set_active_star(alice.id, theirs)
    state = await turns.read(ref("a"), display_name="a", locale=Locale.KO, history_turns=20)
    assert state.chat == StarChat(star=None)
    assert await turns.star_chat(alice.id, 20) == StarChat(star=None)


async def test_a_retired_star_comes_back_without_its_history(db: Database) -> None:
    turns, users, chats = TurnRepository(db), UserRepository(db), ChatRepository(db)
    user = await users.get_or_create(ref("r"), display_name="r", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    await users.set_active_star(user.id, star_id)
    await chats.add(user.id, star_id, TurnRole.USER, ["안녕"])
    assert await StarRepository(db).set_status(star_id, user.id, StarStatus.RETIRED)
    chat = await turns.star_chat(user.id, 20)
    assert chat.star is not None and chat.star.status is StarStatus.RETIRED
    assert chat.history == ()


async def test_the_export_version_changes_when_an_import_adds_messages(db: Database) -> None:
    turns, users = TurnRepository(db), UserRepository(db)
    user = await users.get_or_create(ref("v"), display_name="v", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    await users.set_active_star(user.id, star_id)
    memory = MemoryStore(db)
    assert (await turns.star_chat(user.id, 20)).export_version == -1 == await memory.export_version(star_id)
    await add_messages(db, star_id, 3)
    first = (await turns.star_chat(user.id, 20)).export_version
    assert first == await memory.export_version(star_id)
    await add_messages(db, star_id, 2, start=3)
    assert (await turns.star_chat(user.id, 20)).export_version > first


async def test_frequent_lines_follow_an_import_by_another_process(db: Database) -> None:
    """The cache is keyed by the export version: a second process's import is seen on the next turn."""
    from core.personas.offline_chat import OfflineChat

    users = UserRepository(db)
    user = await users.get_or_create(ref("o"), display_name="o", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    offline = OfflineChat(MemoryStore(db))
    await add_messages(db, star_id, 2)
    version = await offline.memory.export_version(star_id)
    assert await offline.frequent_lines(star_id, export_version=version) == ("말 0", "말 1")
    await add_messages(db, star_id, 1, start=2)  # as if imported elsewhere: this process was not told
    assert await offline.frequent_lines(star_id, export_version=version) == ("말 0", "말 1")  # cached
    assert await offline.frequent_lines(star_id) == ("말 0", "말 1", "말 2")


async def test_created_at_of_a_new_user_is_now(db: Database) -> None:
    before = datetime.now(UTC)
    state = await TurnRepository(db).read(ref("t"), display_name="t", locale=Locale.KO)
    assert before <= state.user.created_at <= datetime.now(UTC)


async def test_the_read_recalls_the_memories_a_text_brings_back(db: Database, hops: list[bool]) -> None:
    users, memory = UserRepository(db), MemoryStore(db)
    turns = TurnRepository(db, memory)
    user = await users.get_or_create(ref("m"), display_name="m", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    await users.set_active_star(user.id, star_id)
    await add_messages(db, star_id, 5)
    await MemoryIndexer(memory).index_star(star_id)
    said = await memory.prepare("말 3")
    hops.clear()
    state = await turns.read(ref("m"), display_name="m", locale=Locale.KO, history_turns=20, recall=said)
    assert hops == [False]
    assert state.chat is not None and state.chat.memories and state.chat.query == said
    assert list(state.chat.memories) == await memory.search(star_id, said, user_id=user.id, limit=6)
    plain = await turns.read(ref("m"), display_name="m", locale=Locale.KO, history_turns=20)
    assert plain.chat is not None and plain.chat.memories is None  # not asked: not searched
    nothing = await turns.read(
        ref("m"), display_name="m", locale=Locale.KO, history_turns=20, recall=await memory.prepare("?!")
    )
    assert nothing.chat is not None and nothing.chat.memories == ()  # no search terms
    blind = await TurnRepository(db).read(
        ref("m"), display_name="m", locale=Locale.KO, history_turns=20, recall=said
    )
    assert blind.chat is not None and blind.chat.memories is None  # no memory store: the chat searches


async def test_two_processes_meeting_a_new_user_at_once_create_one(database_url: str) -> None:
    # Two Database objects on one database are two bot processes: neither holds the other's write lock.
    first, second = Database(database_url), Database(database_url)
    try:
        for uid in ("a", "b", "c"):
            states = await asyncio.gather(
                *(
                    TurnRepository(db).read(ref(uid), display_name=uid, locale=Locale.KO, history_turns=20)
                    for db in (first, second, first, second)
                )
            )
            assert len({state.user.id for state in states}) == 1
        assert await UserRepository(first).count() == 3
    finally:
        await first.dispose()
        await second.dispose()
