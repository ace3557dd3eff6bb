"""Lines from a terminal, a pipe or a file, read on a daemon thread so that the event loop never waits for
input: recovered jobs, the blob collector and retention keep running while the console waits, and Ctrl-C (or
the end of the program) never waits for Enter, as a read in the default executor would (``asyncio.run``
joins that executor's threads before it returns).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
from typing import IO, TextIO


class UnreadableInput(Exception):
    """A line of the input is not UTF-8 text."""

    def __init__(self, line_number: int, position: int) -> None:
        super().__init__(f"line {line_number} is not UTF-8 text (byte {position})")
        self.line_number = line_number


_Request = tuple[str, asyncio.AbstractEventLoop, "asyncio.Future[str | None]"]


class LineReader:
    """``await reader.readline(prompt)``: the next line, or ``None`` at the end of the input.

    One line is read per request (a prompt is printed only once the previous replies are out); the thread is
    a daemon, so a read that never returns does not keep the process alive.
    """

    def __init__(self, source: IO[bytes] | IO[str], *, prompt_out: TextIO | None = None) -> None:
        self._source = source
        self._prompt_out = prompt_out
        self._requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self.line_number = 0
        self._read = 0  # lines read by the thread
        self._pending = b""
        try:
            self._fd: int | None = source.fileno()
        except (OSError, AttributeError, ValueError):  # io.UnsupportedOperation is an OSError
            self._fd = None

    async def readline(self, prompt: str = "") -> str | None:
        """The next line (with its newline), ``None`` at EOF; :class:`UnreadableInput` for bytes not UTF-8."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[str | None] = loop.create_future()
        self._requests.put((prompt, loop, future))
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="vos-console-input", daemon=True)
            self._thread.start()
        line = await future
        if line is not None:
            self.line_number += 1
        return line

    def _next_raw_line(self) -> bytes | str:
        """One line. From a file descriptor it is read with ``os.read``, not through the stream's buffer: a
        thread blocked inside a buffered read holds its lock, and the interpreter aborts at exit when it
        cannot take that lock to close stdin ("could not acquire lock ... possibly due to daemon threads")."""
        if self._fd is None:
            return self._source.readline()
        while b"\n" not in self._pending:
            chunk = os.read(self._fd, 65536)
            if not chunk:
                line, self._pending = self._pending, b""
                return line
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line + b"\n"

    def _decoded(self, raw: bytes | str) -> str:
        """Bytes are decoded line by line, so a bad byte is reported on its own line (and lines before it
        are handled): a text stream decodes whole chunks ahead of the line being read."""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8-sig" if self._read == 0 else "utf-8")
        if raw:
            self._read += 1
        return raw

    def _serve(self) -> None:
        while True:
            prompt, loop, future = self._requests.get()
            result: str | BaseException | None
            try:
                if prompt and self._prompt_out is not None:
                    self._prompt_out.write(prompt)
                    self._prompt_out.flush()
                result = self._decoded(self._next_raw_line()) or None
            except UnicodeDecodeError as exc:
                result = UnreadableInput(self._read + 1, exc.start)
            except (OSError, ValueError) as exc:  # the stream was closed under us: the input has ended
                result = None if isinstance(exc, ValueError) else exc
            if not _deliver(loop, future, result) or result is None or isinstance(result, BaseException):
                return


def _deliver(
    loop: asyncio.AbstractEventLoop, future: asyncio.Future[str | None], result: str | BaseException | None
) -> bool:
    """Hand ``result`` to the waiting coroutine; False when its loop is gone (the program is ending)."""

    def settle() -> None:
        if future.done():  # cancelled: Ctrl-C, or the console was stopped
            return
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)

    with contextlib.suppress(RuntimeError):  # "Event loop is closed"
        loop.call_soon_threadsafe(settle)
        return True
    return False
