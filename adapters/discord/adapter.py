"""The Discord adapter's lifecycle: discord.py inside the caller's TaskGroup, interactions to the engine.

``await DiscordAdapter(config, engine, optouts=register).run()`` loads the opt-outs, logs in
(``async with client: client.start(token)``), syncs the command tree in ``setup_hook`` and serves until
:meth:`DiscordAdapter.stop` or cancellation;
running meetings are stopped (tracks kept on disk) and the client closed on the way out.

The engine round trip (defer, order per user, render, apologise, attachments held for a flow) is
:class:`~adapters.discord.interactions.Interactions`; ``/meeting`` and the voice-channel lifecycle are
:class:`~adapters.discord.meeting_handlers.MeetingHandlers`. This module wires them to the client and
keeps the star, voice, privacy, component and DM handlers.

Intents (least privilege): ``guilds`` (commands and channels), ``voice_states`` (who is in which voice
channel: meeting start, the channel emptying) and ``dm_messages`` (``/star chat``: Discord delivers the
content of DMs to the bot without the privileged ``message_content`` intent, which VOS therefore does not
ask for). No ``members``, no ``presences``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import replace
from typing import Any

import discord

from adapters.common.logs import redact_on
from adapters.discord import convert
from adapters.discord.commands import CatalogueTranslator, build_tree
from adapters.discord.config import DiscordAdapterConfig
from adapters.discord.convert import Origin
from adapters.discord.files import FileTooBig, download, scope
from adapters.discord.interactions import Interactions
from adapters.discord.meeting_handlers import MeetingHandlers
from adapters.discord.meetings import Connect, StartCapture, speaker_labels
from adapters.discord.optout import OptOutRegister, import_legacy_file
from adapters.discord.render import ChannelSurface, Surface
from adapters.discord.support import intents
from core.domain.actions import FileKind
from core.domain.events import Event
from core.domain.identity import Locale
from core.flows.base import FLOW_KEY
from core.i18n import t
from core.ports import EventHandler

__all__ = ["DiscordAdapter", "intents"]

log = logging.getLogger(__name__)


class DiscordAdapter:
    """Serves one bot: interactions and DMs in, engine actions out, meetings captured in voice channels.

    ``optouts`` is the persisted opt-out register (the composition root passes the database one).
    """

    def __init__(
        self,
        config: DiscordAdapterConfig,
        engine: EventHandler,
        *,
        optouts: OptOutRegister,
        client: discord.Client | None = None,
        start_capture: StartCapture | None = None,
        connect_voice: Connect | None = None,
    ) -> None:
        self.config = config
        self.client = client or discord.Client(intents=intents())
        self.tree = build_tree(self.client, self, config.commands)
        self.optouts = optouts
        self.interactions = Interactions(config, engine)
        self.meetings = MeetingHandlers(
            config,
            self.client,
            self.interactions,
            optouts,
            start_capture=start_capture,
            connect=connect_voice,
        )
        self.recorder = self.meetings.recorder
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        """Set once the gateway session is ready."""
        self.client.setup_hook = self._setup_hook  # type: ignore[method-assign]
        for handler in (self.on_ready, self.on_interaction, self.on_message, self.on_voice_state_update):
            self.client.event(handler)

    @property
    def max_typing_pause_s(self) -> float:
        """The longest typing pause rendered between bubbles (tests set 0)."""
        return self.interactions.max_typing_pause_s

    @max_typing_pause_s.setter
    def max_typing_pause_s(self, seconds: float) -> None:
        self.interactions.max_typing_pause_s = seconds

    # --- lifecycle ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to shut down gracefully."""
        self._stop.set()

    async def prepare(self) -> None:
        """Load the opt-out register and move an old JSON opt-out file into it (before serving)."""
        await self.optouts.load()
        await import_legacy_file(self.config.optout_file, self.optouts)

    async def run(self) -> None:
        """Serve until :meth:`stop` (or cancellation); then stop meetings and close the client."""
        redact_on(("discord", "adapters.discord", "core.event_runner"), self.config.token)
        await self.prepare()
        async with self.client:
            start = asyncio.create_task(self.client.start(self.config.token), name="discord-client")
            stopping = asyncio.create_task(self._stop.wait(), name="discord-stop")
            try:
                await asyncio.wait({start, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                self.ready.clear()
                await self.recorder.aclose()
                await self.interactions.held.clear()
                await self.client.close()
                if not start.done():
                    start.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await start  # re-raises a login failure
                log.info("discord: stopped")

    async def _setup_hook(self) -> None:
        """Sync the command tree: to the configured guilds only (instant) or globally (up to an hour)."""
        await self.tree.set_translator(CatalogueTranslator())
        if not self.config.sync_commands:
            return
        if self.config.guild_ids:
            for guild_id in self.config.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def on_ready(self) -> None:
        """The gateway session is up."""
        user = self.client.user
        log.info("discord: serving as %s (%s)", user, user.id if user else "?")
        self.ready.set()

    # --- /star and /voice -----------------------------------------------------------------------

    async def star_create(self, interaction: discord.Interaction, export: discord.Attachment) -> None:
        """``/star create``: the engine's create flow (``new``); the export is fed when the flow asks."""
        await self.interactions.serve_holding(interaction, export, FileKind.KAKAO_EXPORT, "new")

    async def voice_setup(self, interaction: discord.Interaction, recording: discord.Attachment) -> None:
        """``/voice setup``: the engine's voice flow (``voice``); the recording is fed when it asks."""
        await self.interactions.serve_holding(interaction, recording, FileKind.AUDIO, "voice")

    async def star_list(self, interaction: discord.Interaction) -> None:
        """``/star list`` → ``stars``."""
        await self.interactions.serve(interaction, lambda o: [o.command("stars")], ephemeral=True)

    async def star_chat(self, interaction: discord.Interaction) -> None:
        """``/star chat``: open a DM; what the user writes there goes to the engine."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        origin = convert.origin_of(interaction)
        self.interactions.langs[origin.user_id] = origin.lang
        try:
            try:
                channel = await interaction.user.create_dm()
                await channel.send(t(origin.lang, "discord.dm_opened"))
            except discord.Forbidden:
                await interaction.edit_original_response(content=t(origin.lang, "discord.dm_closed"))
                return
            await interaction.edit_original_response(content=t(origin.lang, "discord.dm_sent"))
        except Exception:
            await self.interactions.apologise(interaction, origin)

    # --- privacy and opt-out --------------------------------------------------------------------

    async def privacy(self, interaction: discord.Interaction) -> None:
        """``/privacy``: what is recorded, how long, how to opt out."""
        await self.interactions.reply_now(
            interaction, "discord.privacy", retention_days=self.config.audio_retention_days
        )

    async def optout(self, interaction: discord.Interaction) -> None:
        """``/optout``: never capture this user in this guild; delete what was captured of them.

        That is their track in a running meeting and their segments in the guild's archived transcripts
        (matched by the names their track would carry: display name, global name, user name).
        """
        await interaction.response.defer(thinking=True, ephemeral=True)
        origin = convert.origin_of(interaction)
        try:
            if origin.guild_id is None:
                await interaction.edit_original_response(content=t(origin.lang, "discord.guild_only"))
                return
            user = interaction.user
            names = [getattr(user, "display_name", ""), getattr(user, "global_name", None) or "", user.name]
            meeting = self.recorder.active(origin.guild_id)
            if meeting is not None and origin.user_id in meeting.names:
                names.append(meeting.names[origin.user_id])
            labels = speaker_labels(origin.user_id, names)
            await self.optouts.opt_out(str(origin.guild_id), str(origin.user_id), labels)
            self.recorder.forget_user(origin.guild_id, origin.user_id)
            await interaction.edit_original_response(content=t(origin.lang, "discord.optout_done"))
        except Exception:
            await self.interactions.apologise(interaction, origin)

    async def optin(self, interaction: discord.Interaction) -> None:
        """``/optin``: undo ``/optout`` in this guild."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        origin = convert.origin_of(interaction)
        try:
            if origin.guild_id is None:
                await interaction.edit_original_response(content=t(origin.lang, "discord.guild_only"))
                return
            await self.optouts.opt_in(str(origin.guild_id), str(origin.user_id))
            await interaction.edit_original_response(content=t(origin.lang, "discord.optin_done"))
        except Exception:
            await self.interactions.apologise(interaction, origin)

    # --- /meeting (see MeetingHandlers) ---------------------------------------------------------

    async def meeting_start(self, interaction: discord.Interaction) -> None:
        """``/meeting start``."""
        await self.meetings.start(interaction)

    async def meeting_stop(self, interaction: discord.Interaction) -> None:
        """``/meeting stop``."""
        await self.meetings.stop(interaction)

    async def meeting_upload(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """``/meeting upload``."""
        await self.meetings.upload(interaction, file)

    async def meeting_enroll(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """``/meeting enroll``: the engine's ``enroll`` flow; the recording is fed once consent is given."""
        await self.interactions.serve_holding(interaction, file, FileKind.AUDIO, "enroll")

    async def meeting_command(self, interaction: discord.Interaction, command: str, args: str) -> None:
        """``/meeting list|summary|export|ask``."""
        await self.meetings.command(interaction, command, args)

    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """Voice-state changes drive the meeting lifecycle."""
        await self.meetings.on_voice_state_update(member, before, after)

    # --- listen ---------------------------------------------------------------------------------

    async def listen(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The "listen in voice" menu on a star message: the key of its listen button (``listen:<turn_id>``);
        the engine speaks the stored turn only if the star said it to this user."""
        me = self.client.user
        key = (
            convert.listen_key(_custom_ids(message))
            if me is not None and message.author.id == me.id
            else None
        )
        if key is None:
            await self.interactions.reply_now(interaction, "discord.listen_not_star")
            return
        await self.interactions.serve(interaction, lambda o: [o.choice(key)], ephemeral=True)

    # --- components, modals, DMs ----------------------------------------------------------------

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Buttons, select menus and the answer modal (custom ids ``vos:…``); app commands go to the tree."""
        data: dict[str, Any] = dict(interaction.data or {})
        parsed = convert.parse_custom_id(str(data.get("custom_id", "")))
        if parsed is None:
            return
        kind, value = parsed
        ephemeral = bool(interaction.message is not None and interaction.message.flags.ephemeral)
        if kind == "write":
            await interaction.response.send_modal(self._answer_modal(convert.origin_of(interaction).lang))
            return
        if kind == "modal":
            text = convert.modal_text(list(data.get("components", [])))
            await self.interactions.serve(
                interaction, lambda o: [o.text(text)], ephemeral=ephemeral or interaction.guild_id is not None
            )
            return
        key: str | None = value
        if kind == "select":
            values = list(data.get("values", []))
            key = str(values[0]) if values else None
        if key is None:
            await self.interactions.reply_now(interaction, "discord.button_expired")
            return
        chosen = key
        # A flow's question is answered once: its buttons go at once (a stale tap the engine refuses).
        await self.interactions.serve(
            interaction,
            lambda o: [o.choice(chosen)],
            ephemeral=ephemeral,
            close_components=chosen.startswith(FLOW_KEY),
        )

    def _answer_modal(self, locale: Locale) -> discord.ui.Modal:
        modal = discord.ui.Modal(
            title=t(locale, "discord.write_modal_title"), custom_id=convert.MODAL, timeout=600
        )
        modal.add_item(
            discord.ui.TextInput(
                label=t(locale, "discord.write_modal_label"),
                custom_id=convert.MODAL_FIELD,
                style=discord.TextStyle.paragraph,
                max_length=2000,
            )
        )
        return modal

    async def on_message(self, message: discord.Message) -> None:
        """A DM to the bot: text (``/cmd`` typed as text is a command), an attachment, a voice message."""
        if message.guild is not None or message.author.bot:
            return
        origin = convert.origin_of_message(message)
        surface = ChannelSurface(message.channel)

        async def work() -> None:
            if message.attachments:
                await self._dm_file(message, origin, surface)
                return
            text = message.content.strip()
            if not text:
                return
            command = convert.parse_text_command(text)
            event = origin.command(*command) if command else origin.text(text)
            await self.interactions.run_events(surface, origin, [event])

        async def apologise(ref: str) -> None:
            lang = self.interactions.langs.get(origin.user_id, Locale.KO)
            await message.channel.send(t(lang, "discord.apology", ref=ref))

        await self.interactions.runner.run(origin.user_id, work, apologise=apologise, what=f"DM {message.id}")

    async def _dm_file(self, message: discord.Message, origin: Origin, surface: Surface) -> None:
        attachment = message.attachments[0]
        async with scope(self.config.downloads_dir) as folder:
            try:
                incoming = await download(attachment, folder, self.config.max_download_bytes)
            except FileTooBig as exc:
                lang = self.interactions.langs.get(origin.user_id, Locale.KO)
                await message.channel.send(self.interactions.too_big(replace(origin, locale=lang), exc))
                return
            if attachment.is_voice_message():
                event: Event = origin.voice(incoming)
            else:
                event = origin.file(incoming, caption=message.content)
            await self.interactions.run_events(surface, origin, [event])


def _custom_ids(message: discord.Message) -> list[str]:
    """The custom ids of a message's components (buttons inside action rows, or bare)."""
    ids: list[str] = []
    for component in message.components:
        for item in getattr(component, "children", None) or [component]:
            custom_id = getattr(item, "custom_id", None)
            if isinstance(custom_id, str):
                ids.append(custom_id)
    return ids
