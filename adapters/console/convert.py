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
        if command in {"file", "voice"} and args:
            parts = shlex.split(args)
            path = Path(parts[0]).expanduser()
            if not path.is_file():
                return TextMessage(text=stripped, **base)
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
