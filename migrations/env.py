"""Alembic environment: async engine, batch mode for SQLite, the models' naming convention.

The database URL comes from ``config.attributes["url"]`` (set by ``core.storage.migrate``), else from
``VOS_DATABASE_URL`` through the bot's settings, else the default SQLite file.
"""

from __future__ import annotations

import asyncio
from typing import Any

from alembic import context
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from core.storage.models import Base

config = context.config
target_metadata = Base.metadata

# Objects created by raw SQL in migrations (full-text indexes) that the models do not describe.
_UNMODELLED_PREFIXES = (
    "fts_",
    "trgm_",
    "meeting_segments_fts",
    "memory_moments_fts",
    "gin_",
)


# Columns a migration leaves in place where the database cannot drop them: 0014 keeps the unused
# ``stars.import_indexed_to`` on SQLite before 3.35.5 (no safe native DROP COLUMN there).
_KEPT_COLUMNS = {("stars", "import_indexed_to")}


def include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Leave full-text tables and trigram indexes (created by hand), and the columns kept on purpose, out of
    autogenerate (``vos db check``)."""
    if type_ == "column" and reflected and compare_to is None and (obj.table.name, name) in _KEPT_COLUMNS:
        return False
    return not (name and name.startswith(_UNMODELLED_PREFIXES))


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """What a migration drops is overwritten with zeros, as the bot's own deletes are (``core.storage.db``):
    a dropped index's pages would otherwise keep fragments of text that /forget later deletes."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _url() -> str:
    url = config.attributes.get("url")
    if url:
        return str(url)
    from bot.settings import load_settings  # only when run as plain `alembic` from a shell

    return load_settings(check_writable=False).effective_database_url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        include_object=include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url(), hide_parameters=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    async with engine.connect() as conn:
        await conn.run_sync(_configure)
        await conn.commit()
    await engine.dispose()


def run_migrations_offline() -> None:
    """Emit SQL without a database."""
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
    else:
        asyncio.run(_run_async())
