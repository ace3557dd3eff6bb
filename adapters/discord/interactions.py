"""The engine round trip shared by every handler: defer, order per user, render, apologise.

Every interaction is deferred first (``thinking=True``; ephemeral for private results), well within
Discord's 3 s, then its events go to the engine one by one and the actions are rendered by
:class:`~adapters.discord.render.DiscordRenderer` as they arrive. A file a command carried is held
(:mod:`adapters.discord.uploads`) until an action ``expects_file`` of its kind, then fed to the engine.
Failures end in an apology with a reference id (the traceback is logged under it).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence

import discord

from adapters.discord import convert
from adapters.discord.config import MIB, DiscordAdapterConfig
from adapters.discord.convert import Origin
from adapters.discord.files import FileTooBig, download, make_folder, remove_folder, scope
from adapters.discord.render import DiscordRenderer, InteractionSurface, Surface
from adapters.discord.support import UserLocks
from adapters.discord.uploads import HeldUpload, HeldUploads, expected_file
from core.domain.actions import FileKind, SendText
from core.domain.events import Event, IncomingFile
from core.domain.identity import Locale
from core.i18n import t
from core.ports import EventHandler

log = logging.getLogger(__name__)

MakeEvents = Callable[[Origin], Sequence[Event]]
MakeFileEvents = Callable[[Origin, IncomingFile], Sequence[Event]]


class Interactions:
    """Runs events through the engine for one surface at a time; one instance per adapter."""

    def __init__(self, config: DiscordAdapterConfig, engine: EventHandler) -> None:
        self.config = config
        self.engine = engine
        self.max_typing_pause_s = 1.5
        self.locks = UserLocks()
        self.langs: dict[int, Locale] = {}
        self.held = HeldUploads(config.pending_upload_ttl_s)

    def renderer(self, surface: Surface, origin: Origin, *, write_button: bool) -> DiscordRenderer:
        """A renderer in the user's language (the interaction's, else the last one seen)."""
        return DiscordRenderer(
            surface=surface,
            config=self.config,
            locale=origin.locale or self.langs.get(origin.user_id, Locale.KO),
            write_button=write_button,
            max_typing_pause_s=self.max_typing_pause_s,
        )

    async def run_events(
        self, surface: Surface, origin: Origin, events: Sequence[Event], *, write_button: bool = True
    ) -> None:
        """Each event to the engine in turn, rendering as actions arrive; feed a held file when asked.

        In a guild the last message gets the "write an answer" button (the bot cannot read channel text).
        """
        renderer = self.renderer(surface, origin, write_button=write_button and origin.guild_id is not None)
        queue = list(events)
        used: list[HeldUpload] = []
        try:
            while queue:
                asked: FileKind | None = None
                actions = self.engine.handle(queue.pop(0))
                try:
                    async for action in actions:
                        asked = expected_file(action) or asked
                        await renderer.render(action)
                finally:
                    aclose = getattr(actions, "aclose", None)
                    if aclose is not None:
                        await aclose()
                held = self.held.take(origin.user_id, asked) if asked is not None else None
                if held is not None:
                    used.append(held)
                    queue.append(origin.file(held.file))
            await renderer.finish()
        finally:
            for held in used:
                await remove_folder(held.folder)

    async def serve(
        self,
        interaction: discord.Interaction,
        make_events: MakeEvents,
        *,
        ephemeral: bool,
        attachment: discord.Attachment | None = None,
        make_file_events: MakeFileEvents | None = None,
        write_button: bool = True,
        close_components: bool = False,
    ) -> None:
        """Defer at once, then run the events (downloading ``attachment`` first when given).

        ``close_components``: a component click whose message's buttons are removed as the answer (an
        update of that message), so the same question cannot be answered twice; the replies follow it.
        """
        if close_components:
            await interaction.response.edit_message(view=None)
        else:
            await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        origin = convert.origin_of(interaction)
        self.langs[origin.user_id] = origin.lang
        surface = InteractionSurface(interaction, ephemeral=ephemeral, followups_only=close_components)
        try:
            async with self.locks.hold(origin.user_id), asyncio.timeout(self.config.event_timeout_s):
                if attachment is None or make_file_events is None:
                    await self.run_events(surface, origin, make_events(origin), write_button=write_button)
                    return
                async with scope(self.config.downloads_dir) as folder:
                    try:
                        incoming = await download(attachment, folder, self.config.max_download_bytes)
                    except FileTooBig as exc:
                        await self.say(surface, origin, self.too_big(origin, exc))
                        return
                    events = make_file_events(origin, incoming)
                    await self.run_events(surface, origin, events, write_button=write_button)
        except Exception:
            await self.apologise(interaction, origin, surface)

    async def serve_holding(
        self, interaction: discord.Interaction, attachment: discord.Attachment, kind: FileKind, command: str
    ) -> None:
        """A command whose file the flow asks for later: download and hold it, then run ``command``."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        origin = convert.origin_of(interaction)
        self.langs[origin.user_id] = origin.lang
        surface = InteractionSurface(interaction, ephemeral=True)
        try:
            folder = await make_folder(self.config.downloads_dir)
            try:
                incoming = await download(attachment, folder, self.config.max_download_bytes)
            except FileTooBig as exc:
                await remove_folder(folder)
                await self.say(surface, origin, self.too_big(origin, exc))
                return
            async with self.locks.hold(origin.user_id), asyncio.timeout(self.config.event_timeout_s):
                await self.held.hold(origin.user_id, kind, incoming, folder)
                await self.run_events(surface, origin, [origin.command(command)])
        except Exception:
            await self.apologise(interaction, origin, surface)

    def too_big(self, origin: Origin, exc: FileTooBig) -> str:
        """The "file too big" message for a download over the limit."""
        size_mb = f"{exc.size / MIB:.1f}"
        return t(origin.lang, "discord.file_too_big", size_mb=size_mb, limit_mb=exc.limit // MIB)

    async def say(self, surface: Surface, origin: Origin, text: str) -> None:
        """One adapter text (not from the engine) on a surface."""
        renderer = self.renderer(surface, origin, write_button=False)
        await renderer.render(SendText(text=text))
        await renderer.finish()

    async def apologise(
        self, interaction: discord.Interaction, origin: Origin, surface: InteractionSurface | None = None
    ) -> None:
        """Log the traceback under a reference id; tell the user (replacing "thinking…" when it shows)."""
        ref = uuid.uuid4().hex[:8]
        log.exception("discord: interaction %s failed (ref %s)", interaction.id, ref)
        text = t(origin.lang, "discord.apology", ref=ref)
        try:
            if surface is not None:
                await surface.send(text, view=None, files=())
            elif interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)
        except Exception:
            log.warning("discord: could not send the apology for ref %s", ref, exc_info=True)

    async def reply_now(self, interaction: discord.Interaction, key: str, **fields: object) -> None:
        """An immediate ephemeral answer from the adapter's own catalogue (no engine work to wait for)."""
        origin = convert.origin_of(interaction)
        await interaction.response.send_message(t(origin.lang, key, **fields), ephemeral=True)
