"""Enrolled meeting voices in the database (``meeting_voices``). ORM rows never leave this module."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import delete, select

from core.domain.meetings import EnrolledVoice, MeetingScope
from core.storage.db import Database
from core.storage.ids import aware, new_id, utcnow
from core.storage.models import MeetingVoiceRow


def _voice(row: MeetingVoiceRow) -> EnrolledVoice:
    vector = np.frombuffer(row.embedding, dtype=np.float32)
    return EnrolledVoice(
        id=row.id,
        owner_user_id=row.owner_user_id,
        guild_id=row.guild_id,
        platform_user_id=row.platform_user_id,
        name=row.name,
        engine=row.engine,
        seconds=row.seconds,
        consent_text=row.consent_text,
        consented_at=aware(row.consented_at),
        embedding=tuple(float(v) for v in vector),
    )


class VoiceEnrolmentRepository:
    """One enrolment per member and scope: enrolling again replaces the old one."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def enrol(
        self,
        *,
        owner_user_id: str,
        guild_id: str | None,
        platform_user_id: str | None,
        name: str,
        embedding: tuple[float, ...],
        engine: str,
        seconds: float,
        consent_text: str,
        consented_at: datetime,
    ) -> EnrolledVoice:
        """Store a member's voice for a scope (replacing their earlier enrolment there)."""
        async with self.db.write() as s:
            await s.execute(
                delete(MeetingVoiceRow).where(
                    MeetingVoiceRow.owner_user_id == owner_user_id,
                    MeetingVoiceRow.guild_id.is_(None)
                    if guild_id is None
                    else MeetingVoiceRow.guild_id == guild_id,
                )
            )
            row = MeetingVoiceRow(
                id=new_id(),
                owner_user_id=owner_user_id,
                guild_id=guild_id,
                platform_user_id=platform_user_id,
                name=name[:100],
                embedding=np.asarray(embedding, dtype=np.float32).tobytes(),
                engine=engine[:32],
                seconds=seconds,
                consent_text=consent_text,
                consented_at=consented_at,
                created_at=utcnow(),
            )
            s.add(row)
            await s.flush()
            return _voice(row)

    async def for_scope(self, scope: MeetingScope) -> list[EnrolledVoice]:
        """The voices a meeting of ``scope`` may be matched against."""
        where = (
            MeetingVoiceRow.guild_id == scope.guild_id
            if scope.guild_id is not None
            else (MeetingVoiceRow.owner_user_id == scope.user_id) & MeetingVoiceRow.guild_id.is_(None)
        )
        async with self.db.read() as s:
            rows = await s.scalars(select(MeetingVoiceRow).where(where).order_by(MeetingVoiceRow.created_at))
            return [_voice(r) for r in rows]

    async def of_user(self, user_id: str) -> list[EnrolledVoice]:
        """Every enrolment a user made (``/export``)."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(MeetingVoiceRow)
                .where(MeetingVoiceRow.owner_user_id == user_id)
                .order_by(MeetingVoiceRow.created_at)
            )
            return [_voice(r) for r in rows]

    async def delete_user(self, user_id: str) -> int:
        """Delete every enrolment of a user (``/forget_me``, ``vos meeting unenroll``)."""
        async with self.db.write() as s:
            result = await s.execute(delete(MeetingVoiceRow).where(MeetingVoiceRow.owner_user_id == user_id))
            return int(getattr(result, "rowcount", 0) or 0)

    async def delete_member(self, guild_id: str, platform_user_id: str) -> int:
        """Delete a guild member's enrolment there (``/optout``)."""
        async with self.db.write() as s:
            result = await s.execute(
                delete(MeetingVoiceRow).where(
                    MeetingVoiceRow.guild_id == guild_id,
                    MeetingVoiceRow.platform_user_id == platform_user_id,
                )
            )
            return int(getattr(result, "rowcount", 0) or 0)
