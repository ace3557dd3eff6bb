"""/optout with the database register: archived speech of the member deleted, the old JSON file imported."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from core.domain.identity import Locale
from core.domain.meetings import MeetingScope, MeetingSource
from core.i18n import t
from core.meetings.optouts import MeetingOptOuts
from core.storage.db import Database
from core.storage.meeting_repository import MeetingRepository
from core.storage.optout_repository import MeetingOptOutRepository
from tests.adapters.discord.fakes import BOB, GUILD_ID, ScriptedEngine, slash
from tests.core.meetings.fakes import segment


@pytest.fixture
async def db(sqlite_url: str):
    database = Database(sqlite_url)
    yield database
    await database.dispose()


async def _meeting(meetings: MeetingRepository, guild: str, lines: list[tuple[str, str]]) -> str:
    meeting = await meetings.create(
        MeetingScope.of_guild(guild), title="standup", source=MeetingSource.TRACKS, audio_blob=None
    )
    segs = [replace(segment(i, i + 1.0, text), speaker=who) for i, (who, text) in enumerate(lines)]
    names = {who: who for who, _ in lines}
    await meetings.store_transcript(meeting.id, segs, names, language="en", duration_s=9.0)
    return meeting.id


async def test_optout_deletes_the_members_lines_in_this_guilds_meetings_only(http, client, make_adapter, db):
    meetings = MeetingRepository(db)
    here = await _meeting(
        meetings, str(GUILD_ID), [("alice", "budget"), ("bob", "my secret"), ("alice", "ok")]
    )
    elsewhere = await _meeting(meetings, "1", [("bob", "another server")])
    register = MeetingOptOuts(MeetingOptOutRepository(db))
    adapter = make_adapter(ScriptedEngine(http), optouts=register)
    await adapter.prepare()

    await adapter.tree._call(slash(client, "optout", user_id=BOB, name="bob", locale="en-US"))
    assert http.calls[0].flags & 64  # private
    assert http.calls[-1].content == t(Locale.EN, "discord.optout_done")
    assert [s.text for s in await meetings.segments(here)] == ["budget", "ok"]
    assert [s.text for s in await meetings.segments(elsewhere)] == ["another server"]
    assert register.is_opted_out(str(GUILD_ID), str(BOB))


async def test_the_old_json_file_is_imported_once_and_renamed(http, make_adapter, db, tmp_path: Path):
    register = MeetingOptOuts(MeetingOptOutRepository(db))
    adapter = make_adapter(ScriptedEngine(http), optouts=register)
    legacy = adapter.config.optout_file
    legacy.parent.mkdir(parents=True, exist_ok=True)
    legacy.write_text(json.dumps({"opted_out": [[GUILD_ID, BOB], ["9", "8"]]}), encoding="utf-8")
    await adapter.prepare()
    assert register.is_opted_out(str(GUILD_ID), str(BOB)) and register.is_opted_out("9", "8")
    assert not legacy.exists()
    assert legacy.with_name(legacy.name + ".migrated").exists()
    await adapter.prepare()  # a second start: nothing to import, nothing lost
    assert register.is_opted_out("9", "8")

    legacy.write_text("{not json", encoding="utf-8")
    with pytest.raises(RuntimeError, match="unreadable"):
        await adapter.prepare()  # never start capturing while opt-outs may be lost
