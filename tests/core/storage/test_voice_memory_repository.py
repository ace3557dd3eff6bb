"""Voice memories on SQLite and PostgreSQL: owner checks, full-text and short-term search, deletion."""

from __future__ import annotations

from sqlalchemy import text

from core.domain.identity import Locale, Platform, UserRef
from core.storage.db import Database
from core.storage.repositories import BlobRefRepository, StarRepository, UserRepository
from core.storage.voice_memory_repository import MEMORY_PURPOSE, NewVoiceMemory, VoiceMemoryRepository
from tests.core.storage.test_repositories import make_star


def _memory(key: str, start: float, words: str) -> NewVoiceMemory:
    return NewVoiceMemory(
        recording_id=None, start=start, end=start + 2.5, text=words, language="ko", blob_key=key * 64, size=10
    )


async def _user(db: Database, name: str) -> str:
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id=name), display_name=name, locale=Locale.KO
    )
    return user.id


async def test_memories_are_searchable_and_stay_with_their_owner(db: Database) -> None:
    repo, refs = VoiceMemoryRepository(db), BlobRefRepository(db)
    alice, bob = await _user(db, "alice"), await _user(db, "bob")
    star, other = await make_star(db, alice), await make_star(db, alice)
    kept = await repo.add(
        alice,
        star,
        [
            _memory("a", 1.0, "김치찌개 끓여 놨으니까 밥 먹고 가"),
            _memory("b", 5.0, "Don't forget your warm coat, the wind is strong"),
            _memory("c", 9.0, "사랑해 우리 딸"),
        ],
    )
    await repo.add(alice, other, [_memory("d", 0.0, "김치찌개는 다른 별의 이야기")])
    assert [m.text[:4] for m in kept] == ["김치찌개", "Don'", "사랑해 "]
    assert kept[0].seconds == 2.5 and kept[0].owner_id == alice and kept[0].star_id == star
    assert await repo.count(alice, star) == 3 and await repo.count(bob, star) == 0

    for term, expected in (("김치찌개", 0), ("밥", 0), ("사랑", 2), ("coat", 1), ("WIND", 1), ("딸", 2)):
        hits = await repo.term_hits(alice, star, term)
        assert hits == [kept[expected].id], term
    assert await repo.term_hits(alice, star, "된장") == []
    assert await repo.term_hits(alice, star, "%") == []  # LIKE wildcards are escaped
    assert await repo.term_hits(bob, star, "김치찌개") == []  # another user finds nothing
    assert [m.text for m in await repo.by_ids(bob, star, [kept[0].id])] == []
    assert await repo.by_ids(alice, star, [kept[2].id]) == [kept[2]]
    assert [m.id for m in await repo.listed(alice, star)] == [m.id for m in kept]

    purposes = [u.purpose for u in await refs.list_for(alice, star)]
    assert purposes == [MEMORY_PURPOSE] * 3
    released = await repo.delete_all(alice, star)
    assert sorted(released) == sorted(m.blob_key for m in kept)
    assert await repo.count(alice, star) == 0 and await refs.list_for(alice, star) == []
    assert await repo.term_hits(alice, star, "김치찌개") == []
    assert await repo.count(alice, other) == 1  # the other star keeps its memory

    await StarRepository(db).delete_owned(other, alice)  # /forget: the cascade takes rows and index entries
    async with db.read() as s:
        rows = await s.scalar(text("SELECT count(*) FROM voice_memories"))
        assert rows == 0
        if db.is_sqlite:
            indexed = await s.scalar(
                text("SELECT count(*) FROM fts_voice_memories WHERE text MATCH '김치찌개'")
            )
            assert indexed == 0
