"""Shape detection from the first lines of an export: header cues plus votes of message-line matches."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from core.personas.kakao import grammar as g
from core.personas.kakao.model import KakaoParseError, Shape


@dataclass(frozen=True, slots=True, kw_only=True)
class Sniffed:
    """What the head of a file says about it."""

    shape: Shape
    title: str
    saved_at: datetime | None


def _title(first: str) -> str:
    for pattern in (g.TITLE_PC_EN, g.TITLE_MOBILE_EN, g.TITLE_KO):
        if m := pattern.match(first):
            return m.group(1).strip()
    return ""


def _english_mobile_shape(votes: Counter[str], month: str) -> None:
    if month in g.SHORT_MONTHS:
        votes["ios_en"] += 1
    elif month in g.FULL_MONTHS:
        votes["android_en"] += 1


def _vote(line: str, votes: Counter[str]) -> bool:
    """Add this line's votes; return whether it looked like part of some shape."""
    if line.startswith("[") and g.PC_KO_MESSAGE.match(line):
        votes["pc_windows_ko"] += 2
    elif line.startswith("[") and g.PC_EN_MESSAGE.match(line):
        votes["pc_windows_en"] += 2
    elif g.PC_KO_DAY.match(line):
        votes["pc_windows_ko"] += 1
    elif g.PC_EN_DAY.match(line):
        votes["pc_windows_en"] += 1
    elif (m := g.ANDROID_KO_TS.match(line)) and line[m.end() : m.end() + 2] in (", ", ""):
        votes["android_ko"] += 2
    elif (m := g.IOS_KO_TS.match(line)) and line[m.end() : m.end() + 2] in (", ", ": "):
        votes["ios_ko"] += 2
    elif (m := g.EN_TS.match(line)) and line[m.end() : m.end() + 2] in (", ", ": ", ""):
        votes["_en_mobile"] += 2
        _english_mobile_shape(votes, m.group(1))
        if m.end() == len(line.rstrip()):
            votes["android_en"] += 1  # Android's day separator is a bare timestamp
    elif g.KO_DATE_LINE.match(line):
        votes["ios_ko"] += 1
    elif g.EN_DATE_LINE.match(line):
        votes["ios_en"] += 1
    else:
        return False
    return True


def sniff_shape(lines: list[str]) -> Sniffed:
    """Decide the export shape from its first lines; raise ``KakaoParseError`` when none fits."""
    first = lines[0].lstrip("\ufeff") if lines else ""
    if g.CSV_HEADER.match(first):
        return Sniffed(shape="macos_csv", title="", saved_at=None)
    votes: Counter[str] = Counter()
    saved_at: datetime | None = None
    header_seen = False
    unknown_line: int | None = None
    has_message_lines = False
    for index, raw in enumerate(lines, 1):
        line = raw.lstrip("\ufeff") if index == 1 else raw
        if index <= 3 and (saved := g.SAVED.match(line)):
            saved_at = g.parse_saved_at(saved.group(1))
            header_seen = True
            value = saved.group(1)
            if g.ISO_TS.match(value):
                votes["pc_windows_ko" if line.startswith("저장") else "pc_windows_en"] += 1
            elif g.EN_TS.match(value):
                _english_mobile_shape(votes, value.split(" ", 1)[0])
            continue
        if index == 1 and _title(line):
            header_seen = True
            continue
        before = votes.total()
        if _vote(line, votes):
            has_message_lines = has_message_lines or votes.total() - before >= 2
        elif line.strip() and unknown_line is None:
            unknown_line = index
    if not has_message_lines and not votes:
        if header_seen:
            raise KakaoParseError("kakao.error.no_messages")
        raise KakaoParseError("kakao.error.unknown_format", line=unknown_line or 1)
    english_mobile = votes.pop("_en_mobile", 0)
    if english_mobile:
        ios, android = votes.get("ios_en", 0), votes.get("android_en", 0)
        votes["ios_en" if ios > android else "android_en"] += english_mobile
    shape: Shape = votes.most_common(1)[0][0]  # type: ignore[assignment]
    return Sniffed(shape=shape, title=_title(first), saved_at=saved_at)
