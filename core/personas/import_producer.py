"""Where a star import's CPU work runs: parsing, the style profile and the insert rows.

A large export is read in a child process (``ProcessProducer``): the parser, the style accumulator and the
row builder are pure Python, and in the bot's process they would hold the GIL for most of the import, so
every other user's chat turn waited for it at each of its thread hops (3.7-9x their latency). The child
sends ready insert rows, a batch per message over a pipe; the bot's process only writes them, in short
transactions. A small export is read in a worker thread (``ThreadProducer``): starting a process costs
more than the whole parse.

Both give the same rows in the same order and, when the stream ends, an ``ImportOutcome``: the counts
per author, the style accumulator and what the parser skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import multiprocessing
import os
import pickle
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from core.personas.kakao import KakaoParseError, KakaoReader
from core.personas.kakao.parser import Record
from core.personas.style import StyleAccumulator
from core.storage.star_messages import WRITE_BATCH, RowBuilder

PROCESS_ABOVE_BYTES = 4 << 20
"""Exports from this size (about 50,000 messages) are read in a child process."""
READER_NICE = 5
"""Niceness the child process adds to its own."""
PIPE_BYTES = 1 << 20
"""Buffer of the pipe from the reader process: about a dozen batches ahead of the writes."""


@dataclass(slots=True, kw_only=True)
class ImportOutcome:
    """What one pass over an export found besides its rows."""

    total: int
    counts: dict[str, int]
    style: StyleAccumulator
    skipped_lines: int
    first_skipped_line: int | None
    shape: str
    cut: int = 0
    """Messages whose stored text was cut to ``MAX_MESSAGE_CHARS``."""

    def check(self) -> None:
        """Raise like ``parse_export`` when the stream held no message at all."""
        if not self.total:
            if self.first_skipped_line is not None:
                raise KakaoParseError("kakao.error.damaged", line=self.first_skipped_line)
            raise KakaoParseError("kakao.error.no_messages")


@dataclass(frozen=True, slots=True, kw_only=True)
class RowPlan:
    """How to turn the export into insert rows for one star."""

    star_id: str
    star_author: str
    first_seq: int
    sqlite: bool
    batch: int = WRITE_BATCH


class _Observed:
    """Streams an export's records while counting them (per author) and feeding the style profile."""

    def __init__(self, reader: KakaoReader, style: StyleAccumulator) -> None:
        self.reader = reader
        self.style = style
        self.total = 0
        self.counts: dict[str, int] = {}

    def __iter__(self) -> Iterator[Record]:
        add = self.style.add_record
        counts = self.counts
        total = 0
        try:
            for record in self.reader.records():
                total += 1
                add(*record)
                author = record[1]
                counts[author] = counts.get(author, 0) + 1
                yield record
        finally:
            self.total = total

    def outcome(self, *, cut: int = 0) -> ImportOutcome:
        return ImportOutcome(
            cut=cut,
            total=self.total,
            counts=self.counts,
            style=self.style,
            skipped_lines=self.reader.skipped_lines,
            first_skipped_line=self.reader.first_skipped_line,
            shape=self.reader.shape,
        )


def _rows(path: Path, plan: RowPlan, *, polite: bool) -> tuple[_Observed, RowBuilder]:
    observed = _Observed(KakaoReader(path), StyleAccumulator(plan.star_author))
    builder = RowBuilder(
        observed,
        plan.star_id,
        plan.star_author,
        plan.first_seq,
        sqlite=plan.sqlite,
        batch=plan.batch,
        polite=polite,
    )
    return observed, builder


class ThreadProducer:
    """Reads the export in a worker thread of this process (small exports)."""

    def __init__(self, path: Path, plan: RowPlan) -> None:
        self._path = path
        self._plan = plan
        self.outcome: ImportOutcome | None = None

    async def batches(self) -> AsyncIterator[list[Any]]:
        """Insert rows, a batch at a time; ``outcome`` is set once they are all out."""
        observed, builder = await asyncio.to_thread(_rows, self._path, self._plan, polite=True)
        while rows := await asyncio.to_thread(builder.next_batch):
            yield rows
        self.outcome = observed.outcome(cut=builder.cut)


def _produce(path: str, plan: RowPlan, conn: Connection) -> None:
    """The child process: parse, build rows and the profile, send them; then the outcome."""
    # Nothing built here holds a cycle: the collector would only walk a million short-lived rows.
    gc.disable()
    # Background work: a chat turn of the bot's process goes first on a busy core (as the vector stage's
    # threads do, ``memory_index.EMBED_NICE``); on idle cores the import runs at full speed.
    with contextlib.suppress(OSError, AttributeError):
        os.nice(READER_NICE)
    try:
        observed, builder = _rows(Path(path), plan, polite=False)
        while rows := builder.next_batch():
            conn.send_bytes(pickle.dumps(("rows", rows), protocol=pickle.HIGHEST_PROTOCOL))
        conn.send(("done", observed.outcome(cut=builder.cut)))
    except KakaoParseError as exc:
        fields = {k: v for k, v in exc.fields.items() if k != "line"}
        conn.send(("parse_error", exc.key, exc.line, exc.detail, fields))
    except (BrokenPipeError, ConnectionResetError):
        return  # the importing process is gone (killed): nothing to tell anyone
    except Exception as exc:  # relayed to the parent, which raises it
        conn.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        conn.close()


def _widen(conn: Connection) -> None:
    """Give the pipe ``PIPE_BYTES`` of buffer where the system allows (Linux), so the reader keeps
    parsing while this process writes: a batch (~80 KB pickled) fills the default 64 KB, and the two
    sides then took turns instead of working at once (a third of a 1M import's wall time)."""
    with contextlib.suppress(OSError, AttributeError, ValueError):
        import fcntl

        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


class ImportProcessError(RuntimeError):
    """The child process reading an export failed or died."""


class ProcessProducer:
    """Reads the export in a child process and receives its rows (large exports)."""

    def __init__(self, path: Path, plan: RowPlan) -> None:
        self._path = path
        self._plan = plan
        self.outcome: ImportOutcome | None = None

    async def batches(self) -> AsyncIterator[list[Any]]:
        """Insert rows, a batch at a time; ``outcome`` is set once they are all out."""
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        _widen(receiver)
        child = context.Process(
            target=_produce, args=(str(self._path), self._plan, sender), daemon=True, name="vos-import"
        )
        await asyncio.to_thread(child.start)
        sender.close()  # the child's end: once it exits, a read here ends instead of waiting forever
        try:
            while True:
                try:
                    message = await asyncio.to_thread(receiver.recv)
                except EOFError:
                    raise ImportProcessError(f"the import process died (exit {child.exitcode})") from None
                match message:
                    case ("rows", rows):
                        yield rows
                    case ("done", outcome):
                        self.outcome = outcome
                        return
                    case ("parse_error", key, line, detail, fields):
                        raise KakaoParseError(key, line=line, detail=detail, **fields)
                    case ("error", detail):
                        raise ImportProcessError(detail)
                    case _:
                        raise ImportProcessError(f"unexpected message from the import process: {message!r}")
        finally:
            if child.is_alive():
                child.terminate()  # an import given up (cancelled, failed): its reader stops too
            await asyncio.to_thread(child.join, 10)
            receiver.close()


def producer_for(
    path: Path, size: int, plan: RowPlan, *, process_above: int
) -> ThreadProducer | ProcessProducer:
    """A child process for an export of ``process_above`` bytes or more, else a thread."""
    if size >= process_above:
        return ProcessProducer(path, plan)
    return ThreadProducer(path, plan)
