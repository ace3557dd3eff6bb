"""`vos meeting summary`: the headings are in the meeting's language, the user's locale only when unknown."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.runner import local_user
from bot.settings import Settings
from bot.wiring import running_app
from core.domain.audio import TranscriptSegment
from core.domain.identity import Locale
from core.domain.meetings import MeetingScope, MeetingSource
from core.meetings.summary.offline import summarize_offline

ENGLISH = (
    TranscriptSegment(
        start=0.0, end=4.0, text="We decided to launch the new website on Friday.", speaker="S1"
    ),
    TranscriptSegment(start=4.0, end=8.0, text="I will send the budget report by Monday.", speaker="S2"),
)
KOREAN = (
    TranscriptSegment(
        start=0.0, end=4.0, text="새 웹사이트는 금요일에 공개하기로 결정했습니다.", speaker="S1"
    ),
    TranscriptSegment(start=4.0, end=8.0, text="제가 월요일까지 예산 보고서를 보내겠습니다.", speaker="S2"),
)


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("VOS_DATA_DIR", str(tmp_path / "data"))


def _stored_meeting(user_locale: Locale, segments: tuple[TranscriptSegment, ...], language: str) -> str:
    """A finished meeting of the console user (``language``: what was recognised; "" when unknown)."""

    async def store() -> str:
        async with running_app(Settings()) as vos:
            user = await local_user(vos, "local", user_locale)
            repo = vos.meetings.repo
            meeting = await repo.create(
                MeetingScope.of_user(user.id),
                title="Launch sync",
                source=MeetingSource.MIXED,
                audio_blob=None,
            )
            names = {"S1": "Mina", "S2": "Joon"}
            await repo.store_transcript(meeting.id, segments, names, language=language, duration_s=8.0)
            await repo.finish(meeting.id, summarize_offline(segments, language=language).to_dict())
            return meeting.id

    return asyncio.run(store())


def _summary(meeting_id: str) -> str:
    result = CliRunner().invoke(app, ["meeting", "summary", meeting_id])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_an_english_meeting_has_english_headings_for_a_korean_user() -> None:
    out = _summary(_stored_meeting(Locale.KO, ENGLISH, "en"))
    assert "■ Overview" in out and "■ Decisions" in out and "Launch sync" in out
    assert "개요" not in out and "결정 사항" not in out


def test_a_korean_meeting_has_korean_headings_for_an_english_user() -> None:
    out = _summary(_stored_meeting(Locale.EN, KOREAN, "ko"))
    assert "■ 개요" in out and "■ 결정 사항" in out
    assert "Overview" not in out and "Decisions" not in out


def test_a_meeting_of_unknown_language_follows_the_users_locale() -> None:
    out = _summary(_stored_meeting(Locale.EN, ENGLISH, ""))
    assert "■ Overview" in out and "개요" not in out
