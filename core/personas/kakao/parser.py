"""Streaming KakaoTalk export parser: every shape, one pass, linear time.

``KakaoReader`` detects encoding and shape from the file head, then ``messages()`` streams
``KakaoMessage`` objects while counting lines it could not attribute (``skipped_lines``). ``parse_export``
collects them into a ``KakaoExport``. Lines are matched with anchored, precompiled regexes; datetimes are
built from hand-parsed numbers and cached per distinct timestamp, so no ``strptime`` runs per line.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING, Final

from core.personas.kakao import grammar as g
from core.personas.kakao.encoding import Source, detect_encoding, open_binary, text_lines
from core.personas.kakao.model import KakaoExport, KakaoMessage, KakaoParseError, MessageKind, Shape
from core.personas.kakao.sniff import sniff_shape

if TYPE_CHECKING:
    import re

_SNIFF_LINES: Final = 400
_CACHE_LIMIT: Final = 20_000
_DAMAGE = ("\x00", "\ufffd")


class _Pending:
    """The message being assembled: its first line and any continuation lines."""

    __slots__ = ("author", "lines", "time")

    def __init__(self, time: datetime, author: str, first: str) -> None:
        self.time = time
        self.author = author
        self.lines = [first]

    def build(self) -> KakaoMessage:
        lines = self.lines
        while len(lines) > 1 and not lines[-1].strip():
            lines.pop()  # blank lines before a day separator belong to the layout, not the message
        text = lines[0] if len(lines) == 1 else "\n".join(lines)
        kind: MessageKind = g.kind_of(text)  # type: ignore[assignment]
        return KakaoMessage(time=self.time, author=self.author, kind=kind, text=text)


class KakaoReader:
    """Reads one export: ``shape``, ``encoding``, ``title`` and ``saved_at`` after construction,
    ``messages()`` to stream, ``skipped_lines`` and ``first_skipped_line`` once the stream is consumed."""

    def __init__(self, source: Source) -> None:
        self._source = source
        with open_binary(source) as stream:
            codec, errors = detect_encoding(stream)
            head = list(itertools.islice(text_lines(stream, codec, errors), _SNIFF_LINES))
        self.encoding = codec
        self._errors = errors
        sniffed = sniff_shape([line.rstrip("\n") for line in head])
        self.shape: Shape = sniffed.shape
        self.title = sniffed.title
        self.saved_at = sniffed.saved_at
        self.skipped_lines = 0
        self.first_skipped_line: int | None = None
        self._authors: dict[str, str] = {}

    # -- public -------------------------------------------------------------------------------------

    def messages(self) -> Iterator[KakaoMessage]:
        """Stream the authored messages in file order."""
        self.skipped_lines = 0
        self.first_skipped_line = None
        with open_binary(self._source) as raw, text_lines(raw, self.encoding, self._errors) as stream:
            if self.shape == "macos_csv":
                yield from self._csv(stream)
            elif self.shape in ("pc_windows_ko", "pc_windows_en"):
                yield from self._pc(stream, english=self.shape == "pc_windows_en")
            else:
                yield from self._mobile(stream)

    def read(self) -> KakaoExport:
        """Parse everything; raise ``KakaoParseError`` when no message could be read."""
        messages = tuple(self.messages())
        if not messages:
            if self.first_skipped_line is not None:
                raise KakaoParseError("kakao.error.damaged", line=self.first_skipped_line)
            raise KakaoParseError("kakao.error.no_messages")
        return KakaoExport(
            shape=self.shape,
            encoding=self.encoding,
            title=self.title,
            messages=messages,
            skipped_lines=self.skipped_lines,
            saved_at=self.saved_at,
        )

    # -- helpers ------------------------------------------------------------------------------------

    def _skip(self, lineno: int, count: int = 1) -> None:
        self.skipped_lines += count
        if self.first_skipped_line is None:
            self.first_skipped_line = lineno

    def _author(self, name: str) -> str:
        # One string object per participant keeps a million messages from holding a million names.
        return self._authors.setdefault(name, name)

    @staticmethod
    def _damaged(line: str) -> bool:
        return _DAMAGE[0] in line or _DAMAGE[1] in line

    def _header(self, lineno: int, line: str) -> bool:
        return lineno <= 3 and bool(
            g.SAVED.match(line)
            or g.TITLE_KO.match(line)
            or g.TITLE_PC_EN.match(line)
            or g.TITLE_MOBILE_EN.match(line)
        )

    # -- PC Windows ---------------------------------------------------------------------------------

    def _pc(self, stream: Iterator[str], *, english: bool) -> Iterator[KakaoMessage]:
        message_re = g.PC_EN_MESSAGE if english else g.PC_KO_MESSAGE
        day_re = g.PC_EN_DAY if english else g.PC_KO_DAY
        day: date | None = None
        times: dict[str, datetime] = {}
        pending: _Pending | None = None
        orphan = False  # continuation lines of a message that could not be read are skipped with it
        for lineno, raw in enumerate(stream, 1):
            line = raw[:-1] if raw[-1:] == "\n" else raw
            first = line[:1]
            if first == "[" and (m := message_re.match(line)):
                if pending is not None:
                    yield pending.build()
                    pending = None
                stamp = m.group(2)
                when = times.get(stamp)
                if when is None:
                    when = self._pc_time(day, stamp, english)
                    if when is None or self._damaged(line):
                        self._skip(lineno)
                        orphan = True
                        continue
                    times[stamp] = when
                orphan = False
                pending = _Pending(when, self._author(m.group(1)), line[m.end() :])
                continue
            if first == "-" and (d := day_re.match(line)):
                day = self._pc_day(d, english)
                times.clear()
                if pending is not None:
                    yield pending.build()
                    pending = None
                orphan = day is None
                if day is None:
                    self._skip(lineno)
                continue
            if line[-1:] == "." and len(line) < 600 and g.SYSTEM_LINE.match(line):
                if pending is not None:
                    yield pending.build()
                    pending = None
                continue
            if pending is not None and not orphan and not self._damaged(line):
                pending.lines.append(line)
            elif line.strip() and not self._header(lineno, line):
                self._skip(lineno)
        if pending is not None:
            yield pending.build()

    @staticmethod
    def _pc_day(m: re.Match[str], english: bool) -> date | None:
        try:
            if english:
                month_name, day_s, year = m.groups()
                return date(int(year), g.MONTHS.get(month_name, 0), int(day_s))
            year, month, day_s = m.groups()
            return date(int(year), int(month), int(day_s))
        except ValueError:
            return None

    @staticmethod
    def _pc_time(day: date | None, stamp: str, english: bool) -> datetime | None:
        if day is None:
            return None
        if english:
            m = g.PC_EN_TIME.match(stamp)
            if m is None:
                return None
            hour_s, minute, ampm = m.groups()
        else:
            m = g.PC_KO_TIME.match(stamp)
            if m is None:
                return None
            ampm, hour_s, minute = m.groups()
        hour = int(hour_s)
        if not 1 <= hour <= 12:
            return None
        try:
            return datetime(day.year, day.month, day.day, g.hour24(ampm, hour), int(minute))
        except ValueError:
            return None

    # -- Android and iOS ----------------------------------------------------------------------------

    def _mobile(self, stream: Iterator[str]) -> Iterator[KakaoMessage]:
        english = self.shape in ("android_en", "ios_en")
        ts_re = {"android_ko": g.ANDROID_KO_TS, "ios_ko": g.IOS_KO_TS}.get(self.shape, g.EN_TS)
        date_re = g.EN_DATE_LINE if english else g.KO_DATE_LINE
        times: dict[str, datetime] = {}
        pending: _Pending | None = None
        orphan = False
        for lineno, raw in enumerate(stream, 1):
            line = raw[:-1] if raw[-1:] == "\n" else raw
            m = ts_re.match(line)
            if m is not None:
                end = m.end()
                rest2 = line[end : end + 2]
                if rest2 in (", ", ": ") or end == len(line.rstrip()):
                    if pending is not None:
                        yield pending.build()
                        pending = None
                    if end == len(line.rstrip()):  # Android's day separator: a bare timestamp
                        continue
                    stamp = m.group(0)
                    when = times.get(stamp)
                    if when is None:
                        try:
                            when = g.mobile_datetime(m.groups(), english)
                        except ValueError:
                            self._skip(lineno)
                            orphan = True
                            continue
                        if len(times) > _CACHE_LIMIT:
                            times.clear()
                        times[stamp] = when
                    orphan = False
                    if rest2 == ", ":
                        start = end + 2
                        sep = line.find(" : ", start, start + g.MAX_NAME + 3)
                        if sep > start and not self._damaged(line):
                            pending = _Pending(when, self._author(line[start:sep]), line[sep + 3 :])
                            continue
                        if line.endswith(" :") and 0 < len(line) - 2 - start <= g.MAX_NAME:
                            pending = _Pending(when, self._author(line[start:-2]), "")
                            continue
                        if self._damaged(line):
                            self._skip(lineno)
                            orphan = True
                    continue  # a system line ("…, X님이 들어왔습니다." / iOS "…: …")
            if date_re.match(line):
                if pending is not None:
                    yield pending.build()
                    pending = None
                continue
            if pending is not None and not orphan and not self._damaged(line):
                pending.lines.append(line)
            elif line.strip() and not self._header(lineno, line):
                self._skip(lineno)
        if pending is not None:
            yield pending.build()

    # -- macOS CSV ----------------------------------------------------------------------------------

    def _csv(self, stream: Iterator[str]) -> Iterator[KakaoMessage]:
        record: list[str] = []
        record_line = 0
        odd_quotes = False
        for lineno, raw in enumerate(stream, 1):
            line = raw[:-1] if raw[-1:] == "\n" else raw
            if lineno == 1 and g.CSV_HEADER.match(line):
                continue
            if not odd_quotes and g.CSV_RECORD.match(line):
                if record:
                    message = self._csv_record(record, record_line)
                    if message is not None:
                        yield message
                record = [line]
                record_line = lineno
                odd_quotes = bool(line.count('"') & 1)
                continue
            if record:
                record.append(line)
                if line.count('"') & 1:
                    odd_quotes = not odd_quotes
            elif line.strip():
                self._skip(lineno)
        if record:
            message = self._csv_record(record, record_line)
            if message is not None:
                yield message

    def _csv_record(self, lines: list[str], lineno: int) -> KakaoMessage | None:
        text = lines[0] if len(lines) == 1 else "\n".join(lines)
        parsed = _split_csv_record(text)
        m = g.CSV_RECORD.match(text)
        if parsed is None or m is None or self._damaged(text):
            self._skip(lineno, len(lines))
            return None
        author, body = parsed
        if not author:
            return None  # a system row
        y, mo, d, h, mi, s = (int(x) for x in m.groups())
        try:
            when = datetime(y, mo, d, h, mi, s)
        except ValueError:
            self._skip(lineno, len(lines))
            return None
        while body.endswith("\n"):
            body = body[:-1]
        kind: MessageKind = g.kind_of(body)  # type: ignore[assignment]
        return KakaoMessage(time=when, author=self._author(author), kind=kind, text=body)


def _take_field(text: str, pos: int, last: bool) -> tuple[str, int] | None:
    """Read one CSV field at ``pos``; return it and the position after its comma (or the end)."""
    if text.startswith('"', pos):
        i = pos + 1
        parts: list[str] = []
        while True:
            q = text.find('"', i)
            if q < 0:
                return None
            parts.append(text[i:q])
            if text.startswith('"', q + 1):
                parts.append('"')
                i = q + 2
                continue
            end = q + 1
            break
        value = "".join(parts)
        if last:
            return (value, end) if not text[end:].strip() else None
        return (value, end + 1) if text.startswith(",", end) else None
    if last:
        return text[pos:], len(text)
    comma = text.find(",", pos)
    return None if comma < 0 else (text[pos:comma], comma + 1)


def _split_csv_record(text: str) -> tuple[str, str] | None:
    """Split ``DATE,USER,MESSAGE`` into user and message, undoing CSV quoting; ``None`` if malformed."""
    user = _take_field(text, 20, last=False)
    if user is None:
        return None
    body = _take_field(text, user[1], last=True)
    return None if body is None else (user[0], body[0])


def parse_export(source: Source) -> KakaoExport:
    """Parse a KakaoTalk export (a path or its bytes) of any shape and encoding.

    Raises ``KakaoParseError`` (with ``.key`` and ``.line``) for empty, binary, unknown or unreadable files.
    """
    return KakaoReader(source).read()
