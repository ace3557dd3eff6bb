"""Live meeting capture in a guild's voice channel, handed to the engine as a Craig-style track zip.

One meeting per guild (Discord allows one voice connection per guild). ``start`` joins the member's voice
channel (not deafened: the bot must hear), starts :func:`adapters.discord.voice.start_capture` into
``<data_dir>/meetings/<meeting id>/`` and arms a timer for the maximum duration. ``stop`` (the command,
the channel emptying, the timer) closes the tracks, leaves the channel and zips one ``<display name>.ogg``
(Opus: only the stretches the speaker was heard) per speaker who was heard, with ``timeline.json`` saying
where each stretch sits on the meeting clock (see ``core.meetings.timeline``). Opted-out users are never
captured (``is_captured``) and their track is deleted when they opt out during a meeting (``forget_user``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import time
import uuid
import zipfile
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adapters.discord.convert import Origin
from adapters.discord.optout import OptOutRegister
from core.i18n import t
from core.meetings import capture_rules as rules
from core.meetings.tracks import speaker_name

log = logging.getLogger(__name__)

Connect = Callable[[Any, float], Awaitable[Any]]
StartCapture = Callable[..., Any]
AutoStopped = Callable[["StoppedMeeting"], Awaitable[None]]
NameLookup = Callable[[int, int], Awaitable[str | None]]


class MeetingError(Exception):
    """A meeting command cannot proceed; ``key`` is the i18n key (``discord.meeting.<key>``) to show."""

    def __init__(self, key: str, **fields: object) -> None:
        super().__init__(key)
        self.key = key
        self.fields = fields


async def connect_voice(channel: Any, timeout_s: float) -> Any:
    """Join ``channel`` listening (``self_deaf=False``) and silent (``self_mute=True``)."""
    return await channel.connect(timeout=timeout_s, self_deaf=False, self_mute=True)


@dataclass(slots=True)
class LiveMeeting:
    """A meeting being captured."""

    id: str
    guild_id: int
    channel: Any
    announce: Any
    starter: Origin
    directory: Path
    voice_client: Any
    capture: Any
    started: float
    names: dict[int, str] = field(default_factory=dict)
    watchdog: asyncio.Task[None] | None = None
    notes: list[str] = field(default_factory=list)
    """Warnings the capture raised (kept in the meeting's notes)."""
    warned_at: float = float("-inf")
    posts: list[concurrent.futures.Future[Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoppedMeeting:
    """A finished capture: the zip to hand over (None when no one was heard) and why it stopped."""

    id: str
    guild_id: int
    channel_name: str
    announce: Any
    starter: Origin
    duration_s: float
    reason: str
    zip_path: Path | None
    speakers: tuple[str, ...]
    speaker_ids: tuple[tuple[int, str], ...] = ()
    """(Discord user id, speaker label the archive will show) per track, for opt-outs that come later."""
    notes: str = ""
    """Capture health per speaker and the warnings raised (also ``notes.txt`` in the zip)."""


def track_filenames(user_ids: list[int], names: dict[int, str], suffix: str = ".ogg") -> dict[int, str]:
    """``<display name>.ogg`` per user (the rule is :func:`core.meetings.capture_rules.track_filenames`)."""
    named = rules.track_filenames([str(u) for u in user_ids], {str(u): n for u, n in names.items()}, suffix)
    return {int(u): name for u, name in named.items()}


def speaker_labels(user_id: int, names: Iterable[str]) -> list[str]:
    """The archive labels of a member's track under each of ``names`` (:mod:`core.meetings.capture_rules`)."""
    return rules.speaker_labels(str(user_id), names)


def write_track_zip(
    zip_path: Path, tracks: dict[str, Any], sample_rate: int = 48_000, notes: str = ""
) -> None:
    """Zip the tracks (entry name → captured track: ``path`` and ``spans``), their ``timeline.json`` and
    the capture's ``notes.txt``.

    Opus is stored, not deflated (already compressed).
    """
    timeline = {
        "version": 1,
        "sample_rate": sample_rate,
        "tracks": {entry: [list(span) for span in track.spans] for entry, track in tracks.items()},
    }
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_STORED) as zf:
        for entry, track in tracks.items():
            zf.write(track.path, arcname=entry)
        zf.writestr("timeline.json", json.dumps(timeline))
        if notes:
            zf.writestr("notes.txt", notes)


def _default_start_capture() -> StartCapture:
    """The real receive path, imported on first use (it needs the voice extra: PyNaCl, davey)."""
    from adapters.discord.voice import start_capture

    return start_capture


class MeetingRecorder:
    """Starts and stops captures; one per guild."""

    def __init__(
        self,
        meetings_dir: Path,
        optouts: OptOutRegister,
        *,
        max_duration_s: float,
        connect_timeout_s: float = 30.0,
        connect: Connect = connect_voice,
        start_capture: StartCapture | None = None,
        on_auto_stop: AutoStopped | None = None,
        name_lookup: NameLookup | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.meetings_dir = meetings_dir
        self.optouts = optouts
        self.max_duration_s = max_duration_s
        self.connect_timeout_s = connect_timeout_s
        self._connect = connect
        self._start_capture = start_capture
        self.on_auto_stop = on_auto_stop
        self._name_lookup = name_lookup
        self._clock = clock
        self._live: dict[int, LiveMeeting] = {}
        self._lock = asyncio.Lock()
        self.warn_every_s = 300.0  # at most one "audio is being lost" post per meeting in this time

    def active(self, guild_id: int) -> LiveMeeting | None:
        """The meeting being captured in a guild."""
        return self._live.get(guild_id)

    async def start(self, starter: Origin, channel: Any, announce: Any) -> LiveMeeting:
        """Join ``channel`` and start capturing; raises :class:`MeetingError`."""
        guild_id = int(channel.guild.id)
        async with self._lock:
            running = self._live.get(guild_id)
            if running is not None:
                raise MeetingError("already_running", channel=running.channel.mention)
            start = self._start_capture or _default_start_capture()
            meeting_id = uuid.uuid4().hex[:12]
            directory = self.meetings_dir / meeting_id
            try:
                voice_client = await self._connect(channel, self.connect_timeout_s)
            except (TimeoutError, OSError, RuntimeError) as exc:
                log.warning("discord: joining voice channel %s failed: %r", channel.id, exc)
                raise MeetingError("connect_failed") from exc
            holder: list[LiveMeeting] = []
            loop = asyncio.get_running_loop()
            try:
                capture = start(
                    voice_client,
                    directory,
                    is_captured=lambda uid: self._captured(guild_id, uid),
                    on_health=lambda report: self._health(holder, report, loop),
                )
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await voice_client.disconnect(force=True)
                log.exception("discord: capture could not start")
                raise MeetingError("capture_unavailable") from exc
            meeting = LiveMeeting(
                id=meeting_id,
                guild_id=guild_id,
                channel=channel,
                announce=announce,
                starter=starter,
                directory=directory,
                voice_client=voice_client,
                capture=capture,
                started=self._clock(),
            )
            holder.append(meeting)
            self.note_names(meeting, channel)
            meeting.watchdog = asyncio.create_task(self._watch(meeting), name=f"meeting-{meeting_id}-timer")
            self._live[guild_id] = meeting
            log.info("discord: meeting %s started in guild %s", meeting_id, guild_id)
            return meeting

    def _health(self, holder: list[LiveMeeting], report: Any, loop: asyncio.AbstractEventLoop) -> None:
        """A capture health report (receive worker thread): warn the channel when audio is being lost."""
        if not holder or not report.losing:
            return
        meeting = holder[0]
        now = self._clock()
        minute = max(0, round((now - meeting.started) / 60))
        names = ", ".join(meeting.names.get(uid, f"user-{uid}") for uid in report.losing)
        percent = round(100 * max(report.interval[uid].missing_ratio for uid in report.losing))
        meeting.notes.append(f"{minute} min: audio lost from {names} ({percent} %)")
        if now - meeting.warned_at < self.warn_every_s:
            return
        meeting.warned_at = now
        text = t(meeting.starter.lang, "platforms.capture_losing", names=names, percent=percent)
        meeting.posts.append(asyncio.run_coroutine_threadsafe(self._post(meeting, text), loop))

    @staticmethod
    async def _post(meeting: LiveMeeting, text: str) -> None:
        try:
            await meeting.announce.send(text)
        except Exception:
            log.warning("discord: could not post a capture warning for meeting %s", meeting.id, exc_info=True)

    @staticmethod
    def _notes(meeting: LiveMeeting, result: Any, labels: dict[int, str]) -> str:
        """The meeting's notes: each speaker's capture health, then the warnings raised."""
        lines = [
            f"{labels.get(uid, f'user-{uid}')}: {health.line()}"
            for uid, health in getattr(result, "health", {}).items()
            if uid in labels
        ]
        return "\n".join(["capture health:", *lines, *meeting.notes]) if lines or meeting.notes else ""

    def _captured(self, guild_id: int, user_id: int) -> bool:
        return not self.optouts.is_opted_out(str(guild_id), str(user_id))

    @staticmethod
    def note_names(meeting: LiveMeeting, channel: Any) -> None:
        """Remember the display names of who is in the channel now (people may leave before the end)."""
        for member in getattr(channel, "members", []):
            meeting.names[int(member.id)] = str(member.display_name)

    def forget_user(self, guild_id: int, user_id: int) -> bool:
        """An opt-out during a meeting: delete what was captured of the user. True when a meeting ran."""
        meeting = self._live.get(guild_id)
        if meeting is None:
            return False
        meeting.capture.receiver.forget_user(user_id)
        return True

    @staticmethod
    def others_left(meeting: LiveMeeting, bot_user_id: int | None) -> int:
        """How many users other than VOS are still in the meeting's channel.

        Read from the channel's voice states (kept by the ``voice_states`` intent), not its members (the
        member cache needs the privileged members intent).
        """
        states = getattr(meeting.channel, "voice_states", {})
        return sum(1 for user_id in states if int(user_id) != bot_user_id)

    async def _watch(self, meeting: LiveMeeting) -> None:
        await asyncio.sleep(self.max_duration_s)
        stopped = await self.stop(meeting.guild_id, reason="max", from_watchdog=True)
        if stopped is not None and self.on_auto_stop is not None:
            await self.on_auto_stop(stopped)

    async def stop(self, guild_id: int, *, reason: str, from_watchdog: bool = False) -> StoppedMeeting | None:
        """Stop a guild's capture, leave the channel and zip the tracks; None when none was running."""
        async with self._lock:
            meeting = self._live.pop(guild_id, None)
        if meeting is None:
            return None
        if meeting.watchdog is not None and not from_watchdog:
            meeting.watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await meeting.watchdog
        self.note_names(meeting, meeting.channel)
        try:
            result = await meeting.capture.stop()
        finally:
            with contextlib.suppress(Exception):
                await meeting.voice_client.disconnect(force=False)
        for post in meeting.posts:  # warnings on their way: let them arrive before the import's messages
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.wrap_future(post), 10)
        duration = self._clock() - meeting.started
        heard = [
            track
            for track in result.tracks
            if track.first_audio_s is not None and self._captured(guild_id, track.user_id)
        ]
        for track in result.tracks:
            if not self._captured(guild_id, track.user_id):  # opted out after the receiver wrote it
                await asyncio.to_thread(track.path.unlink, True)
                await asyncio.to_thread(track.timeline.unlink, True)
        zip_path: Path | None = None
        notes = ""
        speakers: tuple[str, ...] = ()
        speaker_ids: tuple[tuple[int, str], ...] = ()
        for track in heard:
            if track.user_id not in meeting.names and self._name_lookup is not None:
                with contextlib.suppress(Exception):
                    found = await self._name_lookup(guild_id, track.user_id)
                    if found:
                        meeting.names[track.user_id] = found
        if heard:
            names = track_filenames([t.user_id for t in heard], meeting.names)
            entries = {names[t.user_id]: t for t in heard}
            zip_path = meeting.directory / f"meeting-{meeting.id}.zip"
            notes = self._notes(meeting, result, {t.user_id: speaker_name(names[t.user_id]) for t in heard})
            await asyncio.to_thread(write_track_zip, zip_path, entries, 48_000, notes)
            speakers = tuple(entries)
            speaker_ids = tuple((t.user_id, speaker_name(names[t.user_id])) for t in heard)
        log.info("discord: meeting %s stopped (%s), %d track(s)", meeting.id, reason, len(heard))
        return StoppedMeeting(
            id=meeting.id,
            guild_id=guild_id,
            channel_name=str(getattr(meeting.channel, "mention", meeting.channel)),
            announce=meeting.announce,
            starter=meeting.starter,
            duration_s=duration,
            reason=reason,
            zip_path=zip_path,
            speakers=speakers,
            speaker_ids=speaker_ids,
            notes=notes,
        )

    async def aclose(self) -> None:
        """Stop every capture (shutdown): tracks stay on disk under their meeting folder."""
        for guild_id in list(self._live):
            with contextlib.suppress(Exception):
                await self.stop(guild_id, reason="shutdown")
