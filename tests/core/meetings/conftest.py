"""Fixtures for meeting tests: a migrated database, a blob store and a service with fake engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.domain.identity import Locale, Platform, UserRef
from core.domain.meetings import MeetingScope
from core.meetings.search import MeetingSearch
from core.meetings.service import MeetingService
from core.storage.blob_references import BlobReferenceRepository
from core.storage.blobs import LocalBlobStore
from core.storage.db import Database
from core.storage.meeting_repository import MeetingRepository
from core.storage.repositories import UserRepository
from tests.core.meetings.fakes import MEETING_SEGMENTS, MEETING_TURNS, FakeDiarizer, FakeSTT


@pytest.fixture
async def sqlite_db(sqlite_url: str) -> AsyncIterator[Database]:
    """A migrated SQLite database."""
    database = Database(sqlite_url)
    yield database
    await database.dispose()


async def make_user(db: Database, name: str) -> MeetingScope:
    """A console user and their meeting scope."""
    user = await UserRepository(db).get_or_create(
        UserRef(platform=Platform.CONSOLE, platform_user_id=name), display_name=name, locale=Locale.EN
    )
    return MeetingScope.of_user(user.id)


def make_service(
    db: Database, tmp_path: Path, stt: FakeSTT | None = None, diarizer: FakeDiarizer | None = None
) -> MeetingService:
    """A service with fake engines (no embeddings, no LLM)."""
    repo = MeetingRepository(db)
    stt = stt or FakeSTT(MEETING_SEGMENTS)
    diarizer = diarizer or FakeDiarizer(MEETING_TURNS)
    return MeetingService(
        repo,
        LocalBlobStore(tmp_path / "blobs"),
        MeetingSearch(repo),
        references=BlobReferenceRepository(db),
        stt_factory=lambda: stt,
        diarizer_factory=lambda: diarizer,
        work_dir=tmp_path / "work",
    )


@pytest.fixture
async def service(sqlite_db: Database, tmp_path: Path) -> MeetingService:
    """A meeting service on SQLite with the scripted meeting."""
    return make_service(sqlite_db, tmp_path)
