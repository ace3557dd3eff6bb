"""Morpheme analysis of a large import in a child process, with the child's own analyzer.

In the bot's process the import's analysis held the GIL and the shared analyzer's lock, and every other
user's chat turn waited for it at each hop (p95 16x its latency alone during the memory cut of a
100,000-message import). The child loads its own ``kiwipiepy`` model (about 330 MB while the import runs,
1-2 s to start) and answers one batch of texts at a time over a pipe, with the same tokens the bot's
analyzer gives (same model, same settings, same filter). It runs niced, so a turn goes first on a busy
core; when the bot's process is killed the pipe closes and the child ends on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

ANALYZER_NICE = 5
"""Niceness the child adds to its own (as the import's reader and embedding threads do)."""


def _serve(conn: Connection) -> None:
    """The child: analyze each batch it receives until the bot's end of the pipe closes."""
    from core.text.morphemes import shared_analyzer

    with contextlib.suppress(OSError, AttributeError):
        os.nice(ANALYZER_NICE)
    analyzer = shared_analyzer()
    try:
        while True:
            try:
                texts = conn.recv()
            except (EOFError, OSError):
                return  # the import is over, or the bot's process is gone
            try:
                reply: tuple[str, Any] = ("tokens", analyzer.many(texts))
            except Exception as exc:  # relayed to the parent, which raises it
                reply = ("error", f"{type(exc).__name__}: {exc}")
            conn.send(reply)
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        conn.close()


class AnalyzerProcessError(RuntimeError):
    """The analyzer's child process failed or died."""


class AnalyzerProcess:
    """One child process analyzing texts for an import; ``close`` (always) ends it."""

    def __init__(self) -> None:
        self._conn: Connection | None = None
        self._child: Any = None

    async def start(self) -> None:
        """Start the child (its model loads with the first batch)."""
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe(duplex=True)
        child = context.Process(target=_serve, args=(theirs,), daemon=True, name="vos-morphemes")
        self._conn, self._child = mine, child
        await asyncio.to_thread(child.start)
        theirs.close()  # the child's end: once it exits, a read here ends instead of waiting forever

    async def many(self, texts: Sequence[str]) -> list[list[str]]:
        """The content morphemes of each text (one batch at a time: await each call before the next)."""
        return await asyncio.to_thread(self._call, list(texts))

    def _call(self, texts: list[str]) -> list[list[str]]:
        conn, child = self._conn, self._child
        if conn is None or child is None:
            raise AnalyzerProcessError("the analyzer process is not running")
        try:
            conn.send(texts)
            kind, value = conn.recv()
        except (EOFError, OSError):
            raise AnalyzerProcessError(f"the analyzer process died (exit {child.exitcode})") from None
        if kind != "tokens":
            raise AnalyzerProcessError(str(value))
        return list(value)

    async def close(self) -> None:
        """End the child, even mid-batch (an import cancelled or failed), and wait for it."""
        child, conn = self._child, self._conn
        self._child = self._conn = None
        if child is None or conn is None:
            return
        if child.is_alive():
            child.terminate()
        await asyncio.to_thread(child.join, 10)
        conn.close()
