"""The opt-out register: persisted, mirrored in memory, deleting what was transcribed of the member."""

from __future__ import annotations

from dataclasses import replace

from core.domain.meetings import MeetingScope, MeetingSource
from core.meetings.optouts import MeetingOptOuts
from core.storage.db import Database
from core.storage.meeting_repository import MeetingRepository
from core.storage.optout_repository import MeetingOptOutRepository
from tests.core.meetings.fakes import segment


async def test_opt_out_persists_and_deletes_the_members_lines_and_opt_in_undoes_it(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        meetings = MeetingRepository(db)
        meeting = await meetings.create(
            MeetingScope.of_guild("42"), title="m", source=MeetingSource.TRACKS, audio_blob=None
        )
        segs = [replace(segment(0, 1, "hi"), speaker="alice"), replace(segment(1, 2, "yo"), speaker="bob")]
        await meetings.store_transcript(
            meeting.id, segs, {"alice": "alice", "bob": "bob"}, language="en", duration_s=2
        )
        register = MeetingOptOuts(MeetingOptOutRepository(db))
        await register.load()
        assert not register.is_opted_out("42", "7")
        deleted = await register.opt_out("42", "7", ["bob"])
        assert deleted.segments == 1
        assert register.is_opted_out("42", "7") and not register.is_opted_out("43", "7")
        assert [s.speaker for s in await meetings.segments(meeting.id)] == ["alice"]

        restarted = MeetingOptOuts(MeetingOptOutRepository(db))
        assert not restarted.is_opted_out("42", "7")  # nothing known before load()
        await restarted.load()
        assert restarted.is_opted_out("42", "7")
        await restarted.opt_in("42", "7")
        again = MeetingOptOuts(MeetingOptOutRepository(db))
        await again.load()
        assert not again.is_opted_out("42", "7")
    finally:
        await db.dispose()
