"""CPU-bound work of a large import in a child process, so that it never holds this process's GIL.

A thread of the bot's process that runs Python for long stretches (a tokenizer's loop, a morpheme
analyzer's load) makes every other user's chat turn wait for the GIL at each of its hops: turns of another
user took 16x their latency alone at p95 during the memory cut of a 100,000-message import, and 6x during
its vector stage (the embedder's unigram tokenizer is Python). A ``ChildProcess`` builds its worker once in
a spawned, niced process (``build``: a picklable callable returning the function that serves each request)
and answers one request at a time over a pipe; when the bot's process is killed the pipe closes and the
child ends on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

CHILD_NICE = 5
"""Niceness a child adds to its own (as the import's reader and embedding threads do)."""

Worker = Callable[[Any], Any]


def _serve(conn: Connection, build: Callable[[], Worker]) -> None:
    """The child: build the worker, then answer each request until the bot's end of the pipe closes."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(CHILD_NICE)
    try:
        worker = build()
    except Exception as exc:  # relayed to the parent with the first request
        worker, failed = None, f"{type(exc).__name__}: {exc}"
    try:
        while True:
            try:
                request = conn.recv()
            except (EOFError, OSError):
                return  # the import is over, or the bot's process is gone
            if worker is None:
                conn.send(("error", failed))
                continue
            try:
                reply: tuple[str, Any] = ("ok", worker(request))
            except Exception as exc:  # relayed to the parent, which raises it
                reply = ("error", f"{type(exc).__name__}: {exc}")
            conn.send(reply)
    except (BrokenPipeError, ConnectionResetError):
        return
    finally:
        conn.close()


class ChildProcessError(RuntimeError):
    """A child process failed, died or was not running."""


class ChildProcess:
    """One child process serving one request at a time (callers wait their turn); ``close`` (always) ends
    it. A call cancelled or cut off mid-request leaves its answer in the pipe, so the child is not used again:
    later calls raise."""

    error: type[ChildProcessError] = ChildProcessError

    def __init__(self, build: Callable[[], Worker], *, name: str) -> None:
        self._build = build
        self._name = name
        self._conn: Connection | None = None
        self._child: Any = None
        self._turn = asyncio.Lock()
        self._broken = False

    async def start(self) -> None:
        """Start the child (it builds its worker before it reads the first request)."""
        context = multiprocessing.get_context("spawn")
        mine, theirs = context.Pipe(duplex=True)
        child = context.Process(target=_serve, args=(theirs, self._build), daemon=True, name=self._name)
        self._conn, self._child = mine, child
        await asyncio.to_thread(child.start)
        theirs.close()  # the child's end: once it exits, a read here ends instead of waiting forever

    async def call(self, request: Any) -> Any:
        """The worker's answer to ``request``, after the calls already waiting."""
        async with self._turn:
            if self._broken:
                raise self.error(f"the {self._name} process was interrupted mid-request")
            try:
                kind, value = await asyncio.to_thread(self._exchange, request)
            except BaseException:  # died, or cancelled: its answer would reach the next caller
                self._broken = True
                raise
        if kind != "ok":
            raise self.error(str(value))
        return value

    def _exchange(self, request: Any) -> tuple[str, Any]:
        conn, child = self._conn, self._child
        if conn is None or child is None:
            raise self.error(f"the {self._name} process is not running")
        try:
            conn.send(request)
            reply: tuple[str, Any] = conn.recv()
        except (EOFError, OSError):
            raise self.error(f"the {self._name} process died (exit {child.exitcode})") from None
        return reply

    async def close(self) -> None:
        """End the child, even mid-request (an import cancelled or failed), and wait for it."""
        child, conn = self._child, self._conn
        self._child = self._conn = None
        if child is None or conn is None:
            return
        if child.is_alive():
            child.terminate()
        await asyncio.to_thread(child.join, 10)
        conn.close()
