"""Renames and transcript corrections carry through: transcript, summary, search index and every export."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from core.domain.identity import Locale
from core.meetings.corrections import correct_in_summary, rename_in_summary, swap_name
from core.meetings.search import MeetingSearch
from core.meetings.service import MeetingService
from core.meetings.summary.model import ActionItem, MeetingSummary, SummaryPoint
from core.storage.db import Database
from tests.core.meetings.conftest import make_service, make_user
from tests.core.meetings.fakes import write_wav

LLM_SUMMARY = MeetingSummary(
    abstract="Speaker 2 presented the budget; Speaker 1 and Speaker 10 agreed.",
    decisions=(
        SummaryPoint(text="Launch on Friday, as Speaker 1 proposed.", speaker="Speaker 1", at=(4.5,)),
    ),
    action_items=(ActionItem(text="Speaker 2 sends the budget report", owner="Speaker 2", at=(9.5,)),),
    open_questions=(SummaryPoint(text="“Who is going to update the landing page?”", speaker="Speaker 2"),),
    engine="openai:test",
    language="en",
)


@pytest.fixture
async def any_db(database_url: str) -> AsyncIterator[Database]:
    """SQLite, and PostgreSQL when configured."""
    database = Database(database_url)
    yield database
    await database.dispose()


def test_rename_changes_fields_and_text_by_whole_name_only() -> None:
    renamed = rename_in_summary(LLM_SUMMARY, "Speaker 1", "Minsu")
    assert renamed.abstract == "Speaker 2 presented the budget; Minsu and Speaker 10 agreed."
    assert renamed.decisions[0].speaker == "Minsu" and "as Minsu proposed" in renamed.decisions[0].text
    assert renamed.action_items[0].owner == "Speaker 2"
    assert swap_name("화자 1과 화자 12", "화자 1", "지수") == "지수과 화자 12"


def test_a_correction_replaces_quoted_wording_in_a_model_summary() -> None:
    fixed = correct_in_summary(
        LLM_SUMMARY, "Who is going to update the landing page?", "Who is going to update the pricing page?"
    )
    assert fixed.open_questions[0].text == "“Who is going to update the pricing page?”"
    assert fixed.decisions == LLM_SUMMARY.decisions


class _Embedder:
    """Bag-of-letters vectors: deterministic, and different for different text."""

    name = "letters"
    dim = 26

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(26, np.float32)
        for ch in text.lower():
            if "a" <= ch <= "z":
                v[ord(ch) - 97] += 1
        return v / (np.linalg.norm(v) or 1.0)

    def query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def passages(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vec(t) for t in texts])


@pytest.fixture
def searchable(any_db: Database, tmp_path: Path) -> MeetingService:
    service = make_service(any_db, tmp_path)
    service.search = MeetingSearch(service.repo, embedder=_Embedder())  # type: ignore[arg-type]
    return service


def _docx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read("word/document.xml").decode()


async def test_correct_updates_transcript_summary_search_and_exports(
    searchable: MeetingService, any_db: Database, tmp_path: Path
) -> None:
    service = searchable
    scope = await make_user(any_db, "alice")
    meeting = await service.import_file(scope, write_wav(tmp_path / "a.wav", 25))
    before = await service.transcript(scope, meeting.id) or []
    assert before[2].text == "I will send the budget report by Monday." and before[2].words
    ids, vectors = await service.repo.embeddings(scope)
    old_vector = vectors[ids.index(before[2].id)]
    pdf_before = await service.export(scope, meeting.id, "pdf")

    fixed = "I will send the hiring plan by Thursday."
    assert await service.correct_segment(scope, meeting.id, 2, f"  {fixed} ")
    assert not await service.correct_segment(scope, meeting.id, 99, "x")
    assert not await service.correct_segment(scope, meeting.id, 2, "   ")
    other = await make_user(any_db, "mallory")
    assert not await service.correct_segment(other, meeting.id, 2, "hacked")

    after = await service.transcript(scope, meeting.id) or []
    assert after[2].text == fixed and after[2].words == ()  # old word times no longer fit
    assert [s.text for s in after[:2]] == [s.text for s in before[:2]]
    summary = await service.summary(scope, meeting.id)
    assert summary is not None
    items = [(a.text, a.owner, a.due_said) for a in summary.action_items]
    assert any(
        "hiring plan" in text and owner == "Speaker 2" and due == "by Thursday" for text, owner, due in items
    )
    assert not any("budget report" in text for text, _, _ in items)
    # Search: the full-text index and the segment's vector follow the corrected text.
    assert await service.repo.term_hits(scope, "hiring") == [after[2].id]
    assert await service.repo.term_hits(scope, "budget") == []
    ids, vectors = await service.repo.embeddings(scope)
    new_vector = vectors[ids.index(after[2].id)]
    assert not np.allclose(new_vector, old_vector)
    assert np.allclose(new_vector, _Embedder().query(fixed), atol=1e-2)
    answer = await service.ask(scope, "When is the hiring plan due?", Locale.EN)
    assert answer.citations and answer.citations[0].text == fixed
    # Every export.
    for fmt in ("md", "srt", "vtt", "json"):
        data = (await service.export(scope, meeting.id, fmt) or b"").decode().replace("\n", " ")
        assert "hiring plan by Thursday" in data and "budget report" not in data, fmt
    doc = json.loads(await service.export(scope, meeting.id, "json") or b"")
    assert doc["segments"][2]["words"] == []
    assert "hiring plan by Thursday" in _docx_text(await service.export(scope, meeting.id, "docx") or b"")
    pdf_after = await service.export(scope, meeting.id, "pdf")
    assert pdf_after is not None and pdf_after.startswith(b"%PDF-") and pdf_after != pdf_before


async def test_rename_carries_into_search_citations_and_every_export(
    any_db: Database, tmp_path: Path
) -> None:
    service = make_service(any_db, tmp_path)
    scope = await make_user(any_db, "alice")
    meeting = await service.import_file(scope, write_wav(tmp_path / "a.wav", 25))
    await service.repo.set_summary(meeting.id, LLM_SUMMARY.to_dict())  # as a model would write it
    assert await service.rename_speaker(scope, meeting.id, "Speaker 2", "Minsu")
    summary = await service.summary(scope, meeting.id)
    assert summary is not None
    assert summary.abstract.startswith("Minsu presented the budget")
    assert summary.action_items[0].owner == "Minsu" and summary.action_items[0].text.startswith("Minsu sends")
    answer = await service.ask(scope, "Who sends the budget report?", Locale.EN)
    assert answer.citations and answer.citations[0].speaker == "Minsu"
    for fmt in ("md", "srt", "vtt", "json"):
        data = (await service.export(scope, meeting.id, fmt) or b"").decode().replace("\n", " ")
        assert "Minsu" in data and "Speaker 2" not in data, fmt
    assert "Minsu" in _docx_text(await service.export(scope, meeting.id, "docx") or b"")


def test_cli_correct_and_its_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))
    cli = CliRunner()
    missing = cli.invoke(app, ["meeting", "correct", "nope", "0", "fixed text"])
    assert missing.exit_code == 1 and "no segment 0 in meeting 'nope'" in missing.output
    empty = cli.invoke(app, ["meeting", "correct", "nope", "0", "  "])
    assert empty.exit_code == 2 and "empty" in empty.output
