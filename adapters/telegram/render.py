"""Core actions to Bot API calls: messages split under 4096, inline keyboards, voice notes, progress.

The renderer keeps a little state per chat: progress message ids (edited in place, at most one edit per
``progress_edit_interval_s``). Choice keys travel as they are in ``callback_data`` (core keeps them within
64 bytes); the 🔊 button under a star message carries ``listen:<turn_id>``, resolved from storage by the
engine, so a button works in every shard process and after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import assert_never

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import ChatAction
from telegram.error import BadRequest

from adapters.telegram.config import MB, TelegramAdapterConfig
from core.domain.actions import (
    CHOICE_KEY_MAX_BYTES,
    Action,
    AskChoice,
    Choice,
    DeleteProgress,
    SendFile,
    SendText,
    SendVoice,
    ShowProgress,
    TypingPause,
)
from core.domain.identity import Locale
from core.graphemes import boundary_at_or_before
from core.i18n import t
from core.storage.outbox import discard

CALLBACK_DATA_MAX_BYTES = 64
assert CHOICE_KEY_MAX_BYTES <= CALLBACK_DATA_MAX_BYTES
_SENTENCE_END = re.compile(r"[.!?。！？…](?=\s)")
# Telegram shows a chat action for about 5 seconds; refresh a little before it fades.
_CHAT_ACTION_REFRESH_S = 4.5


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: an emoji counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def _fitting_prefix(text: str, limit: int) -> int:
    """The largest number of code points of ``text`` whose UTF-16 length is at most ``limit``."""
    cut = min(len(text), limit)
    while (excess := utf16_len(text[:cut]) - limit) > 0:
        cut -= max(1, (excess + 1) // 2)
    return cut


def _break_at(window: str) -> int:
    """Where to cut ``window``: after a paragraph, a line, a sentence or a word, in that preference."""
    floor = len(window) // 3  # a break too early would leave a stub message
    for sep in ("\n\n", "\n"):
        idx = window.rfind(sep)
        if idx > floor:
            return idx + len(sep)
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(window)]
    if sentence_ends and sentence_ends[-1] > floor:
        return sentence_ends[-1]
    idx = window.rfind(" ")
    return idx + 1 if idx > floor else len(window)


def split_text(text: str, limit: int = 4096) -> list[str]:
    """Split ``text`` into messages of at most ``limit`` UTF-16 units at the most natural boundaries."""
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if utf16_len(rest) <= limit:
            chunks.append(rest)
            break
        window = rest[: _fitting_prefix(rest, limit)]
        # Never inside a grapheme cluster (a ZWJ emoji, a flag); a lone cluster over the limit is cut anyway.
        cut = boundary_at_or_before(rest, _break_at(window)) or _break_at(window)
        head, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if head:
            chunks.append(head)
    return chunks


def progress_text(action: ShowProgress, limit: int = 4096) -> str:
    """The progress message: the status line and, when known, a bar with a percentage."""
    text = action.text
    if action.fraction is not None:
        fraction = min(max(action.fraction, 0.0), 1.0)
        filled = round(fraction * 10)
        text = f"{text}\n{'▰' * filled}{'▱' * (10 - filled)} {round(fraction * 100)}%"
    return text[: _fitting_prefix(text, limit)]


@dataclass(slots=True)
class _ChatState:
    progress: dict[str, int] = field(default_factory=dict)
    shown: dict[str, str] = field(default_factory=dict)
    pending: dict[str, str] = field(default_factory=dict)
    last_edit: float = float("-inf")


class TelegramRenderer:
    """Renders actions for one bot; safe to share between chats (state is per chat)."""

    def __init__(
        self, bot: Bot, config: TelegramAdapterConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._bot = bot
        self._config = config
        self._clock = clock
        self._chats: dict[str, _ChatState] = {}

    def _chat(self, chat_id: str) -> _ChatState:
        state = self._chats.get(chat_id)
        if state is None:
            state = self._chats[chat_id] = _ChatState()
        return state

    # --- callback data ------------------------------------------------------------------------

    @staticmethod
    def callback_data(key: str) -> str:
        """``key`` itself: core keeps choice keys within Telegram's 64 bytes (a longer one is a bug)."""
        if len(key.encode()) > CALLBACK_DATA_MAX_BYTES:
            raise ValueError(f"telegram: a choice key over {CALLBACK_DATA_MAX_BYTES} bytes: {key[:20]!r}…")
        return key

    def _choices(self, options: Iterable[Choice]) -> InlineKeyboardMarkup | None:
        """One option per row: choices are sentences (names, consents), not short quick actions."""
        rows = [[InlineKeyboardButton(c.label, callback_data=self.callback_data(c.key))] for c in options]
        return InlineKeyboardMarkup(rows) if rows else None

    # --- rendering ------------------------------------------------------------------------------

    async def render(self, chat_id: str, action: Action, locale: Locale) -> None:
        """Perform ``action`` in ``chat_id``; ``locale`` is for the adapter's own words."""
        match action:
            case SendText():
                await self._send_text(chat_id, action, locale)
            case TypingPause():
                await self._pause(chat_id, action)
            case SendVoice():
                await self._send_voice(chat_id, action, locale)
            case SendFile():
                await self._send_file(chat_id, action, locale)
            case AskChoice():
                await self._send_chunks(chat_id, action.prompt, self._choices(action.options))
            case ShowProgress():
                await self._show_progress(chat_id, action)
            case DeleteProgress():
                await self._delete_progress(chat_id, action.progress_id)
            case _:
                assert_never(action)

    async def _send_chunks(self, chat_id: str, text: str, markup: InlineKeyboardMarkup | None) -> None:
        chunks = split_text(text, self._config.max_message_chars)
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            await self._bot.send_message(chat_id, chunk, reply_markup=markup if last else None)

    async def _send_text(self, chat_id: str, action: SendText, locale: Locale) -> None:
        buttons = [
            InlineKeyboardButton(c.label, callback_data=self.callback_data(c.key)) for c in action.buttons
        ]
        listen = action.listen_key
        if listen is not None:
            # The turn id only: the engine reads the words from storage (said to this user, or nothing).
            buttons.append(InlineKeyboardButton(t(locale, "telegram.listen_button"), callback_data=listen))
        rows = [buttons] if len(buttons) <= 3 else [[b] for b in buttons]
        await self._send_chunks(chat_id, action.text, InlineKeyboardMarkup(rows) if buttons else None)

    async def _pause(self, chat_id: str, action: TypingPause) -> None:
        chat_action = ChatAction.RECORD_VOICE if action.recording else ChatAction.TYPING
        remaining = min(max(action.seconds, 0.0), self._config.max_typing_pause_s)
        while True:
            await self._bot.send_chat_action(chat_id, chat_action)
            step = min(remaining, _CHAT_ACTION_REFRESH_S)
            await asyncio.sleep(step)
            remaining -= step
            if remaining <= 0:
                return

    async def _too_big(self, chat_id: str, size: int, locale: Locale) -> bool:
        if size <= self._config.max_upload_bytes:
            return False
        limit_mb = self._config.max_upload_bytes // MB
        await self._bot.send_message(chat_id, t(locale, "telegram.upload_too_big", limit_mb=limit_mb))
        return True

    async def _caption(self, chat_id: str, caption: str) -> str:
        """The caption to attach, sending it as its own message first when it is too long for one."""
        if utf16_len(caption) <= self._config.max_caption_chars:
            return caption
        await self._send_chunks(chat_id, caption, None)
        return ""

    async def _send_voice(self, chat_id: str, action: SendVoice, locale: Locale) -> None:
        size, is_opus = await asyncio.to_thread(_inspect_audio, action.path)
        if await self._too_big(chat_id, size, locale):
            return
        data = await asyncio.to_thread(action.path.read_bytes)
        caption = await self._caption(chat_id, action.caption)
        duration = round(action.duration_s) or None
        if not is_opus or size > self._config.max_voice_note_bytes:
            audio = InputFile(data, filename=action.path.name)
            await self._bot.send_audio(chat_id, audio, caption=caption or None, duration=duration)
            return
        try:
            voice = InputFile(data, filename=action.path.name)
            await self._bot.send_voice(chat_id, voice, caption=caption or None, duration=duration)
        except BadRequest as exc:
            # PTB rewrites "Bad Request: VOICE_MESSAGES_FORBIDDEN" as "Voice_messages_forbidden".
            if "voice_messages_forbidden" not in exc.message.lower():
                raise
            # The user's privacy settings refuse voice notes: the words as text, the sound as a file.
            if caption:
                await self._send_chunks(chat_id, caption, None)
            document = InputFile(data, filename=action.path.name)
            await self._bot.send_document(chat_id, document, caption=t(locale, "telegram.voice_forbidden"))

    async def _send_file(self, chat_id: str, action: SendFile, locale: Locale) -> None:
        try:
            await self._upload_file(chat_id, action, locale)
        finally:
            if action.temporary:  # delivered or refused: the copy has done its job
                await discard(action.path)

    async def _upload_file(self, chat_id: str, action: SendFile, locale: Locale) -> None:
        size = (await asyncio.to_thread(action.path.stat)).st_size
        if await self._too_big(chat_id, size, locale):
            return
        data = await asyncio.to_thread(action.path.read_bytes)
        caption = await self._caption(chat_id, action.caption)
        document = InputFile(data, filename=action.filename)
        await self._bot.send_document(chat_id, document, caption=caption or None)

    # --- progress -------------------------------------------------------------------------------

    async def _show_progress(self, chat_id: str, action: ShowProgress) -> None:
        state = self._chat(chat_id)
        text = progress_text(action, self._config.max_message_chars)
        if action.progress_id not in state.progress:
            message = await self._bot.send_message(chat_id, text)
            state.progress[action.progress_id] = message.message_id
            state.shown[action.progress_id] = text
            return
        if self._clock() - state.last_edit < self._config.progress_edit_interval_s:
            state.pending[action.progress_id] = text  # shown by a later update or by flush()
            return
        await self._edit(chat_id, state, action.progress_id, text)

    async def _edit(self, chat_id: str, state: _ChatState, progress_id: str, text: str) -> None:
        state.pending.pop(progress_id, None)
        state.last_edit = self._clock()
        if state.shown.get(progress_id) == text:
            return
        try:
            await self._bot.edit_message_text(text, chat_id, state.progress[progress_id])
        except BadRequest as exc:
            lowered = exc.message.lower()
            if "not modified" in lowered:
                pass
            elif "not found" in lowered:
                message = await self._bot.send_message(chat_id, text)
                state.progress[progress_id] = message.message_id
            else:
                raise
        state.shown[progress_id] = text

    async def flush(self, chat_id: str) -> None:
        """Show progress updates held back by the edit throttle (called when an event's actions end)."""
        state = self._chats.get(chat_id)
        if state is None:
            return
        for progress_id, text in list(state.pending.items()):
            if progress_id not in state.progress:
                continue
            wait = self._config.progress_edit_interval_s - (self._clock() - state.last_edit)
            if wait > 0:
                await asyncio.sleep(wait)
            await self._edit(chat_id, state, progress_id, text)

    async def _delete_progress(self, chat_id: str, progress_id: str) -> None:
        state = self._chat(chat_id)
        state.pending.pop(progress_id, None)
        state.shown.pop(progress_id, None)
        message_id = state.progress.pop(progress_id, None)
        if message_id is None:
            return
        # Already gone (deleted by the user, or older than 48 hours): nothing left to do.
        with contextlib.suppress(BadRequest):
            await self._bot.delete_message(chat_id, message_id)


def _inspect_audio(path: Path) -> tuple[int, bool]:
    """File size, and whether it is OGG/Opus (what Telegram plays as a voice note)."""
    with path.open("rb") as fh:
        head = fh.read(64)
    return path.stat().st_size, head.startswith(b"OggS") and b"OpusHead" in head
