"""Offline meeting notes by speaker, on meetings written for these tests (not from the patterns' words)."""

from __future__ import annotations

from datetime import date

from core.domain.audio import TranscriptSegment
from core.meetings.due_dates import resolve_due
from core.meetings.summary import summarize_offline

FRIDAY = date(2026, 12, 4)


def meeting(lines: list[tuple[str, str]]) -> list[TranscriptSegment]:
    return [
        TranscriptSegment(start=i * 5.0, end=i * 5.0 + 4.5, text=text, speaker=speaker)
        for i, (speaker, text) in enumerate(lines)
    ]


STANDUP = meeting(
    [
        ("Dana", "Morning all, quick standup today."),
        ("Eli", "Yesterday I finished the login page."),
        ("Eli", "Today I'll fix the flaky payment test."),
        ("Farah", "Great, the release's planned for Friday so please update the ticket board."),
        ("Dana", "Sure, will do."),
        ("Farah", "Okay. Eli, could you also review my pull request by two o'clock?"),
        ("Eli", "Yep."),
        ("Dana", "I will never forget this team."),
        ("Farah", "Should we keep the old API around for another month?"),
        ("Dana", "It's settled: we'll run PostgreSQL 16 in production."),
        ("Eli", "The export feature is moved to next sprint."),
    ]
)


def test_owners_are_speakers_who_committed_or_accepted() -> None:
    summary = summarize_offline(STANDUP, meeting_date=FRIDAY, language="en")
    owners = {a.text: a.owner for a in summary.action_items}
    assert set(owners.values()) <= {"Dana", "Eli", "Farah"}
    assert owners["Today I'll fix the flaky payment test."] == "Eli"
    assert owners["Great, the release's planned for Friday so please update the ticket board."] == "Dana"
    assert owners["Eli, could you also review my pull request by two o'clock?"] == "Eli"
    assert "I will never forget this team." not in owners
    assert "Sure, will do." not in owners  # the acceptance is the request's owner, not a second item
    review = next(a for a in summary.action_items if "pull request" in a.text)
    assert review.due == "2026-12-04T14:00"


def test_plans_stated_as_settled_are_decisions_with_their_day() -> None:
    summary = summarize_offline(STANDUP, meeting_date=FRIDAY)
    decisions = {d.text: d for d in summary.decisions}
    release = decisions["Great, the release's planned for Friday so please update the ticket board."]
    assert release.when == "2026-12-11"
    assert release.speaker == "Farah"
    assert "It's settled: we'll run PostgreSQL 16 in production." in decisions
    assert "The export feature is moved to next sprint." in decisions


def test_only_unanswered_questions_stay_open() -> None:
    summary = summarize_offline(STANDUP, meeting_date=FRIDAY)
    assert [q.text for q in summary.open_questions] == [
        "Should we keep the old API around for another month?"
    ]
    answered = meeting(
        [
            ("Farah", "Who owns the database migration this week?"),
            ("Eli", "The migration is mine, I started it on Monday."),
        ]
    )
    assert summarize_offline(answered).open_questions == ()


def test_korean_meeting_notes() -> None:
    lines = meeting(
        [
            ("민수", "자, 회의 시작하겠습니다."),
            ("지연", "디자인 시안은 제가 목요일 오후 3시까지 올릴게요."),
            ("현우", "배포는 다음 주 화요일로 하기로 했어요."),
            ("민수", "현우 씨, 서버 비용 정리 좀 해 주세요."),
            ("현우", "네 알겠습니다."),
            ("지연", "로그인 오류는 누가 보고 있나요?"),
            ("민수", "음 아직 모르겠어요."),
        ]
    )
    summary = summarize_offline(lines, meeting_date=FRIDAY, language="ko")
    owners = {a.text: (a.owner, a.due) for a in summary.action_items}
    assert owners["디자인 시안은 제가 목요일 오후 3시까지 올릴게요."] == ("지연", "2026-12-10T15:00")
    assert owners["현우 씨, 서버 비용 정리 좀 해 주세요."][0] == "현우"
    assert "자, 회의 시작하겠습니다." not in owners
    assert "네 알겠습니다." not in owners
    decisions = {d.text: d.when for d in summary.decisions}
    assert decisions == {"배포는 다음 주 화요일로 하기로 했어요.": "2026-12-08"}
    assert [q.text for q in summary.open_questions] == ["로그인 오류는 누가 보고 있나요?"]
    assert summary.language == "ko"


def test_due_dates_resolve_against_the_meeting_date() -> None:
    cases = {
        "I'll send it by Thursday noon.": "2026-12-10T12:00",
        "Let's have it done today.": "2026-12-04",
        "Please finish by Friday at 10 AM.": "2026-12-11T10:00",
        "Can you do it by next Monday?": "2026-12-07",
        "I'll update it by the end of the month.": "2026-12-31",
        "내일 오전 10시까지 보내 주세요.": "2026-12-05T10:00",
        "모레까지 정리할게요.": "2026-12-06",
        "12월 20일까지 끝낼게요.": "2026-12-20",
        "두 시까지 회의실 잡을게요.": "2026-12-04T14:00",
    }
    for text, expected in cases.items():
        due = resolve_due(text, FRIDAY)
        assert due is not None, text
        assert due.iso == expected, text
    assert resolve_due("The weather was nice.", FRIDAY) is None
    assert resolve_due("We have 3 people at 5 percent.", FRIDAY) is None
