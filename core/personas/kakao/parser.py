"""Streaming KakaoTalk export parser: every shape, one pass, linear time.

``KakaoReader`` detects encoding and shape from the file head, then ``messages()`` streams
``KakaoMessage`` objects while counting lines it could not attribute (``skipped_lines``). ``parse_export``
collects them into a ``KakaoExport``. Lines are matched with anchored, precompiled regexes; datetimes are
built from hand-parsed numbers and cached per distinct timestamp (mobile shapes: per day and per clock
reading, added together), so no ``strptime`` runs per line.

The loops yield plain ``(time, author, kind, text)`` records (``records()``): the import consumes those,
which spares it a million object constructions; ``messages()`` wraps each in a ``KakaoMessage``.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Final, TextIO

from core.personas.kakao import grammar as g
from core.personas.kakao.csv_fields import split_csv_record
from core.personas.kakao.encoding import Source, detect_encoding, open_binary, text_lines
from core.personas.kakao.model import (
    KakaoExport,
    KakaoMessage,
    KakaoParseError,
    MessageKind,
    Shape,
    fast_message,
)
from core.personas.kakao.sniff import sniff_shape

if TYPE_CHECKING:
    import re

_SNIFF_LINES: Final = 400
_CACHE_LIMIT: Final = 20_000
_READ_CHARS: Final = 1 << 16  # small batches keep streaming memory flat (~1 MB)
_DAMAGE_NUL: Final = "\x00"
_DAMAGE_REPLACED: Final = "\ufffd"
_NO_TIME: Final = datetime(1, 1, 1)
_NO_CLOCK: Final = timedelta(days=-1)


Record = tuple[datetime, str, MessageKind, str]
"""A message as the loops yield it: time, author, kind, text."""


def _flush(time: datetime, author: str, text: str, extra: list[str] | None) -> Record:
    """Finish a message from its first line and continuation lines."""
    if extra is not None:
        while extra and not extra[-1].strip():
            extra.pop()  # blank lines before a day separator belong to the layout, not the message
        if extra:
            text = text + "\n" + "\n".join(extra)
    kind: MessageKind = g.kind_of(text)  # type: ignore[assignment]
    return time, author, kind, text


def _line_batches(stream: TextIO) -> Iterator[tuple[list[str], bool]]:
    """The stream's lines without line endings, a batch per chunk (faster than line-by-line reads), and
    whether the batch is free of damage marks (then no line of it needs its own check)."""
    carry = ""
    while chunk := stream.read(_READ_CHARS):
        text = carry + chunk if carry else chunk
        lines = text.split("\n")
        carry = lines.pop()
        yield lines, _DAMAGE_NUL not in text and _DAMAGE_REPLACED not in text
    if carry:
        yield [carry], _DAMAGE_NUL not in carry and _DAMAGE_REPLACED not in carry


class KakaoReader:
    """Reads one export: ``shape``, ``encoding``, ``title`` and ``saved_at`` after construction,
    ``messages()`` to stream, ``skipped_lines`` and ``first_skipped_line`` once the stream is consumed."""

    def __init__(self, source: Source) -> None:
        self._source = source
        with open_binary(source) as stream:
            codec, errors = detect_encoding(stream)
            text = text_lines(stream, codec, errors)
            head = list(itertools.islice(text, _SNIFF_LINES))
            text.detach()  # the binary stream is closed by its own ``with``
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
        for time, author, kind, text in self.records():
            yield fast_message(time, author, kind, text)

    def records(self) -> Iterator[Record]:
        """Stream the authored messages in file order as ``(time, author, kind, text)`` tuples."""
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
        # A million kept messages would make every collection walk them all (a quarter of the time):
        # they hold no cycles, so the collector waits until they are built.
        collecting = gc.isenabled()
        gc.disable()
        try:
            messages = tuple(self.messages())
        finally:
            if collecting:
                gc.enable()
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
        return _DAMAGE_NUL in line or _DAMAGE_REPLACED in line

    def _header(self, lineno: int, line: str) -> bool:
        return lineno <= 3 and bool(
            g.SAVED.match(line)
            or g.TITLE_KO.match(line)
            or g.TITLE_PC_EN.match(line)
            or g.TITLE_MOBILE_EN.match(line)
        )

    # -- PC Windows ---------------------------------------------------------------------------------

    def _pc(self, stream: TextIO, *, english: bool) -> Iterator[Record]:  # noqa: PLR0915
        # One flat loop with local state on purpose: this is the hot path (a million lines a second).
        match = (g.PC_EN_MESSAGE if english else g.PC_KO_MESSAGE).match
        day_match = (g.PC_EN_DAY if english else g.PC_KO_DAY).match
        system_match = g.SYSTEM_LINE.match
        author_of = self._author
        day: date | None = None
        times: dict[str, datetime] = {}
        # The message being assembled: time, author, first line, continuation lines (None: one line).
        p_time = _NO_TIME
        p_author: str | None = None
        p_text = ""
        p_extra: list[str] | None = None
        orphan = False  # continuation lines of a message that could not be read are skipped with it
        lineno = 0
        for batch, _clean in _line_batches(stream):
            for line in batch:
                lineno += 1
                if line[:1] == "[" and (m := match(line)):
                    if p_author is not None:
                        yield _flush(p_time, p_author, p_text, p_extra)
                        p_author = None
                    stamp = m.group(2)
                    when = times.get(stamp)
                    if when is None:
                        when = self._pc_time(day, stamp, english)
                        if when is None:
                            self._skip(lineno)
                            orphan = True
                            continue
                        times[stamp] = when
                    if _DAMAGE_NUL in line or _DAMAGE_REPLACED in line:
                        self._skip(lineno)
                        orphan = True
                        continue
                    orphan = False
                    p_time, p_author, p_text, p_extra = when, author_of(m.group(1)), line[m.end() :], None
                    continue
                if line[:1] == "-" and (d := day_match(line)):
                    if p_author is not None:
                        yield _flush(p_time, p_author, p_text, p_extra)
                        p_author = None
                    day = self._pc_day(d, english)
                    times.clear()
                    orphan = day is None
                    if day is None:
                        self._skip(lineno)
                    continue
                if line[-1:] == "." and len(line) < 600 and system_match(line):
                    if p_author is not None:
                        yield _flush(p_time, p_author, p_text, p_extra)
                        p_author = None
                    continue
                if p_author is not None and not orphan and not self._damaged(line):
                    if p_extra is None:
                        p_extra = [line]
                    else:
                        p_extra.append(line)
                elif line.strip() and not self._header(lineno, line):
                    self._skip(lineno)
        if p_author is not None:
            yield _flush(p_time, p_author, p_text, p_extra)

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

    def _mobile(self, stream: TextIO) -> Iterator[Record]:  # noqa: PLR0915
        english = self.shape in ("android_en", "ios_en")
        match = {"android_ko": g.ANDROID_KO_TS, "ios_ko": g.IOS_KO_TS}.get(self.shape, g.EN_TS).match
        f_day_key = ""
        f_day: datetime | None = None
        f_clocks: dict[str, timedelta | None] = {}
        keep = self._authors.setdefault  # one string object per participant
        fast = {"android_ko": g.ANDROID_KO_MESSAGE, "ios_ko": g.IOS_KO_MESSAGE}.get(
            self.shape, g.EN_MESSAGE
        ).match
        date_match = (g.EN_DATE_LINE if english else g.KO_DATE_LINE).match
        author_of = self._author
        authors = self._authors
        kind_first = g.KIND_FIRST
        max_name = g.MAX_NAME + 3
        times: dict[str, datetime] = {}
        days: dict[tuple[str | None, ...], datetime] = {}
        clocks: dict[tuple[str | None, ...], timedelta] = {}
        p_time = _NO_TIME
        p_author: str | None = None
        p_text = ""
        p_extra: list[str] | None = None
        orphan = False
        lineno = 0
        for batch, clean in _line_batches(stream):
            for line in batch:
                lineno += 1
                if clean and (f := fast(line)) is not None:
                    # The common line, whole: one regex gives the stamp and the name (what the general
                    # path below finds in five steps). A new stamp that fails to build goes that way too.
                    # The stamp is a day part (cached while it repeats) and a clock part, cached by its
                    # text: most messages have a new minute, and most minutes were seen before.
                    day_end = f.end(4)
                    if day_end != len(f_day_key) or not line.startswith(f_day_key):
                        f_day_key = line[:day_end]
                        f_day = days.get(f.group(2, 3, 4))
                        if f_day is None:
                            try:
                                f_day = days[f.group(2, 3, 4)] = g.mobile_day(f.group(2, 3, 4), english)
                            except ValueError:
                                f_day = None  # a damaged day: the general path skips its lines
                    clock_key = line[day_end : f.end(1)]
                    clock = f_clocks.get(clock_key, _NO_CLOCK)
                    if clock is _NO_CLOCK:
                        try:
                            clock = g.mobile_clock(f.group(5, 6, 7), english)
                        except ValueError:
                            clock = None  # hour 25: the general path skips the line
                        f_clocks[clock_key] = clock  # the regex bounds how many texts there are
                    if clock is not None and f_day is not None:
                        if p_author is not None:
                            if p_extra is None and (p_text[:1] not in kind_first or len(p_text) > 320):
                                yield p_time, p_author, "text", p_text
                            else:
                                yield _flush(p_time, p_author, p_text, p_extra)
                        orphan = False
                        name = f.group(8)
                        p_time, p_author, p_text = f_day + clock, keep(name, name), line[f.end() :]
                        p_extra = None
                        continue
                m = match(line)
                if m is not None:
                    end = m.end()
                    comma = line.startswith(", ", end)  # a message (or an Android system line)
                    if comma or line.startswith(": ", end) or not line[end:].strip():
                        if p_author is not None:
                            if p_extra is None and (p_text[:1] not in kind_first or len(p_text) > 320):
                                yield p_time, p_author, "text", p_text  # _flush's answer, inlined
                            else:
                                yield _flush(p_time, p_author, p_text, p_extra)
                            p_author = None
                        if not comma and not line.startswith(": ", end):
                            continue  # Android's day separator: a bare timestamp
                        stamp = line[:end]
                        when = times.get(stamp)
                        if when is None:
                            parts = m.groups()
                            day, clock = days.get(parts[:3]), clocks.get(parts[3:])
                            try:
                                if day is None:
                                    day = days[parts[:3]] = g.mobile_day(parts[:3], english)
                                if clock is None:
                                    clock = clocks[parts[3:]] = g.mobile_clock(parts[3:], english)
                            except ValueError:
                                self._skip(lineno)
                                orphan = True
                                continue
                            when = day + clock
                            if len(times) > _CACHE_LIMIT:
                                times.clear()
                                days.clear()
                            times[stamp] = when
                        orphan = False
                        if comma:
                            start = end + 2
                            sep = line.find(" : ", start, start + max_name)
                            if sep > start and not (_DAMAGE_NUL in line or _DAMAGE_REPLACED in line):
                                name = line[start:sep]
                                author = authors.get(name)
                                if author is None:
                                    author = authors[name] = name
                                p_time, p_author, p_text, p_extra = when, author, line[sep + 3 :], None
                                continue
                            if line.endswith(" :") and 0 < len(line) - 2 - start <= g.MAX_NAME:
                                p_time, p_author, p_text, p_extra = when, author_of(line[start:-2]), "", None
                                continue
                            if self._damaged(line):
                                self._skip(lineno)
                                orphan = True
                        continue  # a system line ("…, X님이 들어왔습니다." / iOS "…: …")
                if line and date_match(line):
                    if p_author is not None:
                        yield _flush(p_time, p_author, p_text, p_extra)
                        p_author = None
                    continue
                if p_author is not None and not orphan and not self._damaged(line):
                    if p_extra is None:
                        p_extra = [line]
                    else:
                        p_extra.append(line)
                elif line.strip() and not self._header(lineno, line):
                    self._skip(lineno)
        if p_author is not None:
            yield _flush(p_time, p_author, p_text, p_extra)

    # -- macOS CSV ----------------------------------------------------------------------------------

    def _csv(self, stream: TextIO) -> Iterator[Record]:
        record_start = g.CSV_RECORD.match
        record: list[str] = []
        record_line = 0
        odd_quotes = False
        lineno = 0
        for batch, _clean in _line_batches(stream):
            for line in batch:
                lineno += 1
                if not odd_quotes and line[4:5] == "-" and record_start(line):
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
                elif lineno == 1 and g.CSV_HEADER.match(line):
                    continue
                elif line.strip():
                    self._skip(lineno)
        if record:
            message = self._csv_record(record, record_line)
            if message is not None:
                yield message

    def _csv_record(self, lines: list[str], lineno: int) -> Record | None:
        text = lines[0] if len(lines) == 1 else "\n".join(lines)
        parsed = split_csv_record(text)
        if parsed is None or _DAMAGE_NUL in text or _DAMAGE_REPLACED in text:
            self._skip(lineno, len(lines))
            return None
        author, body = parsed
        if not author:
            return None  # a system row
        try:
            when = datetime.fromisoformat(text[:19])
        except ValueError:
            self._skip(lineno, len(lines))
            return None
        while body.endswith("\n"):
            body = body[:-1]
        kind: MessageKind = g.kind_of(body)  # type: ignore[assignment]
        return when, self._author(author), kind, body


def parse_export(source: Source) -> KakaoExport:
    """Parse a KakaoTalk export (a path or its bytes) of any shape and encoding.

    Raises ``KakaoParseError`` (with ``.key`` and ``.line``) for empty, binary, unknown or unreadable files.
    """
    return KakaoReader(source).read()
