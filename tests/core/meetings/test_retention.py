"""Retention: raw audio older than the retention period is deleted; transcripts stay (fake clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.domain.meetings import MeetingSource, MeetingStatus
from core.meetings.retention import purge_expired_audio
from core.meetings.service import MeetingService
from core.storage.db import Database
from tests.core.meetings.conftest import make_user
from tests.core.meetings.fakes import write_wav

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def test_audio_older_than_the_retention_period_is_deleted(
    service: MeetingService, sqlite_db: Database, tmp_path: Path
) -> None:
    scope = await make_user(sqlite_db, "alice")
    old = await service.import_file(scope, write_wav(tmp_path / "old.wav", 25, seed=1))
    fresh = await service.import_file(scope, write_wav(tmp_path / "fresh.wav", 25, seed=2))
    assert old.audio_blob and fresh.audio_blob
    # The clock moves instead of the rows: "now" is 31 days after the import for both meetings.
    later = old.created_at + timedelta(days=31)
    purged = await purge_expired_audio(
        service.repo, service.blobs, references=service.references, retention_days=30, clock=lambda: later
    )
    assert set(purged) == {old.id, fresh.id}
    assert not await service.blobs.exists(old.audio_blob)
    meeting = await service.get(scope, old.id)
    assert meeting is not None
    assert meeting.audio_blob is None
    assert meeting.status is MeetingStatus.DONE
    assert len(await service.transcript(scope, old.id) or []) == 5
    assert (
        await purge_expired_audio(
            service.repo, service.blobs, references=service.references, retention_days=30, clock=lambda: later
        )
        == []
    )


async def test_recent_unfinished_and_shared_audio_is_kept(
    service: MeetingService, sqlite_db: Database, tmp_path: Path
) -> None:
    scope = await make_user(sqlite_db, "alice")
    key = await service.blobs.put_file(write_wav(tmp_path / "x.wav", 2))
    repo = service.repo
    recent = await repo.create(scope, title="recent", source=MeetingSource.MIXED, audio_blob=key, now=NOW)
    await repo.finish(recent.id, {"abstract": ""})
    old_same_blob = await repo.create(
        scope, title="old", source=MeetingSource.MIXED, audio_blob=key, now=NOW - timedelta(days=40)
    )
    await repo.finish(old_same_blob.id, {"abstract": ""})
    running = await repo.create(
        scope, title="running", source=MeetingSource.MIXED, audio_blob=key, now=NOW - timedelta(days=90)
    )
    await repo.set_progress(running.id, 0.5, "transcribe")
    purged = await purge_expired_audio(
        repo, service.blobs, references=service.references, retention_days=30, clock=lambda: NOW
    )
    assert purged == [old_same_blob.id]
    assert await service.blobs.exists(key)  # still used by the recent and the running meeting
    kept = await repo.get(scope, recent.id)
    assert kept is not None
    assert kept.audio_blob == key
    assert (
        await purge_expired_audio(
            repo, service.blobs, references=service.references, retention_days=0, clock=lambda: NOW
        )
        == []
    )
