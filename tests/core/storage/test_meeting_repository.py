"""The meeting repository on SQLite and PostgreSQL: scoping, segments, speakers, search, embeddings."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np

from core.domain.identity import Locale, Platform, UserRef
from core.domain.meetings import MeetingScope, MeetingSource, MeetingStatus
from core.storage.blob_references import BlobReferenceRepository
from core.storage.db import Database
from core.storage.meeting_repository import MeetingRepository
from core.storage.repositories import UserRepository
from tests.core.meetings.fakes import segment


async def _scope(db: Database, name: str) -> MeetingScope:
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id=name), display_name=name, locale=Locale.KO
    )
    return MeetingScope.of_user(user.id)


async def test_meetings_are_scoped_and_searchable_on_both_databases(db: Database) -> None:
    repo = MeetingRepository(db)
    alice, bob = await _scope(db, "alice"), await _scope(db, "bob")
    guild = MeetingScope.of_guild("42")
    mine = await repo.create(alice, title="주간 회의", source=MeetingSource.MIXED, audio_blob="a" * 64)
    theirs = await repo.create(bob, title="bob", source=MeetingSource.MIXED, audio_blob=None)
    shared = await repo.create(guild, title="guild", source=MeetingSource.TRACKS, audio_blob=None)
    segs = [
        segment(0.0, 2.0, "예산 보고서는 금요일까지 보낼게요"),
        segment(2.0, 4.0, "The migration to PostgreSQL is done"),
        segment(4.0, 5.0, "   "),
    ]
    for meeting in (mine, theirs, shared):
        labelled = [replace(s, speaker="S1") for s in segs]
        await repo.store_transcript(meeting.id, labelled, {"S1": "민수"}, language="ko", duration_s=5.0)
    assert [m.id for m in await repo.list_for(alice)] == [mine.id]
    assert [m.id for m in await repo.list_for(guild)] == [shared.id]
    assert await repo.get(bob, mine.id) is None
    stored = await repo.segments(mine.id)
    assert [(s.seq, s.speaker) for s in stored] == [(0, "민수"), (1, "민수")]
    for term in ("예산", "보고서", "migration", "PostgreSQL"):
        hits = await repo.term_hits(alice, term)
        assert len(hits) == 1, term
        assert (await repo.segments_by_id(hits))[0].meeting_id == mine.id
    assert await repo.term_hits(alice, "kubernetes") == []
    assert len(await repo.term_hits(guild, "예산")) == 1
    assert await repo.count_segments(alice) == 2
    assert await repo.rename_speaker(mine.id, "S1", "Minsu") == "민수"
    assert (await repo.segments(mine.id))[0].speaker == "Minsu"
    assert (await repo.segments(theirs.id))[0].speaker == "민수"


async def test_job_state_embeddings_and_retention_queries(db: Database) -> None:
    repo = MeetingRepository(db)
    alice = await _scope(db, "alice")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    old = await repo.create(
        alice, title="old", source=MeetingSource.MIXED, audio_blob="b" * 64, now=now - timedelta(days=40)
    )
    await repo.set_progress(old.id, 0.3, "transcribe")
    got = await repo.get(alice, old.id)
    assert got is not None
    assert (got.status, got.progress, got.progress_text) == (MeetingStatus.PROCESSING, 0.3, "transcribe")
    assert await repo.audio_older_than(now - timedelta(days=30)) == []  # still processing
    await repo.store_transcript(old.id, [segment(0, 1, "hello there")], {}, language="en", duration_s=1.0)
    await repo.finish(old.id, {"abstract": "hi"})
    assert [m.id for m in await repo.audio_older_than(now - timedelta(days=30))] == [old.id]
    refs = BlobReferenceRepository(db)
    assert await refs.unreferenced(["b" * 64]) == set()
    await repo.clear_audio(old.id)
    assert await refs.unreferenced(["b" * 64]) == {"b" * 64}
    seg_id = (await repo.segments(old.id))[0].id
    vector = np.linspace(-1, 1, 384).astype(np.float32)
    await repo.set_embeddings({seg_id: vector})
    ids, matrix = await repo.embeddings(alice)
    assert ids == [seg_id]
    assert np.allclose(matrix[0], vector, atol=1e-3)
    await repo.fail(old.id, "summarize: boom")
    failed = await repo.get(alice, old.id)
    assert failed is not None
    assert (failed.status, failed.error) == (MeetingStatus.FAILED, "summarize: boom")
