"""Types of a parsed KakaoTalk export.

Times are **naive local wall-clock times**: KakaoTalk writes exports in the phone's or PC's local time and
records no zone, so the parser does not invent one. Callers that store them attach the user's zone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Shape = Literal["pc_windows_ko", "pc_windows_en", "android_ko", "android_en", "ios_ko", "ios_en", "macos_csv"]
"""Every export shape the parser reads."""

SHAPES: tuple[Shape, ...] = (
    "pc_windows_ko",
    "pc_windows_en",
    "android_ko",
    "android_en",
    "ios_ko",
    "ios_en",
    "macos_csv",
)

MessageKind = Literal["text", "media", "deleted"]
"""``media``: a placeholder such as 사진 or Emoticon; ``deleted``: a deleted-message marker."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KakaoMessage:
    """One authored message (one bubble). Multi-line texts keep their line breaks as ``\\n``."""

    time: datetime
    author: str
    kind: MessageKind
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class KakaoExport:
    """A whole parsed export: its shape, encoding, header and authored messages in file order."""

    shape: Shape
    encoding: str
    title: str
    messages: tuple[KakaoMessage, ...]
    skipped_lines: int = 0
    saved_at: datetime | None = None

    def participants(self) -> dict[str, int]:
        """Message counts per author (every kind), most active first."""
        return counts_by_author(self.messages)

    @property
    def first(self) -> datetime | None:
        """Time of the first message, if any."""
        return self.messages[0].time if self.messages else None

    @property
    def last(self) -> datetime | None:
        """Time of the last message, if any."""
        return self.messages[-1].time if self.messages else None


def counts_by_author(messages: tuple[KakaoMessage, ...] | list[KakaoMessage]) -> dict[str, int]:
    """Message counts per author, sorted by count (descending) then name, for stable output."""
    counts = Counter(m.author for m in messages)
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


class KakaoParseError(ValueError):
    """An export could not be read.

    ``key`` is an i18n key (``kakao.error.*``) for the message shown to the user, ``line`` the 1-based line
    number that could not be read (``None`` when the problem is the whole file), and ``fields`` the values
    the message template uses. ``user_message(locale)`` renders it.
    """

    def __init__(self, key: str, *, line: int | None = None, detail: str = "", **fields: object) -> None:
        where = f" (line {line})" if line is not None else ""
        super().__init__(f"{key}{where}{': ' + detail if detail else ''}")
        self.key = key
        self.line = line
        self.detail = detail
        self.fields: dict[str, object] = {"line": line if line is not None else 0, **fields}

    def user_message(self, locale: str) -> str:
        """The error in the user's language."""
        from core.i18n import t

        return t(locale, self.key, **self.fields)


_new = object.__new__
_set_time = KakaoMessage.__dict__["time"].__set__
_set_author = KakaoMessage.__dict__["author"].__set__
_set_kind = KakaoMessage.__dict__["kind"].__set__
_set_text = KakaoMessage.__dict__["text"].__set__


def fast_message(time: datetime, author: str, kind: MessageKind, text: str) -> KakaoMessage:
    """Build a ``KakaoMessage`` without the frozen dataclass ``__init__``.

    The parser creates a million of these per second; the generated frozen ``__init__`` costs five times
    more than writing the four slots directly. The result is an ordinary, equal, immutable instance.
    """
    message = _new(KakaoMessage)
    _set_time(message, time)
    _set_author(message, author)
    _set_kind(message, kind)
    _set_text(message, text)
    return message
