"""``/meeting`` and the voice-channel lifecycle: start and stop a capture, stop it on its own, hand it over.

Least privilege: only someone in a voice channel can start capturing it, and only the starter or a member
of the captured channel can stop it; anyone else gets an ephemeral explanation before anything is
deferred. A finished capture goes to the engine as its starter (``meeting`` + the track zip), so the
meeting lands in the guild's archive. Members who opted out while it was processing are removed from the
transcript once it is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import discord

from adapters.discord import convert
from adapters.discord.config import DiscordAdapterConfig
from adapters.discord.interactions import Interactions
from adapters.discord.meetings import (
    Connect,
    MeetingError,
    MeetingRecorder,
    StartCapture,
    StoppedMeeting,
    connect_voice,
)
from adapters.discord.optout import OptOutRegister
from adapters.discord.render import ChannelSurface, InteractionSurface, Surface
from core.domain.actions import SendText
from core.domain.events import Event, IncomingFile
from core.i18n import t
from core.meetings import capture_rules as rules

log = logging.getLogger(__name__)


class MeetingHandlers:
    """The ``/meeting`` commands and the gateway's voice-state events; owns the :class:`MeetingRecorder`."""

    def __init__(
        self,
        config: DiscordAdapterConfig,
        client: discord.Client,
        interactions: Interactions,
        optouts: OptOutRegister,
        *,
        start_capture: StartCapture | None = None,
        connect: Connect | None = None,
    ) -> None:
        self.config = config
        self.client = client
        self.interactions = interactions
        self.optouts = optouts
        self.recorder = MeetingRecorder(
            config.meetings_dir,
            optouts,
            max_duration_s=config.meeting_max_duration_s,
            connect_timeout_s=config.voice_connect_timeout_s,
            connect=connect or connect_voice,
            start_capture=start_capture,
            on_auto_stop=self.hand_over,
            name_lookup=self.member_name,
        )

    async def _refuse(self, interaction: discord.Interaction, exc: MeetingError) -> None:
        """An ephemeral explanation: as the response, or in place of a public "thinking…"."""
        origin = convert.origin_of(interaction)
        text = t(origin.lang, f"discord.meeting.{exc.key}", **exc.fields)
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
            return
        with contextlib.suppress(discord.HTTPException):
            await interaction.delete_original_response()
        await interaction.followup.send(text, ephemeral=True)

    async def start(self, interaction: discord.Interaction) -> None:
        """Join the caller's voice channel, announce the recording, start capturing."""
        origin = convert.origin_of(interaction)
        voice = getattr(interaction.user, "voice", None)
        channel = voice.channel if voice is not None else None
        if channel is None or interaction.guild_id is None:
            await self._refuse(interaction, MeetingError("not_in_voice"))
            return
        running = self.recorder.active(interaction.guild_id)
        if running is not None:
            await self._refuse(interaction, MeetingError("already_running", channel=running.channel.mention))
            return
        await interaction.response.defer(thinking=True)  # public: the start is announced
        try:
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
            await self._refuse(interaction, exc)
        except Exception:
            await self.interactions.apologise(interaction, origin)

    async def stop(self, interaction: discord.Interaction) -> None:
        """Stop the guild's capture (its starter or a member of its channel) and hand the tracks over."""
        origin = convert.origin_of(interaction)
        meeting = self.recorder.active(origin.guild_id) if origin.guild_id else None
        if meeting is None:
            await self._refuse(interaction, MeetingError("not_running"))
            return
        in_channel = getattr(meeting.channel, "voice_states", {})
        if not rules.may_stop(
            str(origin.user_id), starter_id=str(meeting.starter.user_id), in_channel=in_channel
        ):
            await self._refuse(interaction, MeetingError("not_member", channel=meeting.channel.mention))
            return
        await interaction.response.defer(thinking=True)
        surface = InteractionSurface(interaction, ephemeral=False)
        try:
            stopped = await self.recorder.stop(meeting.guild_id, reason="command")
            if stopped is not None:
                await self.hand_over(stopped, surface)
        except Exception:
            await self.interactions.apologise(interaction, origin)

    async def upload(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        """``/meeting upload``: ``meeting`` then the file, as the engine's meeting upload expects."""
        await self.interactions.serve(
            interaction,
            lambda o: [],
            ephemeral=True,
            attachment=file,
            make_file_events=lambda o, f: [o.command("meeting"), o.file(f)],
            write_button=False,
        )

    async def command(self, interaction: discord.Interaction, command: str, args: str) -> None:
        """``/meeting list|summary|export`` → ``meeting <sub> [ref]``; ``/meeting ask`` → ``ask <q>``."""
        await self.interactions.serve(
            interaction, lambda o: [o.command(command, args)], ephemeral=True, write_button=False
        )

    async def hand_over(self, stopped: StoppedMeeting, surface: Surface | None = None) -> None:
        """Announce the stop, then ``meeting`` + the track zip to the engine as the meeting's starter.

        ``surface``: the ``/meeting stop`` interaction, which only gets the stop line. The import of a long
        meeting outlasts an interaction token (15 minutes), so its progress and result are plain messages
        in the channel the meeting was started from.
        """
        origin = stopped.starter
        channel = ChannelSurface(stopped.announce)
        key = {"empty": "stopped_empty", "max": "stopped_max"}.get(stopped.reason, "stopped")
        minutes = max(1, round(stopped.duration_s / 60))
        text = t(origin.lang, f"discord.meeting.{key}", minutes=minutes, channel=stopped.channel_name)

        async def work() -> None:
            if stopped.zip_path is None:
                await self.interactions.say(
                    surface or channel,
                    origin,
                    text + "\n" + t(origin.lang, "discord.meeting.nothing_captured"),
                )
                return
            if surface is not None:  # the interaction shows the stop line; the channel gets the rest
                await self.interactions.say(surface, origin, text)
            size = (await asyncio.to_thread(stopped.zip_path.stat)).st_size
            incoming = IncomingFile(
                path=stopped.zip_path,
                filename=stopped.zip_path.name,
                size=size,
                mime_type="application/zip",
                live_capture=True,
            )
            events: list[Event] = [
                origin.command("meeting"),
                origin.file(incoming, caption=f"discord meeting {stopped.id}"),
            ]
            renderer = self.interactions.renderer(channel, origin, write_button=False)
            if surface is None:
                await renderer.render(SendText(text=text))
            for event in events:
                await self.interactions.runner.stream(event, renderer.render)
            await renderer.finish()
            await self._forget_late_optouts(stopped)

        async def apologise(ref: str) -> None:
            await channel.send(t(origin.lang, "discord.apology", ref=ref), view=None, files=())

        # Transcribing runs at most about real time: a long meeting's import gets its own length again.
        # Not in the starter's turn: their other commands do not wait for a meeting's import.
        await self.interactions.runner.run(
            None,
            work,
            apologise=apologise,
            what=f"handing meeting {stopped.id} over",
            extra_s=2 * stopped.duration_s,
        )

    async def _forget_late_optouts(self, stopped: StoppedMeeting) -> None:
        """Members who opted out while their meeting was processing: delete their now stored speech."""
        guild_id = str(stopped.guild_id)
        speakers = [(str(uid), label) for uid, label in stopped.speaker_ids]
        late = rules.late_optouts(guild_id, speakers, self.optouts.is_opted_out)
        if late:
            await self.optouts.forget_speakers(guild_id, late)

    async def member_name(self, guild_id: int, user_id: int) -> str | None:
        """A member's display name (for a track whose speaker left before the end)."""
        guild = self.client.get_guild(guild_id)
        if guild is None:
            return None
        member = guild.get_member(user_id) or await guild.fetch_member(user_id)
        return member.display_name if member else None

    async def on_voice_state_update(self, member: discord.Member, before: Any, after: Any) -> None:
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
            await self.hand_over(stopped)
