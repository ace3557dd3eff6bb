"""Outbound actions: what the engine asks an adapter to show. Adapters only render them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """One option of an :class:`AskChoice`; ``key`` comes back in a ``ChoiceMade`` event."""

    key: str
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SendText:
    """Send one message bubble. ``buttons`` are optional quick actions under it."""

    text: str
    buttons: tuple[Choice, ...] = ()
    from_star: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TypingPause:
    """Show a typing (or recording) indicator for a moment between bubbles."""

    seconds: float
    recording: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SendVoice:
    """Send an OGG/Opus voice note."""

    path: Path
    caption: str = ""
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class SendFile:
    """Send a document (an export zip, a transcript, a picture)."""

    path: Path
    filename: str
    caption: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AskChoice:
    """Ask the user to pick one option."""

    prompt: str
    options: tuple[Choice, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ShowProgress:
    """Create or update the progress message identified by ``progress_id`` (edited in place)."""

    progress_id: str
    text: str
    fraction: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteProgress:
    """Remove a progress message once the work is done."""

    progress_id: str


Action = SendText | TypingPause | SendVoice | SendFile | AskChoice | ShowProgress | DeleteProgress
