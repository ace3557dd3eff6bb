"""The line grammar of every KakaoTalk export shape: anchored regexes and hand-written number parsing.

All patterns are anchored at the line start and bound every repetition that precedes a fixed suffix, so a
hostile 100,000-character line costs one linear scan, never catastrophic backtracking.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

MAX_NAME = 100
"""Longest participant name considered; bounds the name scan on every line."""

PM = frozenset({"오후", "PM", "pm", "p.m."})
AM = frozenset({"오전", "AM", "am", "a.m."})

MONTHS: dict[str, int] = {
    name: index
    for index, names in enumerate(
        (
            ("January", "Jan"),
            ("February", "Feb"),
            ("March", "Mar"),
            ("April", "Apr"),
            ("May",),
            ("June", "Jun"),
            ("July", "Jul"),
            ("August", "Aug"),
            ("September", "Sep", "Sept"),
            ("October", "Oct"),
            ("November", "Nov"),
            ("December", "Dec"),
        ),
        start=1,
    )
    for name in names
}
FULL_MONTHS = frozenset(n for n in MONTHS if len(n) > 3 and n != "Sept")
SHORT_MONTHS = frozenset(n for n in MONTHS if len(n) <= 3 or n == "Sept") - {"May"}

# PC Windows: "[이름] [오후 3:04] 내용" / "[Name] [3:04 PM] text". Group 1 = name, 2 = the time bracket.
PC_KO_MESSAGE = re.compile(r"\[(.{1,100}?)\] (\[(?:오전|오후) \d{1,2}:\d{2}\]) ?")
PC_EN_MESSAGE = re.compile(r"\[(.{1,100}?)\] (\[\d{1,2}:\d{2} [AP]M\]) ?")
PC_KO_TIME = re.compile(r"\[(오전|오후) (\d{1,2}):(\d{2})\]")
PC_EN_TIME = re.compile(r"\[(\d{1,2}):(\d{2}) ([AP]M)\]")
PC_KO_DAY = re.compile(r"-{3,} (\d{4})년 (\d{1,2})월 (\d{1,2})일 \S{1,4}요일 -{3,}\s*\Z")
PC_EN_DAY = re.compile(r"-{3,} [A-Z][a-z]{2,8}, ([A-Z][a-z]{2,8}) (\d{1,2}), (\d{4}) -{3,}\s*\Z")

# Mobile timestamps that start a message, a system line or (alone) an Android day separator.
ANDROID_KO_TS = re.compile(r"(\d{4})년 (\d{1,2})월 (\d{1,2})일 (?:(오전|오후) )?(\d{1,2}):(\d{2})")
IOS_KO_TS = re.compile(r"(\d{4})\. (\d{1,2})\. (\d{1,2})\. (?:(오전|오후) )?(\d{1,2}):(\d{2})")
EN_TS = re.compile(r"([A-Z][a-z]{2,8}) (\d{1,2}), (\d{4}),? (\d{1,2}):(\d{2})(?: ([AP]M))?")

# A whole mobile message head: the timestamp (group 1, its parts 2-7), ", ", the name (group 8), " : ".
# The parser's fast path for the common line; the name bound equals the parser's " : " search window.
ANDROID_KO_MESSAGE, IOS_KO_MESSAGE, EN_MESSAGE = (
    re.compile(f"({ts.pattern}), (.{{1,{MAX_NAME}}}?) : ") for ts in (ANDROID_KO_TS, IOS_KO_TS, EN_TS)
)

# Day separator lines of the mobile shapes ("2023년 1월 5일 목요일", "Thursday, January 5, 2023").
KO_DATE_LINE = re.compile(r"\d{4}년 \d{1,2}월 \d{1,2}일 \S{1,4}요일\s*\Z")
EN_DATE_LINE = re.compile(r"[A-Z][a-z]{2,8}day, [A-Z][a-z]{2,8} \d{1,2}, \d{4}\s*\Z")

# Headers.
TITLE_KO = re.compile(r"(.{0,300}?) ?(?:님과 )?카카오톡 대화\s*\Z")
TITLE_PC_EN = re.compile(r"(.{0,300}?) with KakaoTalk Chats\s*\Z")
TITLE_MOBILE_EN = re.compile(r"KakaoTalk Chats with (.{0,300}?)\s*\Z")
SAVED = re.compile(r"(?:저장한 날짜|Date Saved) ?: ?(.{0,80})\Z")
ISO_TS = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{1,2}):(\d{2})(?::(\d{2}))?")

# macOS CSV.
CSV_HEADER = re.compile(r'\ufeff?"?Date"?,"?User"?,"?Message"?\s*\Z')
CSV_RECORD = re.compile(r"(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}),")

# System lines (joins, leaves, invitations, kicks). On PC they stand alone; on mobile they follow a time.
SYSTEM_LINE = re.compile(
    r".{1,400}?(?:님이 들어왔습니다|님이 나갔습니다|초대했습니다|님을 내보냈습니다|joined this chatroom"
    r"|left this chatroom|invited .{1,400}|has been removed from this chatroom)\.\s*\Z"
    r"|채팅방 관리자가 .{1,400}\Z"
)

MEDIA = re.compile(
    r"(?:사진(?: \d{1,4}장)?|이모티콘|동영상|음성메시지|Photo|Photos|\d{1,4} Photos|Emoticon|Video|"
    r"Voice Message|(?:파일|File): .{1,300})\s*\Z"
)
DELETED = frozenset(
    {
        "삭제된 메시지입니다.",
        "삭제된 메시지입니다",
        "This message was deleted.",
        "This message has been deleted.",
        "Deleted message",
    }
)


def hour24(ampm: str | None, hour: int) -> int:
    """Map a 12-hour clock reading to 0-23: 오전/AM 12 is midnight, 오후/PM 12 is noon."""
    if ampm is None:
        return hour
    if ampm in PM:
        return hour if hour == 12 else hour + 12
    return 0 if hour == 12 else hour


KIND_FIRST = frozenset("사이동음파삭PEVFTD0123456789")
"""First characters of every placeholder and deletion marker: most texts are rejected by one set lookup."""


def kind_of(text: str) -> str:
    """``media`` for placeholders, ``deleted`` for deletion markers, else ``text``."""
    if text[:1] not in KIND_FIRST or len(text) > 320:
        return "text"
    if text in DELETED:
        return "deleted"
    if MEDIA.match(text):
        return "media"
    return "text"


def mobile_datetime(groups: tuple[str | None, ...], english: bool) -> datetime:
    """Build a datetime from the groups of ``ANDROID_KO_TS``/``IOS_KO_TS`` or ``EN_TS``.

    Raises ``ValueError`` for impossible dates (Feb 30, hour 25) and unknown month names.
    """
    if english:
        month_name, day, year, hour, minute, ampm = groups
        month = MONTHS[month_name or ""] if month_name in MONTHS else 0
        return datetime(int(year or 0), month, int(day or 0), hour24(ampm, int(hour or 0)), int(minute or 0))
    year, month_s, day, ampm, hour, minute = groups
    return datetime(
        int(year or 0), int(month_s or 0), int(day or 0), hour24(ampm, int(hour or 0)), int(minute or 0)
    )


def mobile_day(groups: tuple[str | None, ...], english: bool) -> datetime:
    """Midnight of the date groups of a mobile timestamp (the first three of ``mobile_datetime``'s).

    Raises ``ValueError`` for impossible dates and unknown month names, as ``mobile_datetime`` does.
    """
    if english:
        month_name, day, year = groups
        month = MONTHS[month_name or ""] if month_name in MONTHS else 0
        return datetime(int(year or 0), month, int(day or 0))
    year, month_s, day = groups
    return datetime(int(year or 0), int(month_s or 0), int(day or 0))


def mobile_clock(groups: tuple[str | None, ...], english: bool) -> timedelta:
    """The time of day of the clock groups of a mobile timestamp (the last three).

    ``mobile_day(...) + mobile_clock(...)`` equals ``mobile_datetime(...)``; raises ``ValueError`` where
    it does (hour 25, minute 61).
    """
    if english:
        hour, minute, ampm = groups
    else:
        ampm, hour, minute = groups
    hour24_ = hour24(ampm, int(hour or 0))
    minute_ = int(minute or 0)
    if not (0 <= hour24_ <= 23 and 0 <= minute_ <= 59):
        raise ValueError(f"no such time: {hour24_}:{minute_}")
    return timedelta(hours=hour24_, minutes=minute_)


def parse_saved_at(text: str) -> datetime | None:
    """Best-effort parse of a header's saved-at value in any shape's format."""
    text = text.strip()
    try:
        if m := ISO_TS.match(text):
            y, mo, d, h, mi, s = m.groups()
            return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s or 0))
        if m := ANDROID_KO_TS.match(text) or IOS_KO_TS.match(text):
            return mobile_datetime(m.groups(), english=False)
        if m := EN_TS.match(text):
            return mobile_datetime(m.groups(), english=True)
    except ValueError:
        return None
    return None
