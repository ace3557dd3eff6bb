"""Due dates and times said in a meeting ("by Friday", "Thursday noon", "금요일까지", "오후 2시"), resolved
against the meeting's date into ISO text (``2026-12-11`` or ``2026-12-11T14:00``).

Only what was said is resolved: a weekday is the next such day after the meeting (``this`` keeps the
current week, ``next`` the week after), a bare hour from 1 to 7 without am/pm is afternoon (meetings plan
working hours), and a time without a day is the meeting's day.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

_I = re.IGNORECASE
_WEEKDAYS_EN = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAYS_KO = "월화수목금토일"
_MONTHS_EN = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)

_EN_DAY = (
    r"(?:(?P<en_mod>this|next|coming)\s+)?(?P<en_wd>(?:mon|tues|wednes|thurs|fri|satur|sun)day)"
    r"|(?P<en_rel>today|tonight|tomorrow|end of (?:the )?day|eod|end of (?:the )?week|eow"
    r"|end of (?:the )?month|next week|this week)"
    r"|(?P<en_mon>jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(?P<en_md>\d{1,2})"
    r"(?:st|nd|rd|th)?\b"
)
_EN_HOURS = (
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
)
_KO_HOURS = ("한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열", "열한", "열두")
_EN_HOUR = r"\d{1,2}|" + "|".join(_EN_HOURS)
_KO_HOUR = r"\d{1,2}|" + "|".join(sorted(_KO_HOURS, key=len, reverse=True))
_EN_TIME = (
    r"(?P<en_noon>noon|midday)"
    rf"|(?P<en_h>{_EN_HOUR})(?::(?P<en_m>\d{{2}}))?\s*(?P<en_ap>a\.?m\.?|p\.?m\.?)"
    rf"|(?P<en_h2>{_EN_HOUR})(?::(?P<en_m2>\d{{2}}))?\s*o'?clock"
    r"|\bat\s+(?P<en_h3>\d{1,2})(?::(?P<en_m3>\d{2}))?\b(?!\s*(?:%|percent|people|items|tickets))"
)
_KO_DAY = (
    r"(?P<ko_wmod>이번\s*주|다음\s*주|담주|다다음\s*주|오는)?\s*(?P<ko_wd>[월화수목금토일])(?:요일|욜)"
    r"|(?P<ko_rel>오늘|내일|모레|글피|이번\s*주\s*(?:안|중|내)|다음\s*주|담주|주말|월말|이번\s*달\s*(?:안|중|말))"
    r"|(?:(?P<ko_mon>\d{1,2})\s*월\s*)(?P<ko_md>\d{1,2})\s*일"
)
_KO_TIME = (
    rf"(?P<ko_ap>오전|오후|아침|저녁|밤)?\s*(?P<ko_h>{_KO_HOUR})\s*시(?!간|작|장|험|스템)"
    r"(?:\s*(?P<ko_half>반)|\s*(?P<ko_m>\d{1,2})\s*분)?|(?P<ko_noon>정오)"
)

_DAY_RE = re.compile(rf"\b(?:{_EN_DAY})\b|(?:{_KO_DAY})", _I)
_TIME_RE = re.compile(rf"\b(?:{_EN_TIME})|(?:{_KO_TIME})", _I)
# A deadline needs a cue ("by", "until", "까지") or a day/time named for the task.
_CUE_RE = re.compile(
    r"\b(?:by|before|until|till|no later than|due|on|at|for|this|next|tomorrow|today|tonight)\b"
    r"|까지|전까지|중으로|안에|내로|중에|에\b|에는",
    _I,
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Due:
    """A resolved moment: ``iso`` for machines, ``said`` for people."""

    iso: str
    said: str


def _next_weekday(ref: date, weekday: int, modifier: str) -> date:
    ahead = (weekday - ref.weekday()) % 7
    modifier = modifier.replace(" ", "")
    if modifier in {"this", "이번주"}:
        return ref + timedelta(days=ahead)
    day = ref + timedelta(days=ahead or 7)
    if modifier in {"next", "다음주", "담주"} and day.isocalendar()[1] == ref.isocalendar()[1]:
        day += timedelta(days=7)
    if modifier == "다다음주":
        monday = ref - timedelta(days=ref.weekday()) + timedelta(days=14)
        day = monday + timedelta(days=weekday)
    return day


def _month_day(ref: date, month: int, day: int) -> date | None:
    try:
        candidate = date(ref.year, month, day)
    except ValueError:
        return None
    if candidate < ref - timedelta(days=60):
        try:
            candidate = date(ref.year + 1, month, day)
        except ValueError:
            return None
    return candidate


def _relative(ref: date, word: str) -> date | None:
    w = re.sub(r"\s+", " ", word.casefold())
    end_of_week = ref + timedelta(days=max(0, 4 - ref.weekday()))
    end_of_month = ref.replace(day=calendar.monthrange(ref.year, ref.month)[1])
    next_monday = ref + timedelta(days=7 - ref.weekday())
    table = {
        "today": ref,
        "tonight": ref,
        "eod": ref,
        "오늘": ref,
        "tomorrow": ref + timedelta(days=1),
        "내일": ref + timedelta(days=1),
        "모레": ref + timedelta(days=2),
        "글피": ref + timedelta(days=3),
        "eow": end_of_week,
        "this week": end_of_week,
        "next week": next_monday,
        "다음 주": next_monday,
        "다음주": next_monday,
        "담주": next_monday,
        "주말": ref + timedelta(days=(5 - ref.weekday()) % 7),
        "월말": end_of_month,
    }
    if w in table:
        return table[w]
    if w.startswith("end of") and w.endswith("day"):
        return ref
    if w.startswith("end of") and w.endswith("week"):
        return end_of_week
    if w.startswith("end of") and w.endswith("month"):
        return end_of_month
    if w.startswith("이번 주") or w.startswith("이번주"):
        return end_of_week
    if w.startswith("이번 달") or w.startswith("이번달"):
        return end_of_month
    return None


def _day(match: re.Match[str], ref: date) -> date | None:
    g = match.groupdict()
    if g.get("en_wd"):
        weekday = next(i for i, n in enumerate(_WEEKDAYS_EN) if n.startswith(g["en_wd"].casefold()[:3]))
        return _next_weekday(ref, weekday, (g.get("en_mod") or "").casefold())
    if g.get("ko_wd"):
        return _next_weekday(ref, _WEEKDAYS_KO.index(g["ko_wd"]), g.get("ko_wmod") or "")
    if g.get("en_rel"):
        return _relative(ref, g["en_rel"])
    if g.get("ko_rel"):
        return _relative(ref, g["ko_rel"])
    if g.get("en_mon"):
        month = next(i for i, n in enumerate(_MONTHS_EN, 1) if n.startswith(g["en_mon"].casefold()[:3]))
        return _month_day(ref, month, int(g["en_md"]))
    if g.get("ko_md"):
        return _month_day(ref, int(g["ko_mon"]), int(g["ko_md"]))
    return None


def _hour(word: str) -> int:
    word = word.casefold()
    if word.isdigit():
        return int(word)
    return (_EN_HOURS.index(word) if word in _EN_HOURS else _KO_HOURS.index(word)) + 1


def _clock(match: re.Match[str]) -> tuple[int, int] | None:
    g = match.groupdict()
    if g.get("en_noon") or g.get("ko_noon"):
        return 12, 0
    if g.get("en_h"):
        hour, minute = _hour(g["en_h"]), int(g.get("en_m") or 0)
        pm = g["en_ap"].casefold().startswith("p")
        hour = hour % 12 + (12 if pm else 0)
    elif g.get("en_h2") or g.get("en_h3"):
        hour = _hour(g.get("en_h2") or g["en_h3"])
        minute = int(g.get("en_m2") or g.get("en_m3") or 0)
        hour = hour + 12 if 1 <= hour <= 7 else hour
    elif g.get("ko_h"):
        hour = _hour(g["ko_h"])
        minute = 30 if g.get("ko_half") else int(g.get("ko_m") or 0)
        period = g.get("ko_ap") or ""
        if (period in {"오후", "저녁", "밤"} and hour < 12) or (not period and 1 <= hour <= 7):
            hour += 12
    else:
        return None
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return hour, minute


def resolve_due(text: str, ref: date | None, *, cue: bool = True) -> Due | None:
    """The first day and/or time named in ``text`` with a deadline cue, resolved against ``ref``.

    ``cue=False`` takes any day named (a decision's day: "배포는 화요일로"). Without ``ref`` the words are
    kept (``iso`` is the phrase as said).
    """
    day_match = _DAY_RE.search(text)
    time_match = _TIME_RE.search(text)
    if time_match is not None and _clock(time_match) is None:
        time_match = None
    if day_match is None and time_match is None:
        return None
    if cue and not _CUE_RE.search(text):
        return None
    spans = [m.span() for m in (day_match, time_match) if m is not None]
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    tail = re.match(r"\s*(?:까지|전까지|중으로|안에|내로)", text[end:])
    head = re.search(r"\b(?:by|before|until|till|no later than|due|on|at)\s+(?:the\s+)?$", text[:start], _I)
    said = text[head.start() if head else start : end + (tail.end() if tail else 0)].strip()
    if ref is None:
        return Due(iso=said, said=said)
    day = _day(day_match, ref) if day_match is not None else ref
    if day is None:
        return Due(iso=said, said=said)
    clock = _clock(time_match) if time_match is not None else None
    iso = day.isoformat() if clock is None else f"{day.isoformat()}T{clock[0]:02d}:{clock[1]:02d}"
    return Due(iso=iso, said=said)
