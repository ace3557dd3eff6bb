"""Core actions to Discord messages: text split under 2000, buttons and select menus, files, progress.

Output goes to a :class:`Surface`: an interaction (the deferred "thinking…" response is edited first, the
rest are follow-ups) or a channel (a DM, or the channel a meeting was started in). The renderer holds the
latest message back until the next action arrives, so the last message of a reply can carry the
"✍️ write an answer" button that opens a text modal (guild channels have no message content for the bot).
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, assert_never

import discord

from adapters.discord import convert
from adapters.discord.config import MIB, DiscordAdapterConfig
from core.domain.actions import (
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

log = logging.getLogger(__name__)

BUTTONS_MAX = 3
BUTTON_LABEL_MAX = 40
SELECT_OPTIONS_MAX = 25
SELECTS_MAX = 4
SELECT_LABEL_MAX = 100


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (the stricter way to count against Discord's 2000)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> int:
    cut = min(len(text), limit)
    while utf16_len(text[:cut]) > limit:
        cut -= 1
    return cut


def split_text(text: str, limit: int = 2000) -> list[str]:
    """Split ``text`` into messages of at most ``limit`` units, preferring paragraph, line, word breaks."""
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if utf16_len(rest) <= limit:
            chunks.append(rest)
            break
        window = rest[: _cut(rest, limit)]
        floor = len(window) // 3
        at = len(window)
        for sep in ("\n\n", "\n", " "):
            idx = window.rfind(sep)
            if idx > floor:
                at = idx + len(sep)
                break
        at = boundary_at_or_before(rest, at) or at  # never inside a grapheme cluster (a ZWJ emoji)
        chunks.append(rest[:at].rstrip())
        rest = rest[at:].lstrip()
    return chunks


def shorten(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters (labels of buttons and options)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class StaticView(discord.ui.View):
    """Components rendered once and never stored in discord.py's view store.

    Clicks reach the adapter's ``on_interaction`` by custom id, so they keep working after a restart.
    """

    def is_dispatchable(self) -> bool:
        return False


def choice_view(
    options: Sequence[Choice], *, write_label: str | None, listen: tuple[str, str] | None = None
) -> StaticView | None:
    """Buttons for a few short options, a select menu for lists; plus the write button when asked, and the
    listen button (``(label, key)``) under a stored star bubble.

    Keys travel as they are (core keeps them within 64 bytes: ``vos:c:<key>`` fits a custom id's 100).
    """
    view = StaticView(timeout=None)
    if options and len(options) <= BUTTONS_MAX and all(len(o.label) <= BUTTON_LABEL_MAX for o in options):
        for option in options:
            view.add_item(
                discord.ui.Button(
                    label=shorten(option.label, 80),
                    custom_id=convert.CHOICE + option.key,
                    style=discord.ButtonStyle.primary,
                )
            )
    elif options:
        # One select holds 25 options: longer lists take more selects (a message has 5 rows, one is kept
        # for the write button), so no option is silently cut; past 100 the rest is logged as dropped.
        rows = SELECTS_MAX if write_label is not None else SELECTS_MAX + 1
        shown = options[: rows * SELECT_OPTIONS_MAX]
        if len(shown) < len(options):
            log.warning("discord: %d choices do not fit one message; %d shown", len(options), len(shown))
        for start in range(0, len(shown), SELECT_OPTIONS_MAX):
            part = shown[start : start + SELECT_OPTIONS_MAX]
            select: discord.ui.Select[StaticView] = discord.ui.Select(
                custom_id=convert.SELECT + secrets.token_hex(4),
                placeholder=f"{start + 1}–{start + len(part)}" if len(shown) > SELECT_OPTIONS_MAX else None,
                options=[
                    discord.SelectOption(label=shorten(o.label, SELECT_LABEL_MAX), value=o.key) for o in part
                ],
            )
            view.add_item(select)
    if listen is not None:
        label, key = listen
        view.add_item(
            discord.ui.Button(
                label=label, custom_id=convert.CHOICE + key, style=discord.ButtonStyle.secondary
            )
        )
    if write_label is not None:
        view.add_item(
            discord.ui.Button(label=write_label, custom_id=convert.WRITE, style=discord.ButtonStyle.secondary)
        )
    return view if view.children else None


class Surface(Protocol):
    """Where one reply is shown."""

    async def send(self, content: str, *, view: discord.ui.View | None, files: Sequence[discord.File]) -> Any:
        """Send a message; return a handle for :meth:`edit`/:meth:`delete`."""
        ...

    async def progress(self, content: str) -> Any:
        """Show a progress line; return its handle."""
        ...

    async def edit(self, handle: Any, content: str) -> None:
        """Replace a message's text."""
        ...

    async def delete(self, handle: Any) -> None:
        """Remove a progress message."""
        ...

    async def finish(self) -> None:
        """Settle what is still open (an unanswered "thinking…")."""
        ...


_ORIGINAL = "original"


class InteractionSurface:
    """A deferred interaction: the original response first (replacing "thinking…"), then follow-ups."""

    def __init__(
        self, interaction: discord.Interaction, *, ephemeral: bool, followups_only: bool = False
    ) -> None:
        """``followups_only``: the response was an update of the clicked message, so all output follows it."""
        self.interaction = interaction
        self.ephemeral = ephemeral
        self._state = "content" if followups_only else "pending"  # pending | progress | content | gone
        self._progress_deleted = False

    async def send(self, content: str, *, view: discord.ui.View | None, files: Sequence[discord.File]) -> Any:
        if self._state in {"pending", "progress"}:
            await self.interaction.edit_original_response(
                content=content or None,
                view=view if view is not None else discord.utils.MISSING,
                attachments=list(files) if files else discord.utils.MISSING,
            )
            self._state = "content"
            return _ORIGINAL
        kwargs: dict[str, Any] = {"ephemeral": self.ephemeral, "wait": True, "files": list(files)}
        if view is not None:
            kwargs["view"] = view
        return await self.interaction.followup.send(content or discord.utils.MISSING, **kwargs)

    async def progress(self, content: str) -> Any:
        if self._state in {"pending", "progress"}:
            await self.interaction.edit_original_response(content=content)
            self._state, self._progress_deleted = "progress", False
            return _ORIGINAL
        return await self.interaction.followup.send(content, ephemeral=self.ephemeral, wait=True)

    async def edit(self, handle: Any, content: str) -> None:
        if handle == _ORIGINAL:
            if self._state == "progress":
                await self.interaction.edit_original_response(content=content)
            return
        await handle.edit(content=content)

    async def delete(self, handle: Any) -> None:
        if handle == _ORIGINAL:
            # The next message replaces it; if none comes, finish() removes it.
            self._progress_deleted = self._state == "progress"
            return
        await handle.delete()

    async def finish(self) -> None:
        if self._state == "pending" or (self._state == "progress" and self._progress_deleted):
            await self.interaction.delete_original_response()
            self._state = "gone"


class ChannelSurface:
    """A channel (a DM, or a meeting's text channel): plain messages."""

    def __init__(self, channel: Any) -> None:
        self.channel = channel

    async def send(self, content: str, *, view: discord.ui.View | None, files: Sequence[discord.File]) -> Any:
        kwargs: dict[str, Any] = {"files": list(files)} if files else {}
        if view is not None:
            kwargs["view"] = view
        return await self.channel.send(content or None, **kwargs)

    async def progress(self, content: str) -> Any:
        return await self.channel.send(content)

    async def edit(self, handle: Any, content: str) -> None:
        await handle.edit(content=content)

    async def delete(self, handle: Any) -> None:
        await handle.delete()

    async def finish(self) -> None:
        return None


def progress_text(action: ShowProgress) -> str:
    """The status line and, when known, a bar with a percentage."""
    if action.fraction is None:
        return f"⏳ {action.text}"
    fraction = min(max(action.fraction, 0.0), 1.0)
    filled = round(fraction * 10)
    return f"⏳ {action.text}\n{'▰' * filled}{'▱' * (10 - filled)} {round(fraction * 100)}%"


@dataclass(slots=True)
class _Held:
    content: str
    options: tuple[Choice, ...] = ()
    listen: str | None = None


@dataclass(slots=True)
class DiscordRenderer:
    """Renders the actions of one reply onto a surface; ``texts`` keeps what was said (in order)."""

    surface: Surface
    config: DiscordAdapterConfig
    locale: Locale
    write_button: bool = False
    max_typing_pause_s: float = 1.5
    texts: list[str] = field(default_factory=list)
    _held: _Held | None = None
    _progress: dict[str, Any] = field(default_factory=dict)

    async def render(self, action: Action) -> None:
        """Perform one action."""
        match action:
            case SendText():
                self.texts.append(action.text)
                await self._hold(action.text, action.buttons, listen=action.listen_key)
            case AskChoice():
                self.texts.append(action.prompt)
                await self._hold(action.prompt, action.options)
            case SendVoice():
                await self._attach(action.path, action.path.name, action.caption)
            case SendFile():
                try:
                    await self._attach(action.path, action.filename, action.caption)
                finally:
                    if action.temporary:  # delivered or refused: the copy has done its job
                        await discard(action.path)
            case TypingPause():
                await self._flush()
                await asyncio.sleep(min(max(action.seconds, 0.0), self.max_typing_pause_s))
            case ShowProgress():
                await self._flush()
                text = progress_text(action)
                handle = self._progress.get(action.progress_id)
                if handle is None:
                    self._progress[action.progress_id] = await self.surface.progress(text)
                else:
                    await self.surface.edit(handle, text)
            case DeleteProgress():
                handle = self._progress.pop(action.progress_id, None)
                if handle is not None:
                    await self.surface.delete(handle)
            case _:
                assert_never(action)

    async def _hold(self, text: str, options: tuple[Choice, ...], *, listen: str | None = None) -> None:
        await self._flush()
        chunks = split_text(text, self.config.max_message_chars) or [" "]
        for chunk in chunks[:-1]:
            await self.surface.send(chunk, view=None, files=())
        self._held = _Held(content=chunks[-1], options=options, listen=listen)

    async def _flush(self, *, last: bool = False) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        label = t(self.locale, "discord.write_answer") if last and self.write_button else None
        listen = (t(self.locale, "discord.listen_button"), held.listen) if held.listen else None
        view = choice_view(held.options, write_label=label, listen=listen)
        await self.surface.send(held.content, view=view, files=())

    async def _attach(self, path: Path, filename: str, caption: str) -> None:
        await self._flush()
        size = (await asyncio.to_thread(path.stat)).st_size
        if size > self.config.max_upload_bytes:
            limit = self.config.max_upload_bytes // MIB
            await self.surface.send(
                t(self.locale, "discord.upload_too_big", limit_mb=limit), view=None, files=()
            )
            return
        chunks = split_text(caption, self.config.max_message_chars)
        for chunk in chunks[:-1]:
            await self.surface.send(chunk, view=None, files=())
        data = await asyncio.to_thread(path.read_bytes)
        file = discord.File(io.BytesIO(data), filename=filename)
        await self.surface.send(chunks[-1] if chunks else "", view=None, files=(file,))

    async def finish(self) -> None:
        """Send the held message (with the write button if enabled) and settle the surface."""
        await self._flush(last=True)
        await self.surface.finish()
