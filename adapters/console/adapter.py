"""The console adapter: a terminal chat, and a scripted mode that reads lines from a file or stdin."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import IO, TextIO

from adapters.console.convert import missing_file, to_event
from adapters.console.reader import LineReader
from adapters.console.render import render
from core.domain.actions import AskChoice, Choice, SendText, TypingPause
from core.domain.identity import Locale
from core.i18n import t
from core.ports import EventHandler


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsoleConfig:
    """Who the console user is and how to behave."""

    user_id: str = "local"
    display_name: str = "me"
    locale: Locale | None = None
    echo_input: bool = False
    real_pauses: bool = False
    default_locale: Locale = Locale.KO
    """The language of the console's own lines when ``locale`` is not set."""


class ConsoleAdapter:
    """Reads lines, sends them to the engine and prints every action it yields."""

    def __init__(self, engine: EventHandler, config: ConsoleConfig, *, out: TextIO | None = None) -> None:
        self.engine = engine
        self.config = config
        self.out = out or sys.stdout
        self._pending: tuple[Choice, ...] = ()

    def _print(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()

    @property
    def locale(self) -> Locale:
        """The language of the console's own lines."""
        return self.config.locale or self.config.default_locale

    async def send_line(self, line: str) -> None:
        """Handle one input line (a file command whose path is not a file is answered here, not sent on)."""
        missing = missing_file(line)
        if missing is not None:
            if self.config.echo_input:
                self._print(f"you> {line.rstrip()}")
            self._print("VOS> " + t(self.locale, "lines.console.no_file", path=missing))
            return
        event = to_event(
            line,
            user_id=self.config.user_id,
            display_name=self.config.display_name,
            locale=self.config.locale,
            pending=self._pending,
        )
        if event is None:
            return
        if self.config.echo_input:
            self._print(f"you> {line.rstrip()}")
        async for action in self.engine.handle(event):
            if isinstance(action, AskChoice):
                self._pending = action.options
            elif isinstance(action, SendText) and action.buttons:
                self._pending = action.buttons
            if isinstance(action, TypingPause) and self.config.real_pauses:
                await asyncio.sleep(min(action.seconds, 2.5))
            for out in render(action, locale=self.locale):
                self._print(out)

    async def run_script(self, source: IO[bytes] | IO[str]) -> None:
        """Scripted mode: every line of ``source`` is typed in turn (read off the event loop)."""
        reader = LineReader(source)
        while (line := await reader.readline()) is not None:
            await self.send_line(line)

    async def run_interactive(self, source: IO[bytes] | IO[str] | None = None) -> None:
        """Interactive mode until EOF, ``/quit`` or Ctrl-C (which never waits for Enter)."""
        reader = LineReader(source or sys.stdin.buffer, prompt_out=self.out)
        while (line := await reader.readline("you> ")) is not None:
            if line.strip() in {"/quit", "/exit"}:
                return
            await self.send_line(line)
