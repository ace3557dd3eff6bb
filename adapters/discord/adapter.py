"""The Discord adapter's lifecycle: discord.py inside the caller's TaskGroup, interactions to the engine.

``await DiscordAdapter(config, engine).run()`` logs in (``async with client: client.start(token)``),
syncs the command tree in ``setup_hook`` and serves until :meth:`DiscordAdapter.stop` or cancellation;
running meetings are stopped (tracks kept on disk) and the client closed on the way out.

Every interaction is deferred first (``thinking=True``; ephemeral for private results), well within
Discord's 3 s, then its events go to the engine and the actions are rendered by
:class:`~adapters.discord.render.DiscordRenderer`. Failures end in an apology with a reference id.

Intents (least privilege): ``guilds`` (commands and channels), ``voice_states`` (who is in which voice
channel: meeting start, the channel emptying) and ``dm_messages`` (``/star chat``: Discord delivers the
content of DMs to the bot without the privileged ``message_content`` intent, which VOS therefore does not
ask for). No ``members``, no ``presences``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord

from adapters.discord import convert
from adapters.discord.commands import CatalogueTranslator, build_tree
from adapters.discord.config import MIB, DiscordAdapterConfig
from adapters.discord.convert import Origin
from adapters.discord.files import FileTooBig, download, make_folder, remove_folder, scope
from adapters.discord.meetings import MeetingError, MeetingRecorder, StartCapture, StoppedMeeting
from adapters.discord.optout import OptOutStore
from adapters.discord.render import ChannelSurface, ChoiceTokens, DiscordRenderer, InteractionSurface, Surface
from core.domain.actions import SendText
from core.domain.events import Event, IncomingFile
from core.domain.identity import Locale
from core.i18n import catalogue, t
from core.ports import EventHandler

log = logging.getLogger(__name__)


def intents() -> discord.Intents:
    """The gateway intents VOS needs, and no more (see the module docstring)."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.voice_states = True
    chosen.dm_messages = True
    return chosen


def asks_for_export(texts: Sequence[str]) -> bool:
    """Whether the create-a-star flow just asked for the export file (in any language)."""
    wanted = {catalogue(loc).get("create.ask_export", "").strip() for loc in Locale}
    return any(text.strip() in wanted for text in texts)


@dataclass(slots=True)
class _PendingUpload:
    file: IncomingFile
    folder: Path
    expires: float


class _UserLocks:
    """One lock per user, so a user's events reach the engine in order while users run concurrently."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(user_id, (asyncio.Lock(), 0))
        self._locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[user_id]
            if users == 1:
                del self._locks[user_id]
            else:
                self._locks[user_id] = (lock, users - 1)


class _TokenFilter(logging.Filter):
    """A last line of defence: the token never reaches a log line."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token in message:
            record.msg, record.args = message.replace(self._token, "<token>"), None
        return True


