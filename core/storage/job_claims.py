"""The PostgreSQL claim on a running local job: a session advisory lock (see ``core.jobs.claims``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text

from core.storage.db import Database
from core.storage.locks import advisory_key


class PostgresJobClaims:
    """A session advisory lock per running job, on its own connection for as long as the job runs."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @asynccontextmanager
    async def hold(self, job_id: str) -> AsyncIterator[bool]:
        """Claim the job's advisory lock when nobody holds it."""
        key = {"k": advisory_key("vos:job:" + job_id)}
        async with self.db.engine.connect() as conn:
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), key))
            await conn.commit()
            try:
                yield got
            finally:
                if got:
                    await conn.execute(text("SELECT pg_advisory_unlock(:k)"), key)
                    await conn.commit()
