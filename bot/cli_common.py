"""What every ``vos`` sub-app shares: settings or a one-line exit, logging, running a coroutine, options."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot.errors import explain
from bot.settings import Settings, SettingsError, load_settings

T = TypeVar("T")
UserOpt = Annotated[str, typer.Option("--user", help="The local user id (the console user is 'local').")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"vos: {message}", err=True)
    return typer.Exit(code)


def settings_or_exit(**overrides: Any) -> Settings:
    """Load settings, turning any error into one line naming the setting."""
    try:
        return load_settings(**overrides)
    except SettingsError as exc:  # a wrong setting is a mistake, not a usage error (2)
        raise fail(str(exc), 1) from None


def console_log_file(settings: Settings) -> Path:
    """Where an interactive console's log goes, so that log lines never land between chat lines."""
    return settings.data_dir / "vos.log"


def interactive_terminal() -> bool:
    """Whether a person types into this process and reads its output (not a pipe, a script or a service)."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def setup_logging(settings: Settings, *, to_file: bool = False) -> None:
    """Log to stderr (to ``<data dir>/vos.log`` for a terminal chat); keep HTTP clients quiet (their URLs
    can contain tokens)."""
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    if to_file:
        path = console_log_file(settings)
        path.parent.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(level=settings.log_level, filename=path, encoding="utf-8", format=fmt)
    else:
        logging.basicConfig(level=settings.log_level, stream=sys.stderr, format=fmt)
    for noisy in ("httpx", "httpcore", "telegram.ext", "apscheduler", "aiosqlite", "openai", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_async(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine; Ctrl-C exits quietly, SIGTERM (``docker stop``, systemd) stops it the same way."""

    async def main() -> T:
        # Without a handler SIGTERM kills at once (PID 1 in a container: not at all, until SIGKILL),
        # skipping the graceful stop: replies in flight lost, polled updates fetched again.
        loop, task = asyncio.get_running_loop(), asyncio.current_task()
        assert task is not None
        loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            return await coro_fn()
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        typer.echo("\nvos: stopped (Ctrl-C)", err=True)
        raise typer.Exit(130) from None
    except asyncio.CancelledError:  # SIGTERM: asked to stop, and stopped
        raise typer.Exit(0) from None
    except Exception as exc:  # ExceptionGroup included: a known mistake is one line, a bug a traceback
        line = explain(exc)
        if line is None:
            raise
        raise fail(line, 1) from None


GuildOpt = Annotated[
    str | None, typer.Option("--guild", help="Work in a Discord guild's meetings instead of the user's.")
]
SpeakersOpt = Annotated[int | None, typer.Option("--speakers", min=1, max=8, help="How many people speak.")]
LanguageOpt = Annotated[str | None, typer.Option(help="ko, en... (default: detect)")]