class DiscordAdapter:
    """Serves one bot: interactions and DMs in, engine actions out, meetings captured in voice channels."""

    def __init__(
        self,
        config: DiscordAdapterConfig,
        engine: EventHandler,
        *,
        client: discord.Client | None = None,
        start_capture: StartCapture | None = None,
        connect_voice: Callable[..., Any] | None = None,
    ) -> None:
        self.config = config
        self._engine = engine
        self.client = client or discord.Client(intents=intents())
        self.tree = build_tree(self.client, self)
        self.tokens = ChoiceTokens()
        self.optouts = OptOutStore(config.optout_file)
        recorder_kwargs: dict[str, Any] = {}
        if connect_voice is not None:
            recorder_kwargs["connect"] = connect_voice
        self.recorder = MeetingRecorder(
            config.meetings_dir,
            self.optouts,
            max_duration_s=config.meeting_max_duration_s,
            connect_timeout_s=config.voice_connect_timeout_s,
            start_capture=start_capture,
            on_auto_stop=self._hand_over,
            name_lookup=self._member_name,
            **recorder_kwargs,
        )
        self.max_typing_pause_s = 1.5
        self._locks = _UserLocks()
        self._langs: dict[int, Locale] = {}
        self._pending: dict[int, _PendingUpload] = {}
        self._stop = asyncio.Event()
        self.ready = asyncio.Event()
        """Set once the gateway session is ready."""
        self.client.setup_hook = self._setup_hook  # type: ignore[method-assign]
        for handler in (self.on_ready, self.on_interaction, self.on_message, self.on_voice_state_update):
            self.client.event(handler)

    # --- lifecycle ------------------------------------------------------------------------------

    def stop(self) -> None:
        """Ask :meth:`run` to shut down gracefully."""
        self._stop.set()

    async def run(self) -> None:
        """Serve until :meth:`stop` (or cancellation); then stop meetings and close the client."""
        token_filter = _TokenFilter(self.config.token)
        for name in ("discord", "adapters.discord"):
            logging.getLogger(name).addFilter(token_filter)
        async with self.client:
            start = asyncio.create_task(self.client.start(self.config.token), name="discord-client")
            stopping = asyncio.create_task(self._stop.wait(), name="discord-stop")
            try:
                await asyncio.wait({start, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
                self.ready.clear()
                await self.recorder.aclose()
                await self._drop_pending()
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

    # --- the engine round trip --------------------------------------------------------------------

    def _renderer(self, surface: Surface, origin: Origin, *, write_button: bool) -> DiscordRenderer:
        return DiscordRenderer(
            surface=surface,
            config=self.config,
            locale=origin.locale or self._langs.get(origin.user_id, Locale.KO),
            tokens=self.tokens,
            write_button=write_button,
            max_typing_pause_s=self.max_typing_pause_s,
        )

    async def _run_events(
        self, surface: Surface, origin: Origin, events: Sequence[Event], *, write_button: bool = True
    ) -> None:
        """Each event to the engine in turn, rendering as actions arrive; then feed a pending export.

        In a guild the last message gets the "write an answer" button (the bot cannot read channel text).
        """
        renderer = self._renderer(surface, origin, write_button=write_button and origin.guild_id is not None)
        queue = list(events)
        used: _PendingUpload | None = None
        try:
            while queue:
                event = queue.pop(0)
                start = len(renderer.texts)
                actions = self._engine.handle(event)
                try:
                    async for action in actions:
                        await renderer.render(action)
                finally:
                    aclose = getattr(actions, "aclose", None)
                    if aclose is not None:
                        await aclose()
                if used is None and asks_for_export(renderer.texts[start:]):
                    used = self._take_pending(origin.user_id)
                    if used is not None:
                        queue.append(origin.file(used.file))
            await renderer.finish()
        finally:
            if used is not None:
                await remove_folder(used.folder)

    def _take_pending(self, user_id: int) -> _PendingUpload | None:
        """The export ``/star create`` attached, unless it expired (then the user uploads it in a DM)."""
        pending = self._pending.get(user_id)
        if pending is None or pending.expires < time.monotonic():
            return None
        return self._pending.pop(user_id)

    async def _drop_pending(self) -> None:
        for pending in self._pending.values():
            await remove_folder(pending.folder)
        self._pending.clear()

    async def _serve(
        self,
        interaction: discord.Interaction,
        make_events: Callable[[Origin], Sequence[Event]],
        *,
        ephemeral: bool,
        attachment: discord.Attachment | None = None,
        make_file_events: Callable[[Origin, IncomingFile], Sequence[Event]] | None = None,
        write_button: bool = True,
    ) -> None:
        """Defer at once, then run the events (downloading ``attachment`` first when given)."""
        await interaction.response.defer(thinking=True, ephemeral=ephemeral)
        origin = convert.origin_of(interaction)
        self._langs[origin.user_id] = origin.lang
        surface = InteractionSurface(interaction, ephemeral=ephemeral)
        try:
            async with self._locks.hold(origin.user_id), asyncio.timeout(self.config.event_timeout_s):
                if attachment is None or make_file_events is None:
                    await self._run_events(surface, origin, make_events(origin), write_button=write_button)
                    return
                async with scope(self.config.downloads_dir) as folder:
                    try:
                        incoming = await download(attachment, folder, self.config.max_download_bytes)
                    except FileTooBig as exc:
                        await self._say(surface, origin, self._too_big(origin, exc))
                        return
                    events = make_file_events(origin, incoming)
                    await self._run_events(surface, origin, events, write_button=write_button)
        except Exception:
            await self._apologise(interaction, origin, surface)

    def _too_big(self, origin: Origin, exc: FileTooBig) -> str:
        size_mb = f"{exc.size / MIB:.1f}"
        return t(origin.lang, "discord.file_too_big", size_mb=size_mb, limit_mb=exc.limit // MIB)

    async def _say(self, surface: Surface, origin: Origin, text: str) -> None:
        """One adapter text (not from the engine) on a surface."""
        renderer = self._renderer(surface, origin, write_button=False)
        await renderer.render(SendText(text=text))
        await renderer.finish()

    async def _apologise(
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

    async def _reply_now(self, interaction: discord.Interaction, key: str, **fields: object) -> None:
        """An immediate ephemeral answer from the adapter's own catalogue (no engine work to wait for)."""
        origin = convert.origin_of(interaction)
        await interaction.response.send_message(t(origin.lang, key, **fields), ephemeral=True)

    # --- /star ----------------------------------------------------------------------------------

    async def star_create(self, interaction: discord.Interaction, export: discord.Attachment) -> None:
        """``/star create``: the engine's create flow (``new``); the export is fed when the flow asks."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        origin = convert.origin_of(interaction)
        self._langs[origin.user_id] = origin.lang
        surface = InteractionSurface(interaction, ephemeral=True)
        try:
            folder = await make_folder(self.config.downloads_dir)
            try:
                incoming = await download(export, folder, self.config.max_download_bytes)
            except FileTooBig as exc:
                await remove_folder(folder)
                await self._say(surface, origin, self._too_big(origin, exc))
                return
            async with self._locks.hold(origin.user_id), asyncio.timeout(self.config.event_timeout_s):
                old = self._pending.pop(origin.user_id, None)
                if old is not None:
                    await remove_folder(old.folder)
                expires = time.monotonic() + self.config.pending_upload_ttl_s
                self._pending[origin.user_id] = _PendingUpload(file=incoming, folder=folder, expires=expires)
                await self._run_events(surface, origin, [origin.command("new")])
        except Exception:
            await self._apologise(interaction, origin, surface)

    async def star_list(self, interaction: discord.Interaction) -> None:
        """``/star list`` → ``stars``."""
        await self._serve(interaction, lambda o: [o.command("stars")], ephemeral=True)

    async def star_chat(self, interaction: discord.Interaction) -> None:
        """``/star chat``: open a DM; what the user writes there goes to the engine."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        origin = convert.origin_of(interaction)
        self._langs[origin.user_id] = origin.lang
        try:
            try:
                channel = await interaction.user.create_dm()
                await channel.send(t(origin.lang, "discord.dm_opened"))
            except discord.Forbidden:
                await interaction.edit_original_response(content=t(origin.lang, "discord.dm_closed"))
                return
            await interaction.edit_original_response(content=t(origin.lang, "discord.dm_sent"))
        except Exception:
            await self._apologise(interaction, origin)

    # --- privacy and opt-out --------------------------------------------------------------------

    async def privacy(self, interaction: discord.Interaction) -> None:
        """``/privacy``: what is recorded, how long, how to opt out."""
        await self._reply_now(interaction, "discord.privacy", retention_days=self.config.audio_retention_days)

    async def optout(self, interaction: discord.Interaction) -> None:
        """``/optout``: never capture this user in this guild; delete what a running meeting holds."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        origin = convert.origin_of(interaction)
        try:
            if origin.guild_id is None:
                await interaction.edit_original_response(content=t(origin.lang, "discord.guild_only"))
                return
            await self.optouts.opt_out(origin.guild_id, origin.user_id)
            self.recorder.forget_user(origin.guild_id, origin.user_id)
            await interaction.edit_original_response(content=t(origin.lang, "discord.optout_done"))
        except Exception:
            await self._apologise(interaction, origin)

    async def optin(self, interaction: discord.Interaction) -> None:
        """``/optin``: undo ``/optout`` in this guild."""
        await interaction.response.defer(thinking=True, ephemeral=True)
        origin = convert.origin_of(interaction)
        try:
            if origin.guild_id is None:
                await interaction.edit_original_response(content=t(origin.lang, "discord.guild_only"))
                return
            await self.optouts.opt_in(origin.guild_id, origin.user_id)
            await interaction.edit_original_response(content=t(origin.lang, "discord.optin_done"))
        except Exception:
            await self._apologise(interaction, origin)

    # --- /meeting -------------------------------------------------------------------------------

    async def meeting_start(self, interaction: discord.Interaction) -> None:
        """Join the caller's voice channel, announce the recording, start capturing."""
        await interaction.response.defer(thinking=True)
        origin = convert.origin_of(interaction)
        try:
            voice = getattr(interaction.user, "voice", None)
            channel = voice.channel if voice is not None else None
            if channel is None or interaction.guild_id is None:
                raise MeetingError("not_in_voice")
            announce = interaction.channel or self.client.get_partial_messageable(
                interaction.channel_id or channel.id, guild_id=interaction.guild_id
            )
            await self.recorder.start(origin, channel, announce)
            text = t(
                origin.lang, "discord.meeting.started", channel=channel.mention, user=interaction.user.mention
            )
            await interaction.edit_original_response(content=text)
            if announce is None or getattr(announce, "id", None) != channel.id:
                with contextlib.suppress(discord.HTTPException):
                    await channel.send(text)  # the voice channel's own chat: where the participants are
        except MeetingError as exc:
            await interaction.edit_original_response(
                content=t(origin.lang, f"discord.meeting.{exc.key}", **exc.fields)
            )
        except Exception:
            await self._apologise(interaction, origin)

    async def meeting_stop(self, interaction: discord.Interaction) -> None:
        """Stop the guild's capture (its starter or a member of its channel) and hand the tracks over."""
        await interaction.response.defer(thinking=True)
        origin = convert.origin_of(interaction)
        surface = InteractionSurface(interaction, ephemeral=False)
        try:
            meeting = self.recorder.active(origin.guild_id) if origin.guild_id else None
            if meeting is None:
                raise MeetingError("not_running")
            in_channel = origin.user_id in getattr(meeting.channel, "voice_states", {})
            if origin.user_id != meeting.starter.user_id and not in_channel:
                raise MeetingError("not_member")
            stopped = await self.recorder.stop(meeting.guild_id, reason="command")
            if stopped is not None:
                await self._hand_over(stopped, surface)
        except MeetingError as exc:
            await interaction.edit_original_response(
                content=t(origin.lang, f"discord.meeting.{exc.key}", **exc.fields)
            )
        except Exception:
            await self._apologise(interaction, origin)

    async def meeting_upload(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """``/meeting upload``: ``meeting`` then the file, as the engine's meeting upload expects."""
        await self._serve(
            interaction,
            lambda o: [],
            ephemeral=True,
            attachment=file,
            make_file_events=lambda o, f: [o.command("meeting"), o.file(f)],
            write_button=False,
        )

    async def meeting_command(self, interaction: discord.Interaction, command: str, args: str) -> None:
        """``/meeting list|summary|export`` → ``meeting <sub> [ref]``; ``/meeting ask`` → ``ask <q>``."""
        await self._serve(
            interaction, lambda o: [o.command(command, args)], ephemeral=True, write_button=False
        )

    async def _hand_over(self, stopped: StoppedMeeting, surface: Surface | None = None) -> None:
        """Announce the stop, then ``meeting`` + the track zip to the engine as the meeting's starter."""
        origin = stopped.starter
        surface = surface or ChannelSurface(stopped.announce)
        key = {"empty": "stopped_empty", "max": "stopped_max"}.get(stopped.reason, "stopped")
        minutes = max(1, round(stopped.duration_s / 60))
        text = t(origin.lang, f"discord.meeting.{key}", minutes=minutes, channel=stopped.channel_name)
        try:
            if stopped.zip_path is None:
                await self._say(
                    surface, origin, text + "\n" + t(origin.lang, "discord.meeting.nothing_captured")
                )
                return
            size = (await asyncio.to_thread(stopped.zip_path.stat)).st_size
            incoming = IncomingFile(
                path=stopped.zip_path, filename=stopped.zip_path.name, size=size, mime_type="application/zip"
            )
            events: list[Event] = [
                origin.command("meeting"),
                origin.file(incoming, caption=f"discord meeting {stopped.id}"),
            ]
            renderer = self._renderer(surface, origin, write_button=False)
            await renderer.render(SendText(text=text))
            async with asyncio.timeout(self.config.event_timeout_s):
                for event in events:
                    async for action in self._engine.handle(event):
                        await renderer.render(action)
            await renderer.finish()
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("discord: handing meeting %s over failed (ref %s)", stopped.id, ref)
            with contextlib.suppress(Exception):
                await surface.send(t(origin.lang, "discord.apology", ref=ref), view=None, files=())

    async def _member_name(self, guild_id: int, user_id: int) -> str | None:
        guild = self.client.get_guild(guild_id)
        if guild is None:
            return None
        member = guild.get_member(user_id) or await guild.fetch_member(user_id)
        return member.display_name if member else None

    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        """Remember speakers' names; stop when VOS is disconnected or everyone else has left."""
        meeting = self.recorder.active(member.guild.id)
        if meeting is None:
            return
        channel_id = meeting.channel.id
        if after.channel is not None and after.channel.id == channel_id:
            meeting.names[member.id] = member.display_name
        me = self.client.user.id if self.client.user else None
        if member.id == me and (after.channel is None or after.channel.id != channel_id):
            reason = "disconnected"
        elif (
            before.channel is not None
            and before.channel.id == channel_id
            and self.recorder.others_left(meeting, me) == 0
        ):
            reason = "empty"
        else:
            return
        stopped = await self.recorder.stop(member.guild.id, reason=reason)
        if stopped is not None:
            await self._hand_over(stopped)

    # --- listen ---------------------------------------------------------------------------------

    async def listen(self, interaction: discord.Interaction, message: discord.Message) -> None:
        """The "listen in voice" menu on a star message: spoken only if the star said it to this user."""
        me = self.client.user
        if me is None or message.author.id != me.id or not message.content:
            await self._reply_now(interaction, "discord.listen_not_star")
            return
        key = convert.listen_key(message.content)
        await self._serve(interaction, lambda o: [o.choice(key)], ephemeral=True)

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
            await self._serve(
                interaction, lambda o: [o.text(text)], ephemeral=ephemeral or interaction.guild_id is not None
            )
            return
        key: str | None = value
        if kind == "token":
            key = self.tokens.resolve(value)
        elif kind == "select":
            values = list(data.get("values", []))
            key = self.tokens.resolve_value(str(values[0])) if values else None
        if key is None:
            await self._reply_now(interaction, "discord.button_expired")
            return
        chosen = key
        await self._serve(interaction, lambda o: [o.choice(chosen)], ephemeral=ephemeral)

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
        try:
            async with self._locks.hold(origin.user_id), asyncio.timeout(self.config.event_timeout_s):
                if message.attachments:
                    await self._dm_file(message, origin, surface)
                    return
                text = message.content.strip()
                if not text:
                    return
                command = convert.parse_text_command(text)
                event = origin.command(*command) if command else origin.text(text)
                await self._run_events(surface, origin, [event])
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("discord: DM %s failed (ref %s)", message.id, ref)
            lang = self._langs.get(origin.user_id, Locale.KO)
            with contextlib.suppress(Exception):
                await message.channel.send(t(lang, "discord.apology", ref=ref))

    async def _dm_file(self, message: discord.Message, origin: Origin, surface: Surface) -> None:
        attachment = message.attachments[0]
        async with scope(self.config.downloads_dir) as folder:
            try:
                incoming = await download(attachment, folder, self.config.max_download_bytes)
            except FileTooBig as exc:
                lang = self._langs.get(origin.user_id, Locale.KO)
                await message.channel.send(
                    t(
                        lang,
                        "discord.file_too_big",
                        size_mb=f"{exc.size / MIB:.1f}",
                        limit_mb=exc.limit // MIB,
                    )
                )
                return
            if attachment.is_voice_message():
                event: Event = origin.voice(incoming)
            else:
                event = origin.file(incoming, caption=message.content)
            await self._run_events(surface, origin, [event])
