"""The persisted state of each user's current multi-step dialog."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy.engine import Connection

from core.domain.flows import ExpiredFlow, RunningFlow
from core.storage.db import Database
from core.storage.ids import utcnow
from core.storage.models import FlowRow

_FLOW = select(FlowRow.kind, FlowRow.step, FlowRow.data).where(FlowRow.user_id == bindparam("user_id"))
# Deletes the flow and hands back what it held in the same statement (SQLite >= 3.35 and PostgreSQL).
_CLEAR_FLOW = delete(FlowRow).where(FlowRow.user_id == bindparam("user_id")).returning(FlowRow.data)


class FlowRepository:
    """The persisted state of each user's current multi-step dialog."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> RunningFlow | None:
        """The user's flow, if one is running."""

        def find(conn: Connection) -> RunningFlow | None:
            row = conn.execute(_FLOW, {"user_id": user_id}).first()
            return RunningFlow(kind=row.kind, step=row.step, data=dict(row.data)) if row is not None else None

        return await self.db.run(find)

    async def save(self, user_id: str, kind: str, step: str, data: dict[str, Any]) -> None:
        """Create or replace the user's flow state."""
        async with self.db.write() as s:
            row = await s.get(FlowRow, user_id)
            if row is None:
                s.add(FlowRow(user_id=user_id, kind=kind, step=step, data=data, updated_at=utcnow()))
            else:
                row.kind, row.step, row.data, row.updated_at = kind, step, data, utcnow()

    async def clear(self, user_id: str) -> dict[str, Any] | None:
        """End the user's flow; returns the data it held (``None``: there was none), read by the same
        statement that deletes it, so the caller can release the uploads only that state named."""

        def clear(conn: Connection) -> dict[str, Any] | None:
            data = conn.execute(_CLEAR_FLOW, {"user_id": user_id}).scalar()
            return dict(data) if data is not None else None

        return await self.db.run(clear, write=True)

    async def expire(self, older_than: datetime, *, limit: int = 500) -> list[ExpiredFlow]:
        """End the flows nobody touched since ``older_than``; returns each as it was,
        read by the statement that deletes them, so a flow the user continues meanwhile is not taken."""
        stale = (
            select(FlowRow.user_id)
            .where(FlowRow.updated_at < bindparam("cutoff"))
            .order_by(FlowRow.updated_at)
            .limit(limit)
        )
        expire = (
            delete(FlowRow)
            .where(FlowRow.user_id.in_(stale.scalar_subquery()), FlowRow.updated_at < bindparam("cutoff"))
            .returning(FlowRow.user_id, FlowRow.kind, FlowRow.step, FlowRow.data)
        )

        def run(conn: Connection) -> list[ExpiredFlow]:
            rows = conn.execute(expire, {"cutoff": older_than}).all()
            return [
                ExpiredFlow(user_id=r.user_id, flow=RunningFlow(kind=r.kind, step=r.step, data=dict(r.data)))
                for r in rows
            ]

        return await self.db.run(run, write=True)
