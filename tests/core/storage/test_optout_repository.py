"""Meeting opt-outs on SQLite and PostgreSQL, and deleting an opted-out member's transcribed speech."""

from __future__ import annotations

from dataclasses import replace

from core.domain.meetings import MeetingScope, MeetingSource, MeetingStatus
from core.storage.db import Database
from core.storage.meeting_repository import MeetingRepository
from core.storage.optout_repository import DeletedSpeech, MeetingOptOutRepository
from tests.core.meetings.fakes import segment


async def test_opt_outs_are_unique_per_guild_and_member(db: Database) -> None:
    repo = MeetingOptOutRepository(db)
    assert await repo.add("42", "7")
    assert not await repo.add("42", "7")  # already there: no second row, no error
    assert await repo.add("43", "7")
    assert await repo.all() == {("42", "7"), ("43", "7")}
    assert await repo.remove("42", "7")
    assert not await repo.remove("42", "7")
    assert await repo.all() == {("43", "7")}


async def _meeting(
    meetings: MeetingRepository, guild: str, speakers: dict[str, str], texts: list[str]
) -> str:
    meeting = await meetings.create(
        MeetingScope.of_guild(guild), title="standup", source=MeetingSource.TRACKS, audio_blob=None
    )
    labels = list(speakers)
    segs = [
        replace(segment(i, i + 1.0, text), speaker=labels[i % len(labels)]) for i, text in enumerate(texts)
    ]
    await meetings.store_transcript(meeting.id, segs, speakers, language="en", duration_s=9.0)
    return meeting.id


async def test_deleting_a_members_speech_touches_only_their_segments_in_that_guild(db: Database) -> None:
    meetings, repo = MeetingRepository(db), MeetingOptOutRepository(db)
    done = await _meeting(
        meetings, "42", {"alice": "alice", "bob": "bob"}, ["alice budget", "bob pineapple", "alice ok"]
    )
    await meetings.finish(done, {"topics": []})
    processing = await _meeting(meetings, "42", {"S2": "Bobby", "S1": "carol"}, ["bob mango", "carol hi"])
    await meetings.set_progress(processing, 0.5, "transcribe")
    other_guild = await _meeting(meetings, "43", {"bob": "bob"}, ["bob elsewhere"])
    guild = MeetingScope.of_guild("42")
    assert (await meetings.get(guild, processing)).status is MeetingStatus.PROCESSING  # type: ignore[union-attr]
    assert len(await meetings.term_hits(guild, "pineapple")) == 1

    deleted = await repo.delete_speaker_segments("42", ["bob", "Bobby", "  "])
    assert deleted == DeletedSpeech(segments=2, meetings=2)
    assert [s.text for s in await meetings.segments(done)] == ["alice budget", "alice ok"]
    assert [s.text for s in await meetings.segments(processing)] == ["carol hi"]
    assert [s.display_name for s in await meetings.speakers(done)] == ["alice"]
    assert [s.text for s in await meetings.segments(other_guild)] == ["bob elsewhere"]
    assert await meetings.term_hits(guild, "pineapple") == []  # gone from the full-text index too
    assert await repo.delete_speaker_segments("42", ["bob"]) == DeletedSpeech()
    assert await repo.delete_speaker_segments("42", []) == DeletedSpeech()
