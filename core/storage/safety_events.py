"""Safety events (never with the blocked content) and the operators' count of crisis hand-offs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from core.domain.records import SafetyEvent
from core.storage.db import Database
from core.storage.ids import aware, utcnow
from core.storage.models import CrisisReferralRow, SafetyEventRow


class SafetyEventRepository:
    """Safety events (never with the blocked content)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def log(
        self,
        user_id: str,
        star_id: str | None,
        direction: str,
        verdict: str,
        reasons: Sequence[str],
        *,
        referral: bool = False,
    ) -> None:
        """Record that something was blocked or handed off; ``referral`` also counts a crisis hand-off for
        operators (in the same write)."""
        async with self.db.write() as s:
            if referral:
                s.add(CrisisReferralRow(created_at=utcnow()))
            s.add(
                SafetyEventRow(
                    user_id=user_id,
                    star_id=star_id,
                    direction=direction,
                    verdict=verdict,
                    reasons=list(reasons),
                    created_at=utcnow(),
                )
            )

    async def referral(self) -> None:
        """Count one crisis hand-off for operators (no user, no content)."""
        async with self.db.write() as s:
            s.add(CrisisReferralRow(created_at=utcnow()))

    async def referral_counts(self, since: datetime | None = None) -> int:
        """How many crisis hand-offs happened (since ``since``)."""
        query = select(func.count()).select_from(CrisisReferralRow)
        if since is not None:
            query = query.where(CrisisReferralRow.created_at >= since)
        async with self.db.read() as s:
            return int(await s.scalar(query) or 0)

    async def last_of(
        self, user_id: str, star_id: str, verdicts: Sequence[str]
    ) -> tuple[str, datetime] | None:
        """The latest of a conversation's events with one of ``verdicts``: ``(verdict, when)``."""
        query = (
            select(SafetyEventRow.verdict, SafetyEventRow.created_at)
            .where(
                SafetyEventRow.user_id == user_id,
                SafetyEventRow.star_id == star_id,
                SafetyEventRow.verdict.in_(list(verdicts)),
            )
            .order_by(SafetyEventRow.created_at.desc(), SafetyEventRow.id.desc())
            .limit(1)
        )
        async with self.db.read() as s:
            row = (await s.execute(query)).first()
        return None if row is None else (str(row[0]), aware(row[1]))

    async def list_for(self, user_id: str) -> list[SafetyEvent]:
        """A user's safety events."""
        async with self.db.read() as s:
            rows = await s.scalars(select(SafetyEventRow).where(SafetyEventRow.user_id == user_id))
            return [
                SafetyEvent(
                    direction=r.direction,
                    verdict=r.verdict,
                    reasons=tuple(r.reasons),
                    at=aware(r.created_at),
                    star_id=r.star_id,
                )
                for r in rows
            ]
