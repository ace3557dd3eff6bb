"""PostgreSQL pool: a connection idle past the threshold is pinged, and a lost one replaced unseen."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from core.storage import db as db_module
from core.storage.db import Database
from tests.support.db import pg_admin_url


@pytest.mark.postgres
async def test_a_connection_dropped_while_idle_is_replaced_before_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = pg_admin_url()
    if not admin:
        pytest.skip("VOS_TEST_DATABASE_URL is not set")
    db, killer = Database(admin), Database(admin)
    try:
        pid = await db.run(lambda conn: conn.scalar(text("SELECT pg_backend_pid()")))
        await killer.run(lambda conn: conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}))
        monkeypatch.setattr(db_module, "_PING_AFTER_IDLE_S", 0.0)  # as if it had been idle a long time
        again = await db.run(lambda conn: conn.scalar(text("SELECT pg_backend_pid()")))
        assert again != pid  # the lost connection was pinged, found dead and replaced: no error reached us
        monkeypatch.setattr(db_module, "_PING_AFTER_IDLE_S", 3600.0)
        assert await db.run(lambda conn: conn.scalar(text("SELECT pg_backend_pid()"))) == again  # warm: LIFO
    finally:
        await db.dispose()
        await killer.dispose()
