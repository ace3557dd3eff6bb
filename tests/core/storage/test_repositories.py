"""Repositories behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.domain.flows import RunningFlow
from core.domain.identity import Locale, Platform, UserRef
from core.domain.stars import StarStatus, TurnRole
from core.storage.db import Database
from core.storage.ids import new_id, utcnow
from core.storage.memory import MemoryStore
from core.storage.memory_index import MemoryIndexer
from core.storage.models import StarRow
from core.storage.repositories import (
    ChatRepository,
    ConsentRepository,
    FlowRepository,
    StarRepository,
    UserRepository,
)


def ref(uid: str) -> UserRef:
    return UserRef(platform=Platform.TELEGRAM, platform_user_id=uid)


async def make_star(db: Database, owner_id: str, name: str = "엄마") -> str:
    star_id = new_id()
    async with db.write() as s:
        s.add(
            StarRow(
                id=star_id,
                owner_id=owner_id,
                name=name,
                relation="어머니",
                participant_name=name,
                notes="",
                status="active",
                created_at=utcnow(),
            )
        )
    return star_id


class Msg:
    def __init__(self, time: datetime, author: str, text: str, kind: str = "text") -> None:
        self.time, self.author, self.text, self.kind = time, author, text, kind


async def test_users_are_created_once_per_platform_identity(db: Database) -> None:
    users = UserRepository(db)
    a = await users.get_or_create(ref("1"), display_name="민지", locale=Locale.KO)
    again = await users.get_or_create(ref("1"), display_name="other", locale=Locale.EN)
    other_platform = await users.get_or_create(
        UserRef(platform=Platform.DISCORD, platform_user_id="1"), display_name="x", locale=Locale.EN
    )
    assert a.id == again.id
    assert again.display_name == "민지"
    assert other_platform.id != a.id
    await users.set_locale(a.id, Locale.EN)
    reloaded = await users.get(a.id)
    assert reloaded is not None and reloaded.locale is Locale.EN and reloaded.locale_is_explicit
    assert await users.count() == 2


async def test_stars_are_only_visible_to_their_owner(db: Database) -> None:
    users, stars = UserRepository(db), StarRepository(db)
    alice = await users.get_or_create(ref("alice"), display_name="a", locale=Locale.KO)
    bob = await users.get_or_create(ref("bob"), display_name="b", locale=Locale.KO)
    star_id = await make_star(db, alice.id)
    assert (await stars.get_owned(star_id, alice.id)) is not None
    assert await stars.get_owned(star_id, bob.id) is None
    assert await stars.list_owned(bob.id) == []
    assert not await stars.delete_owned(star_id, bob.id)
    assert not await stars.set_status(star_id, bob.id, StarStatus.RETIRED)
    assert await stars.set_status(star_id, alice.id, StarStatus.RETIRED)
    star = await stars.get_owned(star_id, alice.id)
    assert star is not None and star.status is StarStatus.RETIRED
    assert await stars.delete_owned(star_id, alice.id)
    assert await stars.list_owned(alice.id) == []


async def test_chat_history_order_reset_and_last_turns(db: Database) -> None:
    users, chats = UserRepository(db), ChatRepository(db)
    user = await users.get_or_create(ref("u"), display_name="u", locale=Locale.KO)
    s1, s2 = await make_star(db, user.id, "엄마"), await make_star(db, user.id, "아빠")
    await chats.add(user.id, s1, TurnRole.USER, ["안녕"])
    await chats.add(user.id, s1, TurnRole.STAR, ["그래", "밥은 먹었어?"], engine="offline")
    recent = await chats.recent(user.id, s1)
    assert [t.text for t in recent] == ["안녕", "그래", "밥은 먹었어?"]
    last = await chats.last_turns(user.id, [s1, s2])
    assert last[s1].text == "밥은 먹었어?" and s2 not in last
    await chats.reset_context(user.id, s1)
    assert await chats.recent(user.id, s1) == []
    assert len(await chats.all_turns(user.id, s1)) == 3


async def test_flow_state_round_trips(db: Database) -> None:
    users, flows = UserRepository(db), FlowRepository(db)
    user = await users.get_or_create(ref("f"), display_name="f", locale=Locale.KO)
    await flows.save(user.id, "create_star", "name", {"a": 1, "이름": "엄마"})
    assert await flows.get(user.id) == RunningFlow(
        kind="create_star", step="name", data={"a": 1, "이름": "엄마"}
    )
    await flows.save(user.id, "create_star", "relation", {"a": 2})
    assert await flows.get(user.id) == RunningFlow(kind="create_star", step="relation", data={"a": 2})
    assert await flows.clear(user.id) == {"a": 2}  # what the ended flow held, for releasing its uploads
    assert await flows.get(user.id) is None
    assert await flows.clear(user.id) is None


async def test_failed_write_rolls_back(db: Database) -> None:
    users = UserRepository(db)
    user = await users.get_or_create(ref("tx"), display_name="t", locale=Locale.KO)
    with pytest.raises(RuntimeError):  # noqa: PT012 (the whole transaction must fail)
        async with db.write() as s:
            s.add(
                StarRow(
                    id=new_id(),
                    owner_id=user.id,
                    name="x",
                    relation="",
                    participant_name="x",
                    notes="",
                    status="active",
                    created_at=utcnow(),
                )
            )
            await s.flush()
            raise RuntimeError("boom")
    assert await StarRepository(db).list_owned(user.id) == []


async def test_consents_are_recorded_with_time(db: Database) -> None:
    users, consents = UserRepository(db), ConsentRepository(db)
    user = await users.get_or_create(ref("c"), display_name="c", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    await consents.record(user.id, "star_creation", "I am 18+", star_id=star_id)
    assert await consents.has(user.id, "star_creation", star_id)
    assert not await consents.has(user.id, "voice_clone", star_id)
    listed = await consents.list_for(user.id, star_id)
    assert listed[0].kind == "star_creation" and listed[0].given_at


async def test_memory_import_is_idempotent_and_searchable(db: Database) -> None:
    users, memory = UserRepository(db), MemoryStore(db)
    user = await users.get_or_create(ref("m"), display_name="m", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    t0 = datetime(2023, 5, 3, 18, 0)
    msgs = [
        Msg(t0, "민지", "엄마 김치찌개 먹고 싶다"),
        Msg(t0, "엄마", "주말에 와 김치찌개 끓여줄게"),
        Msg(t0, "엄마", "주말에 와 김치찌개 끓여줄게"),  # the same text twice is two messages
        Msg(t0.replace(hour=19), "민지", "밥 먹었어"),
        Msg(t0.replace(hour=19), "엄마", "잘했네 ㅎㅎ"),
        Msg(t0.replace(hour=20), "민지", "Do you remember the beach trip?"),
        Msg(t0.replace(hour=20), "엄마", "Of course, the sunset was beautiful"),
    ]
    async with db.write() as s:
        assert await memory.import_messages(s, star_id, msgs, "엄마") == 7
    async with db.write() as s:
        assert await memory.import_messages(s, star_id, msgs, "엄마") == 0
    assert await memory.count(star_id) == 7
    await MemoryIndexer(memory).index_star(star_id)
    hits = await memory.search(star_id, "김치찌개 생각나")
    assert hits and "끓여줄게" in hits[0].text
    short = await memory.search(star_id, "밥은?")  # one syllable: a morpheme, not a trigram
    assert short and "잘했네" in short[0].text
    english = await memory.search(star_id, "beach")
    assert english and "sunset" in english[0].text
    assert await memory.search(star_id, "우주선") == []


async def test_imports_in_one_transaction_each_store_only_their_own_rows(db: Database) -> None:
    """Several batches (and several imports) in one caller's transaction: each batch's staged rows are
    written once, and rows deleted in between stay deleted."""
    from datetime import timedelta

    from sqlalchemy import delete

    from core.storage.models import StarMessageRow
    from core.storage.star_messages import _BATCH

    users, memory = UserRepository(db), MemoryStore(db)
    user = await users.get_or_create(ref("tx"), display_name="t", locale=Locale.KO)
    first, second = await make_star(db, user.id), await make_star(db, user.id)
    t0 = datetime(2020, 1, 1)
    many = [Msg(t0 + timedelta(minutes=i), "엄마", f"밥 먹었니 {i}") for i in range(2 * _BATCH + 5)]
    async with db.write() as s:
        assert await memory.import_messages(s, first, many, "엄마") == 2 * _BATCH + 5
        await s.execute(delete(StarMessageRow).where(StarMessageRow.star_id == first))
        assert await memory.import_messages(s, second, many[:3], "엄마") == 3
    assert await memory.count(first) == 0
    assert await memory.count(second) == 3


async def test_deleting_a_user_cascades(db: Database) -> None:
    users, chats, memory = UserRepository(db), ChatRepository(db), MemoryStore(db)
    user = await users.get_or_create(ref("del"), display_name="d", locale=Locale.KO)
    star_id = await make_star(db, user.id)
    await chats.add(user.id, star_id, TurnRole.USER, ["hi"])
    async with db.write() as s:
        await memory.import_messages(s, star_id, [Msg(datetime(2023, 1, 1), "엄마", "사랑해")], "엄마")
    await users.delete(user.id)
    assert await memory.count(star_id) == 0
    assert await chats.all_turns(user.id, star_id) == []
