"""Inbound events: what a user did, as any adapter reports it. Events never do I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.domain.identity import Locale, Space, UserRef


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingFile:
    """A file a user sent, already downloaded by the adapter to a local temporary path."""

    path: Path
    filename: str
    size: int
    mime_type: str = ""
    duration_s: float | None = None
    live_capture: bool = False
    """A recording the adapter made itself (a live meeting it captured), never a user's upload: not held
    to the upload limits, which are there for what users send."""


@dataclass(frozen=True, slots=True, kw_only=True)
class _EventBase:
    user: UserRef
    chat_id: str
    """The adapter's own address of the conversation, for its replies: opaque to core."""
    space: Space | None = None
    """Where the event happened when it is shared (a guild, a group chat); None: the user's private
    conversation. What belongs to a space (a guild's meetings) is decided by this, never by ``chat_id``."""
    display_name: str = ""
    locale_hint: Locale | None = None
    raw: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class TextMessage(_EventBase):
    """The user wrote text."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandInvoked(_EventBase):
    """The user invoked a command (``/start``, a slash command, a console ``/cmd``)."""

    command: str
    args: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChoiceMade(_EventBase):
    """The user picked an option offered by an :class:`~core.domain.actions.AskChoice`."""

    key: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FileUploaded(_EventBase):
    """The user sent a document (an export, a recording, a photo)."""

    file: IncomingFile
    caption: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceMessage(_EventBase):
    """The user sent a voice note."""

    file: IncomingFile


Event = TextMessage | CommandInvoked | ChoiceMade | FileUploaded | VoiceMessage
