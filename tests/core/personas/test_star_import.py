"""Creating a star streams the export in short batches: counts, profile, index, damage and clean-up."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core.domain.identity import Locale, Platform, UserRef
from core.personas.kakao import KakaoMessage, KakaoParseError, KakaoReader, parse_export
from core.personas.kakao.parser import Record
from core.personas.stars import NewStar, StarService
from core.personas.style import build_style_profile
from core.storage.blobs import LocalBlobStore
from core.storage.db import Database
from core.storage.memory import MemoryStore
from core.storage.memory_index import MemoryIndexer
from core.storage.models import BlobRefRow, ConsentRow, StarMessageRow, StarRow, StyleProfileRow
from core.storage.repositories import UserRepository
from tests.support.kakao import write_export

START = datetime(2021, 4, 1, 9, 0)
_MOM = ("밥은 먹었니?", "우리 아들 오늘도 고생했어 ㅋㅋ", "김치찌개 끓여놨어~~", "사진", "조심히 들어가")
_SON = ("네 먹었어요", "엄마 보고 싶어요", "주말에 갈게요")


def conversation(count: int, start: datetime = START) -> list[KakaoMessage]:
    """Mother and son taking turns, a few minutes apart."""
    out = []
    when = start
    for i in range(count):
        mom = i % 3 != 2
        pool = _MOM if mom else _SON
        body = pool[i % len(pool)]
        kind = "media" if body == "사진" else "text"
        out.append(KakaoMessage(time=when, author="엄마" if mom else "민수", kind=kind, text=body))  # type: ignore[arg-type]
        when += timedelta(minutes=1 + i % 4)
    return out


@pytest.fixture
async def service(db: Database, tmp_path: Path) -> StarService:
    memory = MemoryStore(db)
    return StarService(
        db,
        memory,
        LocalBlobStore(tmp_path / "blobs"),
        max_export_bytes=20_000_000,
        indexer=MemoryIndexer(memory),
    )


async def owner(db: Database) -> str:
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="u"), display_name="u", locale=Locale.KO
    )
    return user.id


async def stored(service: StarService, path: Path) -> str:
    return await service.blobs.put_file(path)


async def counts(db: Database) -> dict[str, int]:
    out = {}
    async with db.read() as s:
        for row in (StarRow, StarMessageRow, StyleProfileRow, ConsentRow, BlobRefRow):
            out[row.__tablename__] = int(await s.scalar(select(func.count()).select_from(row)) or 0)
    return out


async def test_create_streams_every_message_and_profiles_the_star(
    service: StarService, db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "talk.txt"
    messages = conversation(600)
    write_export(path, "pc_windows_ko", messages)
    summary = await service.parse(path)
    assert summary.participants() == {"엄마": 400, "민수": 200}
    assert summary.messages == 600 and summary.skipped_lines == 0

    new = NewStar(owner_id=await owner(db), name="엄마", relation="어머니", participant="엄마")
    result = await service.create(new, await stored(service, path), consent_text="ok")
    assert result.imported == 600 and result.skipped_lines == 0
    star = [m for m in messages if m.author == "엄마"]
    assert result.profile == build_style_profile(star, [m for m in messages if m.author == "민수"])
    assert result.profile.message_count == sum(1 for m in star if m.kind == "text")
    found = await service.memory.search(result.star.id, "김치찌개 생각나")
    assert found and "김치찌개" in found[0].text and found[0].source == "export"
    rows = await counts(db)
    assert rows["star_messages"] == 600
    assert await service.profile(result.star.id) == result.profile


async def test_a_longer_export_adds_only_the_new_messages(
    service: StarService, db: Database, tmp_path: Path
) -> None:
    messages = conversation(300)
    first, longer = tmp_path / "a.txt", tmp_path / "b.txt"
    write_export(first, "android_ko", messages[:200])
    write_export(longer, "android_ko", messages)
    new = NewStar(owner_id=await owner(db), name="엄마", relation="", participant="엄마")
    result = await service.create(new, await stored(service, first), consent_text="ok")
    assert await service.add_export(result.star, await stored(service, first)) == 0
    assert await service.add_export(result.star, await stored(service, longer)) == 100
    assert await service.memory.count(result.star.id) == 300
    found = await service.memory.search(result.star.id, "주말에 갈게요")
    assert found


async def test_a_file_damaged_near_the_end_imports_what_it_can(
    service: StarService, db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "damaged.txt"
    write_export(path, "pc_windows_ko", conversation(500))
    lines = path.read_bytes().split(b"\n")
    lines.insert(len(lines) - 20, b"[\xea\xb9 \xff\xfe] broken line")
    path.write_bytes(b"\n".join(lines))
    summary = await service.parse(path)
    assert summary.skipped_lines >= 1
    new = NewStar(owner_id=await owner(db), name="엄마", relation="", participant="엄마")
    result = await service.create(new, await stored(service, path), consent_text="ok")
    assert result.skipped_lines == summary.skipped_lines
    assert result.imported == summary.messages == len(parse_export(path).messages)


async def test_an_error_mid_file_leaves_no_half_made_star(
    service: StarService, db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "talk.txt"
    write_export(path, "ios_ko", conversation(25_000), crlf=True, bom=True)
    key = await stored(service, path)
    new = NewStar(owner_id=await owner(db), name="엄마", relation="", participant="엄마")
    intact = KakaoReader.records

    def breaks_near_the_end(self: KakaoReader) -> Iterator[Record]:
        yield from itertools.islice(intact(self), 23_700)  # committed batches, then the error
        raise KakaoParseError("kakao.error.damaged", line=99_999)

    monkeypatch.setattr(KakaoReader, "records", breaks_near_the_end)
    with pytest.raises(KakaoParseError):
        await service.create(new, key, consent_text="ok")
    assert all(v == 0 for v in (await counts(db)).values()), await counts(db)

    monkeypatch.setattr(KakaoReader, "records", intact)
    result = await service.create(new, key, consent_text="ok")
    assert result.imported == 25_000
    rows = await counts(db)
    assert rows["stars"] == 1 and rows["star_messages"] == 25_000


async def test_a_participant_who_wrote_nothing_rolls_back(
    service: StarService, db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "talk.txt"
    write_export(path, "pc_windows_en", conversation(50))
    new = NewStar(owner_id=await owner(db), name="아빠", relation="", participant="아빠")
    with pytest.raises(ValueError, match="not in the export"):
        await service.create(new, await stored(service, path), consent_text="ok")
    assert all(v == 0 for v in (await counts(db)).values())
