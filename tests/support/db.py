"""Database fixtures: a fresh migrated SQLite file, and a fresh PostgreSQL database when one is configured."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from core.storage.migrate import upgrade_sync

PG_ENV = "VOS_TEST_DATABASE_URL"


def pg_admin_url() -> str | None:
    """The PostgreSQL server the tests may use, if any."""
    return os.environ.get(PG_ENV) or None


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A migrated SQLite database in a temporary directory."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'vos.db'}"
    upgrade_sync(url)
    return url


def _admin(sql: str) -> None:
    """Run one statement on the PostgreSQL server the tests were given."""
    import asyncio

    import asyncpg

    base = make_url(pg_admin_url() or "")

    async def run() -> None:
        conn = await asyncpg.connect(
            host=base.host,
            port=base.port or 5432,
            user=base.username,
            password=base.password,
            database=base.database,
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def create_pg_database() -> tuple[str, str]:
    """CREATE DATABASE with a unique name; returns (url of it, its name)."""
    admin = pg_admin_url()
    assert admin
    name = f"vos_test_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    url = (
        make_url(admin)
        .set(database=name, drivername="postgresql+asyncpg")
        .render_as_string(hide_password=False)
    )
    return url, name


def drop_pg_database(name: str) -> None:
    """DROP the database made by :func:`create_pg_database`."""
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def migrated_pg_database(revision: str = "head") -> Iterator[str]:
    """A fresh PostgreSQL database at ``revision``, dropped afterwards (the server must be set)."""
    url, name = create_pg_database()
    try:
        upgrade_sync(url, revision)
        yield url
    finally:
        drop_pg_database(name)


@contextmanager
def database_at(backend: str, revision: str, folder: Path) -> Iterator[str]:
    """A fresh database of ``backend`` ("sqlite" in ``folder``, or "postgres") migrated to ``revision``: what
    a migration test starts from (PostgreSQL is skipped when VOS_TEST_DATABASE_URL is not set)."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{folder / 'old.db'}"
        upgrade_sync(url, revision)
        yield url
        return
    if not pg_admin_url():
        pytest.skip(f"{PG_ENV} is not set")
    with migrated_pg_database(revision) as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database (skipped when VOS_TEST_DATABASE_URL is not set)."""
    if not pg_admin_url():
        pytest.skip(f"{PG_ENV} is not set")
    with migrated_pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Both databases: repositories must behave the same on each."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'vos.db'}"
        upgrade_sync(url)
        yield url
        return
    if not pg_admin_url():
        pytest.skip(f"{PG_ENV} is not set")
    with migrated_pg_database() as url:
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[object]:
    """A ``Database`` on each backend."""
    from core.storage.db import Database

    database = Database(database_url)
    yield database
    await database.dispose()
