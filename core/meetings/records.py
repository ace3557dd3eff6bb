"""Meetings as the rest of the code reads them: transcripts, JSON records, failure texts, time zones."""

from __future__ import annotations

from datetime import UTC, timedelta, timezone, tzinfo

from core.domain.audio import TranscriptSegment
from core.domain.identity import Locale
from core.domain.meetings import Meeting, StoredSegment
from core.i18n import t
from core.meetings.tracks import TrackArchiveError
from core.ports import EngineUnavailable
from core.voice.audio import AudioError


def summary_locale(language: str, fallback: Locale) -> Locale:
    """The locale a summary is written in: the meeting's language when known, else the reader's."""
    return Locale.KO if language.startswith("ko") else (Locale.EN if language else fallback)


def meeting_zone(locale: Locale) -> tzinfo:
    """The time zone that relative dates said in the meeting are read in."""
    # Relative days ("by Friday") are read in the meeting's own time zone; Korean teams meet in KST.
    return timezone(timedelta(hours=9)) if locale is Locale.KO else UTC


def failure_text(stage: str, exc: BaseException, locale: Locale) -> str:
    """What a failed meeting shows its owner: the stage and a reason in their language."""
    if isinstance(exc, AudioError):
        reason = exc.message(locale)
    elif isinstance(exc, EngineUnavailable):  # an operator's problem, worded for the operator
        reason = str(exc)[:200]
        if exc.extra:
            reason = t(locale, "lines.engine_missing", reason=reason, extra=exc.extra)
    elif isinstance(exc, TrackArchiveError):
        reason = t(locale, f"meetingflow.zip.{exc.reason}")
    else:
        reason = f"{type(exc).__name__}: {exc}"
    return f"{stage}: {reason}"


def as_transcript(segments: list[StoredSegment]) -> list[TranscriptSegment]:
    """Stored segments as transcript segments for summaries and exports."""
    return [
        TranscriptSegment(start=s.start, end=s.end, text=s.text, speaker=s.speaker, words=s.words)
        for s in segments
    ]


def meeting_record(meeting: Meeting) -> dict[str, object]:
    """The meeting's identity in the JSON export and ``vos meeting summary --json``."""
    return {
        "id": meeting.id,
        "title": meeting.title,
        "date": meeting.created_at.isoformat(),
        "duration_s": round(meeting.duration_s, 3),
        "language": meeting.language or "",
    }
