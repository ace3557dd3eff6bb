"""Write KakaoTalk exports of every shape for tests and benchmarks.

``render_lines(shape, items)`` yields the lines of an export as KakaoTalk writes them; ``write_export``
writes them to a file in an encoding, with an optional BOM and CRLF line endings. Items are
``KakaoMessage`` objects (authored messages) or ``SystemEvent`` objects (join/leave lines).
Times must have zero seconds except for ``macos_csv``, the only shape that records seconds.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from core.personas.kakao import KakaoMessage

ALL_SHAPES = ("pc_windows_ko", "pc_windows_en", "android_ko", "android_en", "ios_ko", "ios_en", "macos_csv")

_WEEKDAYS_KO = "월화수목금토일"
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemEvent:
    """A system line (not a message): ``text`` such as ``이도현님이 들어왔습니다.``."""

    time: datetime
    text: str


Item = KakaoMessage | SystemEvent


def _ko_clock(t: datetime) -> str:
    hour = t.hour % 12 or 12
    return f"{'오전' if t.hour < 12 else '오후'} {hour}:{t.minute:02d}"


def _en_clock(t: datetime) -> str:
    hour = t.hour % 12 or 12
    return f"{hour}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def _stamp(shape: str, t: datetime) -> str:
    if shape == "android_ko":
        return f"{t.year}년 {t.month}월 {t.day}일 {_ko_clock(t)}"
    if shape == "ios_ko":
        return f"{t.year}. {t.month}. {t.day}. {_ko_clock(t)}"
    if shape == "android_en":
        return f"{_MONTHS[t.month - 1]} {t.day}, {t.year}, {_en_clock(t)}"
    if shape == "ios_en":
        return f"{_MONTHS[t.month - 1][:3]} {t.day}, {t.year}, {_en_clock(t)}"
    raise ValueError(shape)


def _header(shape: str, title: str, saved: datetime) -> list[str]:
    ko = shape.endswith("_ko")
    first = f"{title} 님과 카카오톡 대화" if ko else f"{title} with KakaoTalk Chats"
    if shape in ("android_en", "ios_en"):
        first = f"KakaoTalk Chats with {title}"
    value = saved.strftime("%Y-%m-%d %H:%M:%S") if shape.startswith("pc_") else _stamp(shape, saved)
    label = "저장한 날짜" if ko else "Date Saved"
    return [first, f"{label} : {value}", ""]


def _day_line(shape: str, t: datetime) -> list[str]:
    ko_date = f"{t.year}년 {t.month}월 {t.day}일 {_WEEKDAYS_KO[t.weekday()]}요일"
    en_date = f"{_WEEKDAYS_EN[t.weekday()]}, {_MONTHS[t.month - 1]} {t.day}, {t.year}"
    dashes = "-" * 15
    match shape:
        case "pc_windows_ko":
            return [f"{dashes} {ko_date} {dashes}"]
        case "pc_windows_en":
            return [f"{dashes} {en_date} {dashes}"]
        case "android_ko" | "android_en":
            return ["", _stamp(shape, t)]
        case "ios_ko":
            return ["", ko_date]
        case _:
            return ["", en_date]


def _csv_quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def render_lines(
    shape: str, items: Iterable[Item], *, title: str = "고민수", saved: datetime | None = None
) -> Iterator[str]:
    """Yield the lines (without line endings) of an export of ``shape`` holding ``items``."""
    if shape == "macos_csv":
        yield "Date,User,Message"
        for item in items:
            author = item.author if isinstance(item, KakaoMessage) else ""
            yield f"{item.time:%Y-%m-%d %H:%M:%S},{_csv_quote(author)},{_csv_quote(item.text)}"
        return
    yield from _header(shape, title, saved or datetime(2024, 1, 6, 9, 12, 40))
    day = None
    for item in items:
        if item.time.date() != day:
            day = item.time.date()
            yield from _day_line(shape, item.time)
        if isinstance(item, SystemEvent):
            if shape.startswith("pc_"):
                yield item.text
            elif shape.startswith("ios_"):
                yield f"{_stamp(shape, item.time)}: {item.text}"
            else:
                yield f"{_stamp(shape, item.time)}, {item.text}"
            continue
        if shape == "pc_windows_ko":
            yield f"[{item.author}] [{_ko_clock(item.time)}] {item.text}"
        elif shape == "pc_windows_en":
            yield f"[{item.author}] [{_en_clock(item.time)}] {item.text}"
        else:
            yield f"{_stamp(shape, item.time)}, {item.author} : {item.text}"


def write_export(
    path: Path,
    shape: str,
    items: Iterable[Item],
    *,
    encoding: str = "utf-8",
    bom: bool = False,
    crlf: bool = False,
    title: str = "고민수",
) -> Path:
    """Write an export file and return its path."""
    newline = "\r\n" if crlf else "\n"
    with path.open("wb") as fh:
        if bom:
            fh.write(codecs.BOM_UTF8)
        buffer: list[str] = []
        for line in render_lines(shape, items, title=title):
            buffer.append(line)
            if len(buffer) >= 4096:
                fh.write((newline.join(buffer) + newline).encode(encoding))
                buffer.clear()
        if buffer:
            fh.write((newline.join(buffer) + newline).encode(encoding))
    return path


def msg(time: datetime, author: str, text: str, kind: str = "text") -> KakaoMessage:
    """A message as the parser should return it."""
    return KakaoMessage(time=time, author=author, kind=kind, text=text)  # type: ignore[arg-type]
