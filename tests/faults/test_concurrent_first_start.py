"""20 processes start at once on a fresh database (compose starts the bot, its shards and workers together):
every one of them migrates or finds the schema migrated, none fails. SQLite (a file lock beside the
database) and PostgreSQL (an advisory lock; VOS_TEST_DATABASE_URL)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.db import create_pg_database, drop_pg_database, pg_admin_url

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
STARTS = 20


def _start_many(tmp_path: Path, database_url: str) -> list[subprocess.CompletedProcess[str]]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VOS_")},
        "VOS_DATA_DIR": str(tmp_path / "data"),
        "VOS_DATABASE_URL": database_url,
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "db", "upgrade"],
            cwd=tmp_path,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(STARTS)
    ]
    done = []
    for proc in procs:
        out, err = proc.communicate(timeout=600)
        done.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


def _assert_all_started(done: list[subprocess.CompletedProcess[str]], url: str) -> None:
    failures = [(p.returncode, p.stderr[-800:]) for p in done if p.returncode != 0]
    assert failures == [], failures
    assert all("database is up to date" in p.stdout for p in done)

    async def schema() -> tuple[set[str], int]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                tables = set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
                versions = (await conn.exec_driver_sql("SELECT count(*) FROM alembic_version")).scalar()
                return tables, int(versions or 0)
        finally:
            await engine.dispose()

    tables, versions = asyncio.run(schema())
    assert {"users", "stars", "flows", "jobs", "meetings"} <= tables
    assert versions == 1


def test_twenty_first_starts_on_one_sqlite_file(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "vos.db"
    done = _start_many(tmp_path, f"sqlite+aiosqlite:///{db}")
    _assert_all_started(done, f"sqlite+aiosqlite:///{db}")


def test_twenty_first_starts_on_one_postgres_database(tmp_path: Path) -> None:
    if not pg_admin_url():
        pytest.skip("VOS_TEST_DATABASE_URL is not set")
    url, name = create_pg_database()
    try:
        done = _start_many(tmp_path, url)
        _assert_all_started(done, url)
    finally:
        drop_pg_database(name)
