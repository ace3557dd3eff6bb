"""Moments: the star's memory cut into exchanges by conversation turns and time gaps.

A memory is one moment with its own date, never lines of several days glued together: a new moment starts
after a silence of more than ``GAP`` (45 minutes), and a long moment is cut where a new exchange starts
(the other person speaks after the star) once it holds ``SOFT_MAX`` messages, and anyway at ``HARD_MAX``.
Only text messages count (photos and deleted messages carry no words to remember).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

GAP = timedelta(minutes=45)
SOFT_MAX = 8
HARD_MAX = 16
MAX_MOMENT_CHARS = 1200
"""A moment's stored text is cut past this (a pasted essay is one message, not a memory)."""
EMBED_CHARS = 200
"""Characters of a moment the embedder reads: enough for its gist, and embedding cost grows with length."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MomentLine:
    """One message of a moment."""

    author: str
    is_star: bool
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Moment:
    """A run of messages that belong together: what was said and how it was answered, on one date."""

    first_seq: int
    last_seq: int
    started_at: datetime
    lines: tuple[MomentLine, ...]

    @property
    def text(self) -> str:
        """The whole moment, one ``author: text`` line per message."""
        return moment_text(self.lines)

    def embed_text(self) -> str:
        """What the embedder reads: the messages' words without names, cut at ``EMBED_CHARS``."""
        return " / ".join(line.text for line in self.lines)[:EMBED_CHARS]


class _Message(Protocol):
    """What cutting reads of a stored message (``StoredMessage`` fits)."""

    @property
    def seq(self) -> int: ...
    @property
    def sent_at(self) -> datetime: ...
    @property
    def author(self) -> str: ...
    @property
    def is_star(self) -> bool: ...
    @property
    def kind(self) -> str: ...
    @property
    def text(self) -> str: ...


def moment_text(lines: Sequence[MomentLine]) -> str:
    """``author: text`` lines."""
    return "\n".join(f"{line.author}: {line.text}" for line in lines)


def encode_body(lines: Sequence[MomentLine]) -> str:
    """The ``body`` column: the lines as compact JSON."""
    return json.dumps([[ln.author, int(ln.is_star), ln.text] for ln in lines], ensure_ascii=False)


def decode_body(body: str) -> tuple[MomentLine, ...]:
    """Lines back from the ``body`` column."""
    return tuple(MomentLine(author=a, is_star=bool(s), text=t) for a, s, t in json.loads(body))


def _starts_exchange(previous: MomentLine, current: MomentLine) -> bool:
    return previous.is_star and not current.is_star


class MomentCutter:
    """Cuts a stream of messages (in sequence order) into moments; feed chunks, then :meth:`finish`."""

    def __init__(self, *, gap: timedelta = GAP) -> None:
        self.gap = gap
        self._open: list[tuple[int, datetime, MomentLine]] = []
        self._chars = 0

    def feed(self, messages: Iterable[_Message]) -> Iterator[Moment]:
        """Moments completed by ``messages`` (the last one stays open for the next chunk)."""
        for msg in messages:
            if msg.kind != "text" or not msg.text.strip():
                continue
            line = MomentLine(author=msg.author, is_star=msg.is_star, text=msg.text.strip())
            if self._open and self._cut_before(msg.sent_at, line):
                yield self._close()
            self._open.append((msg.seq, msg.sent_at, line))
            self._chars += len(line.text)

    def finish(self) -> Iterator[Moment]:
        """The last, open moment."""
        if self._open:
            yield self._close()

    def _cut_before(self, when: datetime, line: MomentLine) -> bool:
        _last_seq, last_time, last_line = self._open[-1]
        if abs(when - last_time) > self.gap:
            return True
        size = len(self._open)
        if size >= HARD_MAX or self._chars >= MAX_MOMENT_CHARS:
            return True
        return size >= SOFT_MAX and _starts_exchange(last_line, line)

    def _close(self) -> Moment:
        opened, self._open, self._chars = self._open, [], 0
        lines = _capped(tuple(line for _, _, line in opened))
        return Moment(first_seq=opened[0][0], last_seq=opened[-1][0], started_at=opened[0][1], lines=lines)


def _capped(lines: tuple[MomentLine, ...]) -> tuple[MomentLine, ...]:
    total, kept = 0, []
    for line in lines:
        room = MAX_MOMENT_CHARS - total
        if room <= 0:
            break
        kept.append(
            line
            if len(line.text) <= room
            else MomentLine(author=line.author, is_star=line.is_star, text=line.text[: room - 1] + "…")
        )
        total += len(line.text)
    return tuple(kept)


def conversation_moment(
    *, user_name: str, star_name: str, said: str, answered: Sequence[str], at: datetime, turn_id: int
) -> Moment:
    """What a user told the star in VOS and how the star answered, as one moment (times in UTC)."""
    lines = (
        MomentLine(author=user_name, is_star=False, text=said.strip()),
        *(MomentLine(author=star_name, is_star=True, text=b.strip()) for b in answered if b.strip()),
    )
    naive = at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
    return Moment(first_seq=turn_id, last_seq=turn_id, started_at=naive, lines=_capped(lines))


def exchanges(lines: Sequence[MomentLine]) -> list[tuple[tuple[MomentLine, ...], tuple[MomentLine, ...]]]:
    """The moment's exchanges: each run of the other person's messages and the star's run answering it."""
    result: list[tuple[tuple[MomentLine, ...], tuple[MomentLine, ...]]] = []
    said: list[MomentLine] = []
    answer: list[MomentLine] = []
    for line in lines:
        if line.is_star:
            answer.append(line)
            continue
        if answer:
            result.append((tuple(said), tuple(answer)))
            said, answer = [], []
        said.append(line)
    if said or answer:
        result.append((tuple(said), tuple(answer)))
    return result
