"""Meeting opt-outs in the database, and the deletion of what a guild's archive holds of an opted-out member.

One row per (guild, platform user id). The speaker deletion works on the meeting tables directly because
an opt-out cuts across meetings: it removes the segments of every meeting of the guild whose speaker label
or shown name is one of the member's names, and those speakers' name rows. ORM rows never leave this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from core.storage.db import Database
from core.storage.ids import utcnow
from core.storage.models import MeetingOptOutRow, MeetingRow, MeetingSegmentRow, MeetingSpeakerRow


@dataclass(frozen=True, slots=True, kw_only=True)
class DeletedSpeech:
    """What a speaker deletion removed: transcript segments, and in how many meetings."""

    segments: int = 0
    meetings: int = 0


class MeetingOptOutRepository:
    """``add``/``remove``/``all`` opt-outs; ``delete_speaker_segments`` for what was already transcribed."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, guild_id: str, user_id: str, *, now: datetime | None = None) -> bool:
        """Record an opt-out; False when it was already recorded."""
        try:
            async with self.db.write() as s:
                if await s.get(MeetingOptOutRow, (guild_id, user_id)) is not None:
                    return False
                s.add(MeetingOptOutRow(guild_id=guild_id, user_id=user_id, created_at=now or utcnow()))
        except IntegrityError:  # a concurrent /optout of the same member won the insert
            return False
        return True

    async def remove(self, guild_id: str, user_id: str) -> bool:
        """Undo an opt-out; False when there was none."""
        async with self.db.write() as s:
            result = await s.execute(
                delete(MeetingOptOutRow).where(
                    MeetingOptOutRow.guild_id == guild_id, MeetingOptOutRow.user_id == user_id
                )
            )
            return bool(getattr(result, "rowcount", 0))

    async def all(self) -> set[tuple[str, str]]:
        """Every (guild id, user id) opted out (a few rows per guild: loaded once into memory)."""
        async with self.db.read() as s:
            rows = await s.execute(select(MeetingOptOutRow.guild_id, MeetingOptOutRow.user_id))
            return {(g, u) for g, u in rows}

    async def delete_speaker_segments(self, guild_id: str, names: Sequence[str]) -> DeletedSpeech:
        """Delete the guild's transcript segments of the speakers labelled or shown as one of ``names``."""
        wanted = sorted({n.strip()[:100] for n in names if n.strip()})
        if not wanted:
            return DeletedSpeech()
        guild_meetings = select(MeetingRow.id).where(MeetingRow.guild_id == guild_id)
        async with self.db.write() as s:
            renamed = await s.execute(
                select(MeetingSpeakerRow.meeting_id, MeetingSpeakerRow.label).where(
                    MeetingSpeakerRow.meeting_id.in_(guild_meetings),
                    MeetingSpeakerRow.display_name.in_(wanted) | MeetingSpeakerRow.label.in_(wanted),
                )
            )
            labelled = await s.execute(
                select(MeetingSegmentRow.meeting_id, MeetingSegmentRow.speaker)
                .where(
                    MeetingSegmentRow.meeting_id.in_(guild_meetings), MeetingSegmentRow.speaker.in_(wanted)
                )
                .distinct()
            )
            by_meeting: dict[str, set[str]] = {}
            for meeting_id, label in [*renamed, *labelled]:
                by_meeting.setdefault(meeting_id, set()).add(str(label))
            deleted = 0
            for meeting_id, labels in sorted(by_meeting.items()):  # row-value IN is not portable to SQLite
                result = await s.execute(
                    delete(MeetingSegmentRow).where(
                        MeetingSegmentRow.meeting_id == meeting_id, MeetingSegmentRow.speaker.in_(labels)
                    )
                )
                deleted += int(getattr(result, "rowcount", 0) or 0)
                await s.execute(
                    delete(MeetingSpeakerRow).where(
                        MeetingSpeakerRow.meeting_id == meeting_id, MeetingSpeakerRow.label.in_(labels)
                    )
                )
            return DeletedSpeech(segments=deleted, meetings=len(by_meeting))
