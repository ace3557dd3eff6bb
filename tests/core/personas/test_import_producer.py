"""A large export is read in a child process: the same rows, profile and errors as the thread path."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from core.domain.identity import Locale, Platform, UserRef
from core.personas.kakao import KakaoMessage, KakaoParseError
from core.personas.stars import NewStar, ParticipantMissing, StarService
from core.storage.blobs import LocalBlobStore
from core.storage.db import Database
from core.storage.memory import MemoryStore
from core.storage.repositories import StarRepository, UserRepository
from core.storage.star_messages import MAX_MESSAGE_CHARS
from tests.support.kakao import write_export
from tests.support.kakao_realistic import STAR, family_chat


async def _rows(db: Database, star_id: str) -> list[tuple[object, ...]]:
    async with db.read() as s:
        result = await s.execute(
            text(
                "SELECT seq, sent_at, author, is_star, kind, text, fingerprint FROM star_messages "
                "WHERE star_id = :sid ORDER BY seq"
            ),
            {"sid": star_id},
        )
        return [tuple(r) for r in result]


async def test_the_child_process_imports_what_the_thread_does(db: Database, tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    export = write_export(tmp_path / "talk.txt", "ios_ko", family_chat(3_000), crlf=True, bom=True)
    key = await store.put_file(export)
    owner = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="p"), display_name="p", locale=Locale.KO
    )
    results = []
    for process_above in (1 << 40, 0):  # a thread, then a child process
        service = StarService(
            db, MemoryStore(db), store, max_export_bytes=1 << 40, process_above_bytes=process_above
        )
        results.append(
            await service.create(
                NewStar(owner_id=owner.id, name="엄마", relation="", participant=STAR), key, consent_text="t"
            )
        )
    thread, child = results
    assert thread.imported == child.imported == 3_000
    assert thread.profile == child.profile
    assert (thread.skipped_lines, thread.shape) == (child.skipped_lines, child.shape)
    assert await _rows(db, thread.star.id) == await _rows(db, child.star.id)

    # Importing the same export again through the child adds nothing: the row keys are the same.
    service = StarService(db, MemoryStore(db), store, max_export_bytes=1 << 40, process_above_bytes=0)
    assert await service.add_export(child.star, key) == 0


async def test_the_child_process_relays_parse_errors_and_a_missing_participant(
    db: Database, tmp_path: Path
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    service = StarService(db, MemoryStore(db), store, max_export_bytes=1 << 40, process_above_bytes=0)
    owner = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="e"), display_name="e", locale=Locale.KO
    )
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\x00\x01\x02 not an export")
    with pytest.raises(KakaoParseError) as caught:
        await service.create(
            NewStar(owner_id=owner.id, name="x", relation="", participant=STAR),
            await store.put_file(binary),
            consent_text="t",
        )
    assert caught.value.key == "kakao.error.binary" and caught.value.line == 1

    export = write_export(tmp_path / "talk.txt", "ios_ko", family_chat(500), crlf=True, bom=True)
    with pytest.raises(ParticipantMissing) as missing:
        await service.create(
            NewStar(owner_id=owner.id, name="x", relation="", participant="아무개"),
            await store.put_file(export),
            consent_text="t",
        )
    assert STAR in missing.value.counts
    assert await StarRepository(db).list_owned(owner.id) == []


async def test_a_huge_message_is_stored_cut_with_a_log_line(
    db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A 3-million-character line used to be kept whole; its stored text is now cut (thread and child)."""
    start = datetime(2020, 5, 1, 9, 0)
    huge = "가나다라마" * 6_000  # 30,000 characters
    messages = [
        KakaoMessage(time=start, author=STAR, kind="text", text="밥은 먹었니"),
        KakaoMessage(time=start + timedelta(minutes=1), author="이지훈", kind="text", text=huge),
        KakaoMessage(
            time=start + timedelta(minutes=2), author=STAR, kind="text", text="x" * MAX_MESSAGE_CHARS
        ),
    ]
    store = LocalBlobStore(tmp_path / "blobs")
    key = await store.put_file(write_export(tmp_path / "talk.txt", "ios_ko", messages, crlf=True, bom=True))
    owner = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="h"), display_name="h", locale=Locale.KO
    )
    for process_above in (1 << 40, 0):  # a thread, then a child process
        service = StarService(
            db, MemoryStore(db), store, max_export_bytes=1 << 40, process_above_bytes=process_above
        )
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="core.personas.stars"):
            result = await service.create(
                NewStar(owner_id=owner.id, name="엄마", relation="", participant=STAR), key, consent_text="t"
            )
        texts = [row[5] for row in await _rows(db, result.star.id)]
        assert texts == ["밥은 먹었니", huge[:MAX_MESSAGE_CHARS], "x" * MAX_MESSAGE_CHARS]
        assert any("1 messages longer than 10000" in r.getMessage() for r in caplog.records), caplog.text
