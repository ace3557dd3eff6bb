"""Migration 0014: the unread full-text index of imported messages goes, and nothing else does."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from core.domain.identity import Locale, Platform, UserRef
from core.storage.db import Database
from core.storage.ids import new_id, utcnow
from core.storage.migrate import alembic_config, check_sync, upgrade_sync
from core.storage.repositories import UserRepository
from tests.support.db import database_at


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url_at_0008(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with database_at(request.param, "0008", tmp_path) as url:
        yield url


async def _star_with_messages(db: Database) -> str:
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id="old"), display_name="o", locale=Locale.KO
    )
    star_id = new_id()
    async with db.write() as s:
        await s.execute(
            text(
                "INSERT INTO stars (id, owner_id, name, relation, participant_name, notes, status, created_at, "
                "import_indexed_to) VALUES (:id, :owner, '엄마', '', '엄마', '', 'active', :at, 3)"
            ),
            {"id": star_id, "owner": user.id, "at": utcnow()},
        )
        for seq, body in enumerate(("밥 먹었어?", "응 먹었어", "된장찌개 끓였어")):
            await s.execute(
                text(
                    "INSERT INTO star_messages (star_id, seq, sent_at, author, is_star, kind, text, fingerprint) "
                    "VALUES (:star, :seq, :at, '엄마', true, 'text', :body, :fp)"
                ),
                {
                    "star": star_id,
                    "seq": seq,
                    "at": datetime(2022, 7, 1, 21, seq),
                    "body": body,
                    "fp": f"fp{seq}",
                },
            )
    if db.is_sqlite:  # 0004 left the FTS5 insert to the importer
        async with db.write() as s:
            await s.execute(text("INSERT INTO star_messages_fts(star_messages_fts) VALUES ('rebuild')"))
    return star_id


async def _shape(db: Database) -> tuple[set[str], set[str], set[str]]:
    """The star table's columns, the message table's indexes and the tables (SQLite: with FTS5's)."""

    def read(conn: object) -> tuple[set[str], set[str], set[str]]:
        found = inspect(conn)
        return (
            {c["name"] for c in found.get_columns("stars")},
            {i["name"] or "" for i in found.get_indexes("star_messages")},
            set(found.get_table_names()),
        )

    async with db.read() as s:
        conn = await s.connection()
        return await conn.run_sync(read)


async def test_0014_drops_the_message_text_index_and_keeps_every_row(url_at_0008: str) -> None:
    db = Database(url_at_0008)
    try:
        star_id = await _star_with_messages(db)
        columns, indexes, tables = await _shape(db)
        assert "import_indexed_to" in columns
        assert ("star_messages_fts" in tables) if db.is_sqlite else ("trgm_star_messages_text" in indexes)

        await asyncio.to_thread(upgrade_sync, url_at_0008)
        columns, indexes, tables = await _shape(db)
        assert "import_indexed_to" not in columns and "trgm_star_messages_text" not in indexes
        assert not {t for t in tables if t.startswith("star_messages_fts")}
        async with db.read() as s:  # dropping the column rebuilt nothing: the star's rows are all there
            assert await s.scalar(text("SELECT count(*) FROM stars WHERE id = :id"), {"id": star_id}) == 1
            assert await s.scalar(text("SELECT count(*) FROM star_messages")) == 3
        async with db.write() as s:  # deleting messages no longer touches a trigger of the dropped index
            await s.execute(text("DELETE FROM star_messages WHERE seq = 0"))

        await asyncio.to_thread(command.downgrade, alembic_config(url_at_0008), "0008")
        columns, indexes, tables = await _shape(db)
        assert "import_indexed_to" in columns
        if db.is_sqlite:
            async with db.read() as s:
                hits = await s.scalar(
                    text("SELECT count(*) FROM star_messages_fts WHERE text MATCH '된장찌개'")
                )
            assert hits == 1  # rebuilt from the rows
        else:
            assert "trgm_star_messages_text" in indexes
    finally:
        await db.dispose()


async def test_0014_keeps_the_column_where_sqlite_cannot_drop_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(upgrade_sync, url, "0008")
    db = Database(url)
    try:
        star_id = await _star_with_messages(db)
        monkeypatch.setattr(sqlite3, "sqlite_version_info", (3, 35, 4))  # before the last DROP COLUMN fix
        await asyncio.to_thread(upgrade_sync, url)
        columns, _, tables = await _shape(db)
        assert "import_indexed_to" in columns and "star_messages_fts" not in tables
        await asyncio.to_thread(check_sync, url)  # `vos db check`: the kept column is no drift
        async with db.read() as s:
            assert await s.scalar(text("SELECT count(*) FROM stars WHERE id = :id"), {"id": star_id}) == 1
        await asyncio.to_thread(command.downgrade, alembic_config(url), "0008")
        columns, _, tables = await _shape(db)
        assert "import_indexed_to" in columns and "star_messages_fts" in tables
    finally:
        await db.dispose()


async def test_after_0014_a_deleted_message_leaves_no_fragment_in_the_file(tmp_path: Path) -> None:
    """The dropped index's pages are zeroed (secure_delete on the migration's connection, as on the bot's):
    a message deleted afterwards leaves none of its text anywhere in the database files."""
    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(upgrade_sync, url, "0008")
    db = Database(url)
    try:
        star_id = await _star_with_messages(db)
        marker = "잊지말아줘QZXJ"
        async with db.write() as s:
            await s.execute(text("UPDATE star_messages SET text = :t WHERE seq = 2"), {"t": marker})
            await s.execute(text("INSERT INTO star_messages_fts(star_messages_fts) VALUES ('rebuild')"))
        await db.after_deletion()
        assert any(marker[-3:].encode() in p.read_bytes() for p in tmp_path.glob("old.db*"))  # indexed
        await asyncio.to_thread(upgrade_sync, url)
        async with db.write() as s:
            await s.execute(text("DELETE FROM star_messages WHERE star_id = :id"), {"id": star_id})
        await db.after_deletion()
    finally:
        await db.dispose()
    files = {p.name: p.read_bytes() for p in tmp_path.glob("old.db*")}
    trigrams = {marker[i : i + 3].encode() for i in range(len(marker) - 2)}
    assert not [(name, t.decode()) for name, data in files.items() for t in trigrams if t in data]
