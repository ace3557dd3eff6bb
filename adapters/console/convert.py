"""Console input line → core event (pure)."""

from __future__ import annotations

import mimetypes
import shlex
from pathlib import Path
from typing import Any

from core.domain.actions import Choice
from core.domain.events import (
    ChoiceMade,
    CommandInvoked,
    Event,
    FileUploaded,
    IncomingFile,
    TextMessage,
    VoiceMessage,
)
from core.domain.identity import Locale, Platform, UserRef


def _file_command(line: str) -> tuple[str, str] | None:
    """``("file"|"voice", args)`` for a file command with an argument, else ``None``."""
    stripped = line.strip()
    if not stripped.startswith("/"):
        return None
    command, _, args = stripped[1:].partition(" ")
    return (command, args.strip()) if command in {"file", "voice"} and args.strip() else None


def _path_of(args: str) -> Path:
    try:
        parts = shlex.split(args)
    except ValueError:  # an unbalanced quote: take the text as typed
        parts = [args]
    return Path(parts[0] if parts else args).expanduser()


def missing_file(line: str) -> str | None:
    """The path a ``/file PATH`` or ``/voice PATH`` line names when no file is there (else ``None``)."""
    found = _file_command(line.rstrip("\r\n"))
    if found is None:
        return None
    path = _path_of(found[1])
    return None if path.is_file() else str(path)


def to_event(
    line: str,
    *,
    user_id: str,
    display_name: str,
    locale: Locale | None,
    pending: tuple[Choice, ...] = (),
) -> Event | None:
    """Translate one typed line. ``pending`` are the options of the last question (chosen by number).

    ``/file PATH`` (or ``/voice PATH``) uploads a file; ``/cmd args`` invokes a command; a number answers the
    last question; anything else is a text message. Blank lines and ``#`` comments give ``None``.
    """
    text = line.rstrip("\r\n")
    if not text.strip() or text.lstrip().startswith("#"):
        return None
    ref = UserRef(platform=Platform.CONSOLE, platform_user_id=user_id)
    base: dict[str, Any] = {
        "user": ref,
        "chat_id": f"console:{user_id}",
        "display_name": display_name,
        "locale_hint": locale,
    }
    stripped = text.strip()
    if pending and stripped.isdigit() and 1 <= int(stripped) <= len(pending):
        return ChoiceMade(key=pending[int(stripped) - 1].key, **base)
    if stripped.startswith("/"):
        command, _, args = stripped[1:].partition(" ")
        if _file_command(stripped) is not None:
            path = _path_of(args.strip())
            if not path.is_file():  # the adapter answers these (missing_file): never chat text to a star
                return None
            incoming = IncomingFile(
                path=path,
                filename=path.name,
                size=path.stat().st_size,
                mime_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream",
            )
            if command == "voice":
                return VoiceMessage(file=incoming, **base)
            return FileUploaded(file=incoming, **base)
        return CommandInvoked(command=command, args=args.strip(), **base)
    return TextMessage(text=text, **base)
