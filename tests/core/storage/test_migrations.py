"""Migrations: upgrade head on a fresh database and no drift between models and migrations."""

from __future__ import annotations

from core.storage.migrate import check_sync, upgrade_sync


def test_upgrade_head_and_check_on_fresh_sqlite(sqlite_url: str) -> None:
    check_sync(sqlite_url)
    upgrade_sync(sqlite_url)  # idempotent
    check_sync(sqlite_url)


def test_upgrade_head_and_check_on_postgres(pg_url: str) -> None:
    check_sync(pg_url)
