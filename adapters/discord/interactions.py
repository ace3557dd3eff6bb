"""The engine round trip shared by every handler: defer, then the core runner; render as actions arrive.

Every interaction is deferred first (``thinking=True``; ephemeral for private results), well within
Discord's 3 s, then its events go to the engine one by one, through :class:`core.event_runner.EventRunner`
(in order per user, within the deadline, an apology with a reference id on failure), and the actions are
rendered by :class:`~adapters.discord.render.DiscordRenderer` as they arrive. A file a command carried is
held (:mod:`adapters.discord.uploads`) until an action ``expects_file`` of its kind, then fed to the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import discord

from adapters.discord import convert
from adapters.discord.config import MIB, DiscordAdapterConfig
from adapters.discord.convert import Origin
from adapters.discord.files import FileTooBig, download, make_folder, remove_folder, scope
from adapters.discord.render import DiscordRenderer, InteractionSurface, Surface
from adapters.discord.uploads import HeldUpload, HeldUploads, expected_file
from core.domain.actions import Action, FileKind, SendText
from core.domain.events import Event, IncomingFile
from core.domain.identity import Locale
from core.event_runner import EventRunner, report_failure
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
        self.runner = EventRunner(engine, deadline_s=config.event_timeout_s, name="discord", logger=log)
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
            asked: list[FileKind] = []

            async def render(action: Action) -> None:
                if (kind := expected_file(action)) is not None:
                    asked.append(kind)
                await renderer.render(action)

            while queue:
                asked.clear()
                await self.runner.stream(queue.pop(0), render)
                held = self.held.take(origin.user_id, asked[-1]) if asked else None
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

        async def work() -> None:
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

        await self.runner.run(
            origin.user_id,
            work,
            apologise=lambda ref: self.tell_apology(interaction, origin, ref, surface),
            what=f"interaction {interaction.id}",
        )

    async def serve_holding(
        self, interaction: discord.Interaction, attachment: discord.Attachment, kind: FileKind, command: str
    ) -> None:
        """A command whose file the flow asks for later: download and hold it, then run ``command``."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        origin = convert.origin_of(interaction)
        self.langs[origin.user_id] = origin.lang
        surface = InteractionSurface(interaction, ephemeral=True)

        async def work() -> None:
            folder = await make_folder(self.config.downloads_dir)
            try:
                incoming = await download(attachment, folder, self.config.max_download_bytes)
            except FileTooBig as exc:
                await remove_folder(folder)
                await self.say(surface, origin, self.too_big(origin, exc))
                return
            await self.held.hold(origin.user_id, kind, incoming, folder)
            await self.run_events(surface, origin, [origin.command(command)])

        await self.runner.run(
            origin.user_id,
            work,
            apologise=lambda ref: self.tell_apology(interaction, origin, ref, surface),
            what=f"interaction {interaction.id}",
        )

    def too_big(self, origin: Origin, exc: FileTooBig) -> str:
        """The "file too big" message for a download over the limit."""
        return t(origin.lang, "discord.file_too_big", size_mb=exc.size_mb(MIB), limit_mb=exc.limit // MIB)

    async def say(self, surface: Surface, origin: Origin, text: str) -> None:
        """One adapter text (not from the engine) on a surface."""
        renderer = self.renderer(surface, origin, write_button=False)
        await renderer.render(SendText(text=text))
        await renderer.finish()

    async def apologise(
        self, interaction: discord.Interaction, origin: Origin, surface: InteractionSurface | None = None
    ) -> None:
        """For a handler's own ``except``: log the traceback under a reference id and tell the user."""
        ref = report_failure(log, "discord: interaction %s failed", interaction.id)
        await self.runner.apologise(lambda r: self.tell_apology(interaction, origin, r, surface), ref)

    async def tell_apology(
        self, interaction: discord.Interaction, origin: Origin, ref: str, surface: InteractionSurface | None
    ) -> None:
        """The apology with ``ref`` (replacing "thinking…" when it shows)."""
        text = t(origin.lang, "discord.apology", ref=ref)
        if surface is not None:
            await surface.send(text, view=None, files=())
        elif interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True)
        else:
            await interaction.response.send_message(text, ephemeral=True)

    async def reply_now(self, interaction: discord.Interaction, key: str, **fields: object) -> None:
        """An immediate ephemeral answer from the adapter's own catalogue (no engine work to wait for)."""
        origin = convert.origin_of(interaction)
        await interaction.response.send_message(t(origin.lang, key, **fields), ephemeral=True)
