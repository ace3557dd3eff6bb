"""Telegram updates to core events: pure functions, no I/O.

Files are a two-step affair: :func:`file_ref` says which file an update carries (so the adapter can refuse
an oversized one before downloading), then :func:`to_event` builds the event around the downloaded file.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from telegram import Audio, Chat, Message, Update, Voice
from telegram.warnings import PTBDeprecationWarning

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


class FileKind(StrEnum):
    """What kind of Telegram attachment a file came as."""

    DOCUMENT = "document"
    VOICE = "voice"
    AUDIO = "audio"


@dataclass(frozen=True, slots=True, kw_only=True)
class TelegramFileRef:
    """A file an update carries, before download. ``size`` is 0 when Telegram did not say."""

    file_id: str
    kind: FileKind
    filename: str
    size: int
    mime_type: str
    duration_s: float | None = None


def duration_seconds(media: Voice | Audio) -> float:
    """A voice or audio duration in seconds, whether PTB returns an int or (``PTB_TIMEDELTA``) a timedelta."""
    with warnings.catch_warnings():
        # PTB 22 warns that ``duration`` becomes a timedelta; both shapes are handled here.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = media.duration
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def locale_of(update: Update) -> Locale:
    """The user's locale from ``from_user.language_code`` (Korean when unknown)."""
    user = update.effective_user
    return Locale.from_tag(user.language_code if user else None)


def is_private(update: Update) -> bool:
    """Whether the update comes from a one-to-one chat with the bot."""
    chat = update.effective_chat
    return chat is not None and chat.type == Chat.PRIVATE


def parse_command(text: str, bot_username: str) -> tuple[str, str] | None:
    """``/cmd@bot args`` → ``("cmd", "args")``; None when not a command or addressed to another bot."""
    if not text.startswith("/") or len(text) < 2 or text[1].isspace():
        return None
    # The command ends at the first space or line break: "/start\nfoo" keeps "foo" as its arguments.
    parts = text[1:].split(maxsplit=1)
    if not parts:
        return None
    head, args = parts[0], parts[1] if len(parts) > 1 else ""
    head, _, addressee = head.partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None
    if not head:
        return None
    return head.lower(), args.strip()


def file_ref(update: Update) -> TelegramFileRef | None:
    """The document, voice note or audio file of a message update, if any."""
    message = update.message
    if message is None:
        return None
    if message.voice is not None:
        voice = message.voice
        return TelegramFileRef(
            file_id=voice.file_id,
            kind=FileKind.VOICE,
            filename=f"voice-{message.message_id}.ogg",
            size=voice.file_size or 0,
            mime_type=voice.mime_type or "audio/ogg",
            duration_s=duration_seconds(voice),
        )
    if message.audio is not None:
        audio = message.audio
        return TelegramFileRef(
            file_id=audio.file_id,
            kind=FileKind.AUDIO,
            filename=audio.file_name or f"audio-{message.message_id}",
            size=audio.file_size or 0,
            mime_type=audio.mime_type or "",
            duration_s=duration_seconds(audio),
        )
    if message.document is not None:
        doc = message.document
        return TelegramFileRef(
            file_id=doc.file_id,
            kind=FileKind.DOCUMENT,
            filename=doc.file_name or f"document-{message.message_id}",
            size=doc.file_size or 0,
            mime_type=doc.mime_type or "",
        )
    return None


def _base(update: Update) -> dict[str, object]:
    user = update.effective_user
    chat = update.effective_chat
    assert user is not None
    assert chat is not None
    return {
        "user": UserRef(platform=Platform.TELEGRAM, platform_user_id=str(user.id)),
        "chat_id": str(chat.id),
        "display_name": user.full_name,
        "locale_hint": Locale.from_tag(user.language_code),
        "raw": update,
    }


def to_event(
    update: Update, *, bot_username: str, file: IncomingFile | None = None, choice_key: str | None = None
) -> Event | None:
    """The core event for an update, or None when VOS has nothing to do with it.

    ``file`` is the downloaded attachment announced by :func:`file_ref`; ``choice_key`` is the callback key
    after the adapter resolved short tokens (defaults to the raw callback data).
    """
    if update.effective_user is None or update.effective_chat is None:
        return None
    base = _base(update)
    if update.callback_query is not None:
        key = choice_key if choice_key is not None else update.callback_query.data
        return ChoiceMade(key=key, **base) if key else None  # type: ignore[arg-type]
    message: Message | None = update.message
    if message is None:
        return None
    if file is not None:
        ref = file_ref(update)
        if ref is not None and ref.kind is FileKind.VOICE:
            return VoiceMessage(file=file, **base)  # type: ignore[arg-type]
        # Audio files (music-player attachments) are recordings for /voice or /meeting: a FileUploaded.
        return FileUploaded(file=file, caption=message.caption or "", **base)  # type: ignore[arg-type]
    if message.text is None:
        return None
    command = parse_command(message.text, bot_username)
    if command is not None:
        return CommandInvoked(command=command[0], args=command[1], **base)  # type: ignore[arg-type]
    if message.text.startswith("/"):
        return None  # a command addressed to another bot
    return TextMessage(text=message.text, **base)  # type: ignore[arg-type]
