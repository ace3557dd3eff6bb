"""Word timestamps: stored with each segment, exported in JSON, used by subtitles."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import text

from core.domain.meetings import MeetingStatus
from core.meetings.service import MeetingService
from core.storage.db import Database
from tests.core.meetings.conftest import make_service, make_user
from tests.core.meetings.fakes import FakeSTT, segment, write_wav


async def test_words_are_stored_exported_in_json_and_cut_subtitles(
    sqlite_db: Database, tmp_path: Path
) -> None:
    long = segment(
        0.0, 12.0, "We decided to launch the mobile app on Friday after the final security review."
    )
    service = make_service(sqlite_db, tmp_path, stt=FakeSTT([long, segment(12.5, 15.0, "Sounds good.")]))
    scope = await make_user(sqlite_db, "alice")
    meeting = await service.import_file(scope, write_wav(tmp_path / "a.wav", 16))
    assert meeting.status is MeetingStatus.DONE, meeting.error
    stored = await service.transcript(scope, meeting.id) or []
    # The diarizer's turn change at 9.2 s splits the long segment; every word keeps its own time.
    assert sum(len(s.words) for s in stored) == 16
    assert all(len(s.words) == len(s.text.split()) for s in stored)
    doc = json.loads((await service.export(scope, meeting.id, "json")) or b"")
    words = [w for seg in doc["segments"] for w in seg["words"]]
    assert words[0] == {"start": 0.0, "end": round(12 / 14, 3), "text": "We"}
    assert words[13]["text"] == "review." and words[13]["end"] == 12.0
    assert all(set(w) == {"start", "end", "text"} for s in doc["segments"] for w in s["words"])
    srt = ((await service.export(scope, meeting.id, "srt")) or b"").decode()
    # The 12 s segment is cut at word times into cues of at most ~7 s.
    assert srt.count(" --> ") >= 3 and "00:00:06," in srt


async def test_rows_without_words_export_an_empty_list(
    service: MeetingService, sqlite_db: Database, tmp_path: Path
) -> None:
    scope = await make_user(sqlite_db, "bob")
    meeting = await service.import_file(scope, write_wav(tmp_path / "b.wav", 25))
    async with sqlite_db.write() as s:
        await s.execute(text("UPDATE meeting_segments SET words = NULL"))
        await s.execute(text("UPDATE meeting_segments SET words = 'not json' WHERE seq = 0"))
    doc = json.loads((await service.export(scope, meeting.id, "json")) or b"")
    assert [s["words"] for s in doc["segments"]] == [[]] * len(doc["segments"])
