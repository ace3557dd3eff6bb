"""Outbound actions: what the engine asks an adapter to show. Adapters only render them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

LISTEN_PREFIX = "listen:"
"""A ``ChoiceMade`` key ``listen:<turn_id>``: speak the star bubble stored under that id."""
CHOICE_KEY_MAX_BYTES = 64
"""The longest choice key, in UTF-8 bytes: keys travel as they are in Telegram's ``callback_data`` (64
bytes) and in Discord's custom ids (100 characters), so no adapter keeps a table of stand-ins."""


class FileKind(StrEnum):
    """What kind of file a prompt asks for (``expects_file``).

    A hint for adapters: one whose command already carried an attachment (Discord's ``/star create`` with
    the export, ``/voice setup`` with the recording) hands it over when a prompt expects that kind, and a
    prompt for another kind (the optional photo) is left to the user.
    """

    KAKAO_EXPORT = "kakao_export"
    AUDIO = "audio"
    IMAGE = "image"


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    """One option of an :class:`AskChoice`; ``key`` comes back in a ``ChoiceMade`` event.

    ``key`` is at most :data:`CHOICE_KEY_MAX_BYTES` (a longer one is refused here, where it is made).
    """

    key: str
    label: str

    def __post_init__(self) -> None:
        if len(self.key.encode()) > CHOICE_KEY_MAX_BYTES:
            raise ValueError(f"a choice key over {CHOICE_KEY_MAX_BYTES} bytes: {self.key[:20]!r}…")


@dataclass(frozen=True, slots=True, kw_only=True)
class SendText:
    """Send one message bubble. ``buttons`` are optional quick actions under it.

    ``expects_file`` is set when the bubble asks the user to send a file of that kind. ``turn_id`` is the
    stored star turn this bubble is (set on the star's chat bubbles): adapters offer a listen button whose
    key, :attr:`listen_key`, the engine resolves from storage in any process, after any restart.
    """

    text: str
    buttons: tuple[Choice, ...] = ()
    from_star: bool = False
    expects_file: FileKind | None = None
    turn_id: str = ""

    @property
    def listen_key(self) -> str | None:
        """``listen:<turn_id>`` for a stored star bubble, else None (nothing to speak)."""
        return f"{LISTEN_PREFIX}{self.turn_id}" if self.turn_id and self.from_star else None


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
    # A copy built only for this delivery (an export): the adapter deletes it once sent (or refused); what
    # an adapter keeps (the console shows the path) is deleted after a short TTL by the outbox's sweep.
    temporary: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AskChoice:
    """Ask the user to pick one option (or, when ``expects_file`` is set, to send a file of that kind)."""

    prompt: str
    options: tuple[Choice, ...]
    expects_file: FileKind | None = None


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
