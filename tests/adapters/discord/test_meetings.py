"""/meeting start|stop, opt-out and the automatic stops, with a fake voice connection and the REAL receiver.

The capture is :class:`adapters.discord.voice.receiver.VoiceReceiver` fed synthetic Opus over the real
transport cipher (as in the voice tests); only joining the channel is faked (no voice server here).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.extras import need

need("davey")

from adapters.discord.voice.dave import DaveFrameDecryptor
from adapters.discord.voice.receiver import VoiceReceiver
from adapters.discord.voice.transport import XCHACHA20, make_cipher
from core.domain.events import CommandInvoked, FileUploaded
from core.domain.identity import Locale
from core.i18n import t
from core.meetings.optouts import MeetingOptOuts
from core.storage.db import Database
from core.storage.optout_repository import MeetingOptOutRepository
from tests.adapters.discord.fakes import (
    ALICE,
    BOB,
    GUILD_ID,
    TEXT_CHANNEL_ID,
    VOICE_CHANNEL_ID,
    MemoryOptOuts,
    ScriptedEngine,
    member_payload,
    slash,
)
from tests.adapters.discord.voice.discord_voice_fakes import FakeSpeaker, encode_opus, voice_like

KO = Locale.KO


def add_guild(client: Any, *, in_voice: tuple[int, ...] = (ALICE, BOB)) -> Any:
    """Put a guild with a text and a voice channel (and who is in it) into the client's cache."""
    names = {ALICE: "alice", BOB: "bob/../밥"}
    payload = {
        "id": str(GUILD_ID),
        "name": "team",
        "owner_id": str(ALICE),
        "roles": [
            {
                "id": str(GUILD_ID),
                "name": "@everyone",
                "permissions": "0",
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ],
        "channels": [
            {
                "id": str(TEXT_CHANNEL_ID),
                "type": 0,
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
            },
            {
                "id": str(VOICE_CHANNEL_ID),
                "type": 2,
                "name": "회의실",
                "position": 1,
                "permission_overwrites": [],
                "bitrate": 64000,
                "user_limit": 0,
            },
        ],
        "members": [member_payload(uid, names[uid]) for uid in (ALICE, BOB)],
        "voice_states": [
            {
                "user_id": str(uid),
                "channel_id": str(VOICE_CHANNEL_ID),
                "session_id": "s",
                "deaf": False,
                "mute": False,
                "self_deaf": False,
                "self_mute": False,
                "self_video": False,
                "suppress": False,
                "request_to_speak_timestamp": None,
            }
            for uid in in_voice
        ],
        "member_count": 2,
        "features": [],
        "emojis": [],
        "stickers": [],
    }
    return client._connection._add_guild_from_data(payload)


class FakeVoiceClient:
    def __init__(self, channel: Any) -> None:
        self.channel = channel
        self.disconnected = False

    async def disconnect(self, *, force: bool = False) -> None:
        self.disconnected = True


class Capture:
    """start_capture's stand-in: the real receiver, two speakers' packets sent into it."""

    def __init__(self) -> None:
        self.joined: list[Any] = []
        self.receivers: list[VoiceReceiver] = []
        self.on_health: Any = None

    async def connect(self, channel: Any, timeout_s: float) -> FakeVoiceClient:
        self.joined.append(channel)
        return FakeVoiceClient(channel)

    def start(self, voice_client: Any, directory: Path, *, is_captured: Any, on_health: Any = None) -> Any:
        self.on_health = on_health
        key = os.urandom(32)
        receiver = VoiceReceiver(
            directory,
            cipher=lambda: make_cipher(XCHACHA20, key),
            dave=DaveFrameDecryptor(lambda: None),
            is_captured=is_captured,
        )
        receiver.map_ssrc(1, ALICE)
        receiver.map_ssrc(2, BOB)
        receiver.start()
        frames = encode_opus(voice_like(0.4, seed=5))
        for ssrc in (1, 2):
            speaker = FakeSpeaker(ssrc, make_cipher(XCHACHA20, key))
            for i, opus in enumerate(frames):
                receiver.on_packet(speaker.packet(opus, frame_index=i))
        deadline = time.monotonic() + 10
        while receiver.stats.frames_decoded < 2 * len(frames) and time.monotonic() < deadline:
            time.sleep(0.01)
        self.receivers.append(receiver)

        async def stop() -> Any:
            return await asyncio.to_thread(receiver.stop)

        return SimpleNamespace(receiver=receiver, stop=stop)


@pytest.fixture
def capture() -> Capture:
    return Capture()


def _adapter(make_adapter: Any, http: Any, capture: Capture, **kwargs: Any) -> Any:
    engine = ScriptedEngine(http)
    return make_adapter(engine, start_capture=capture.start, connect_voice=capture.connect, **kwargs), engine


async def test_start_announces_and_stop_hands_a_track_zip_to_the_engine(http, client, make_adapter, capture):
    add_guild(client)
    adapter, engine = _adapter(make_adapter, http, capture)
    await adapter.tree._call(slash(client, "meeting start"))
    defer = http.calls[0]
    assert defer.payload["type"] == 5
    assert not defer.flags & 64  # the announcement is public
    announced = t(KO, "discord.meeting.started", channel=f"<#{VOICE_CHANNEL_ID}>", user=f"<@{ALICE}>")
    assert http.calls[1].content == announced
    assert any(
        c.path == f"/channels/{VOICE_CHANNEL_ID}/messages" and c.content == announced for c in http.calls
    )
    assert [ch.id for ch in capture.joined] == [VOICE_CHANNEL_ID]
    meeting = adapter.recorder.active(GUILD_ID)
    assert meeting is not None
    assert meeting.directory == adapter.config.data_dir / "meetings" / meeting.id

    await adapter.tree._call(slash(client, "meeting stop", user_id=BOB, name="bob"))
    assert adapter.recorder.active(GUILD_ID) is None
    assert meeting.voice_client.disconnected
    command, upload = engine.events
    assert isinstance(command, CommandInvoked)
    assert command.command == "meeting"
    assert isinstance(upload, FileUploaded)
    assert command.user.platform_user_id == upload.user.platform_user_id == str(ALICE)  # the starter
    assert upload.chat_id == f"discord:guild:{GUILD_ID}"
    assert upload.file.mime_type == "application/zip"
    with zipfile.ZipFile(upload.file.path) as zf:
        # No path separators survive; Opus tracks and where their speech sits on the meeting clock.
        assert sorted(zf.namelist()) == ["alice.ogg", "bob .. 밥.ogg", "notes.txt", "timeline.json"]
        assert all(zf.read(n)[:4] == b"OggS" for n in zf.namelist() if n.endswith(".ogg"))
        timeline = json.loads(zf.read("timeline.json"))
        assert set(timeline["tracks"]) == {"alice.ogg", "bob .. 밥.ogg"}
        assert all(len(spans) == 1 for spans in timeline["tracks"].values())
    assert upload.file.live_capture  # the capture is not held to the limits of users' uploads
    assert any(x.startswith("⏹️") for x in http.texts())


async def test_opt_out_during_a_meeting_deletes_the_users_track(
    http, client, make_adapter, capture, sqlite_url
):
    db = Database(sqlite_url)
    register = MeetingOptOuts(MeetingOptOutRepository(db))
    add_guild(client)
    adapter, engine = _adapter(make_adapter, http, capture, optouts=register)
    await adapter.prepare()
    await adapter.tree._call(slash(client, "meeting start"))
    meeting = adapter.recorder.active(GUILD_ID)
    assert (meeting.directory / f"{BOB}.ogg").exists()

    await adapter.tree._call(slash(client, "optout", user_id=BOB, name="bob", locale="en-US"))
    assert http.calls[-1].content == t(Locale.EN, "discord.optout_done")
    assert register.is_opted_out(str(GUILD_ID), str(BOB))
    assert not capture.receivers[0]._is_captured(BOB)
    await adapter.tree._call(slash(client, "meeting stop"))
    assert not (meeting.directory / f"{BOB}.ogg").exists()
    upload = engine.events[-1]
    with zipfile.ZipFile(upload.file.path) as zf:
        assert zf.namelist() == ["alice.ogg", "timeline.json", "notes.txt"]
    restarted = MeetingOptOuts(MeetingOptOutRepository(db))  # persisted: a restart still knows
    await restarted.load()
    assert restarted.is_opted_out(str(GUILD_ID), str(BOB))
    await adapter.tree._call(slash(client, "optin", user_id=BOB, name="bob"))
    assert not register.is_opted_out(str(GUILD_ID), str(BOB))
    await db.dispose()


class OptOutWhileProcessing(ScriptedEngine):
    """An engine during whose processing of the track zip bob runs /optout."""

    def __init__(self, http: Any, register: MemoryOptOuts) -> None:
        super().__init__(http)
        self.register = register

    async def handle(self, event: Any) -> Any:
        async for action in super().handle(event):
            yield action
        if isinstance(event, FileUploaded):
            self.register.pairs.add((str(GUILD_ID), str(BOB)))


async def test_an_opt_out_while_the_meeting_processes_deletes_the_stored_speech(
    http, client, make_adapter, capture
):
    add_guild(client)
    register = MemoryOptOuts()
    engine = OptOutWhileProcessing(http, register)
    adapter = make_adapter(
        engine, start_capture=capture.start, connect_voice=capture.connect, optouts=register
    )
    await adapter.tree._call(slash(client, "meeting start"))
    await adapter.tree._call(slash(client, "meeting stop"))
    assert [type(e).__name__ for e in engine.events] == ["CommandInvoked", "FileUploaded"]
    assert register.forgotten == [(str(GUILD_ID), ("bob .. 밥",))]  # the label bob's track carried


async def test_only_members_of_the_voice_channel_may_stop_and_others_are_told_privately(
    http, client, make_adapter, capture
):
    add_guild(client, in_voice=(ALICE,))
    adapter, engine = _adapter(make_adapter, http, capture)
    await adapter.tree._call(slash(client, "meeting start"))
    assert adapter.recorder.active(GUILD_ID) is not None
    before = len(http.calls)
    await adapter.tree._call(slash(client, "meeting stop", user_id=BOB, name="bob"))
    (refusal,) = http.calls[before:]
    assert refusal.path.endswith("/callback") and refusal.payload["type"] == 4  # no public "thinking…"
    assert refusal.flags & 64
    assert refusal.content == t(KO, "discord.meeting.not_member", channel=f"<#{VOICE_CHANNEL_ID}>")
    assert adapter.recorder.active(GUILD_ID) is not None
    before = len(http.calls)
    await adapter.tree._call(slash(client, "meeting start", user_id=BOB, name="bob"))  # bob is in no channel
    (refusal,) = http.calls[before:]
    assert refusal.flags & 64 and refusal.content == t(KO, "discord.meeting.not_in_voice")
    await adapter.tree._call(slash(client, "meeting start"))  # alice again: already running, privately
    assert http.calls[-1].flags & 64
    assert http.calls[-1].content == t(
        KO, "discord.meeting.already_running", channel=f"<#{VOICE_CHANNEL_ID}>"
    )
    await adapter.tree._call(slash(client, "meeting stop"))  # the starter, in the channel
    assert adapter.recorder.active(GUILD_ID) is None
    assert [type(e).__name__ for e in engine.events] == ["CommandInvoked", "FileUploaded"]


async def test_the_channel_emptying_stops_and_hands_over_in_the_text_channel(
    http, client, make_adapter, capture
):
    guild = add_guild(client)
    adapter, engine = _adapter(make_adapter, http, capture)
    await adapter.tree._call(slash(client, "meeting start"))
    voice_channel = guild.get_channel(VOICE_CHANNEL_ID)
    bob = guild.get_member(BOB)
    guild._voice_states.pop(BOB)
    await adapter.on_voice_state_update(
        bob, SimpleNamespace(channel=voice_channel), SimpleNamespace(channel=None)
    )
    assert adapter.recorder.active(GUILD_ID) is not None  # alice is still there
    alice = guild.get_member(ALICE)
    guild._voice_states.pop(ALICE)
    await adapter.on_voice_state_update(
        alice, SimpleNamespace(channel=voice_channel), SimpleNamespace(channel=None)
    )
    assert adapter.recorder.active(GUILD_ID) is None
    assert [type(e).__name__ for e in engine.events] == ["CommandInvoked", "FileUploaded"]
    stopped = [c for c in http.calls if c.path == f"/channels/{TEXT_CHANNEL_ID}/messages"]
    assert stopped[0].content == t(
        KO, "discord.meeting.stopped_empty", minutes=1, channel=f"<#{VOICE_CHANNEL_ID}>"
    )


async def test_the_maximum_duration_stops_the_meeting(http, client, make_adapter, capture):
    add_guild(client)
    adapter, engine = _adapter(make_adapter, http, capture, meeting_max_duration_s=0.3)
    await adapter.tree._call(slash(client, "meeting start"))
    async with asyncio.timeout(10):
        while len(engine.events) < 2:
            await asyncio.sleep(0.05)
    assert adapter.recorder.active(GUILD_ID) is None
    assert any(t(KO, "discord.meeting.stopped_max", minutes=1, channel="")[:20] in x for x in http.texts())


async def test_start_outside_a_voice_channel_and_stop_without_a_meeting_explain(
    http, client, make_adapter, capture
):
    add_guild(client, in_voice=())
    adapter, _ = _adapter(make_adapter, http, capture)
    await adapter.tree._call(slash(client, "meeting start"))
    assert http.calls[-1].content == t(KO, "discord.meeting.not_in_voice")
    assert http.calls[-1].flags & 64
    await adapter.tree._call(slash(client, "meeting stop"))
    assert http.calls[-1].content == t(KO, "discord.meeting.not_running")
    assert http.calls[-1].flags & 64
    assert capture.joined == []


async def test_lost_audio_is_posted_in_the_channel_once_and_kept_in_the_notes(
    http, client, make_adapter, capture
):
    from adapters.discord.voice.health import HealthReport, SpeakerHealth

    add_guild(client)
    adapter, engine = _adapter(make_adapter, http, capture)
    await adapter.tree._call(slash(client, "meeting start"))
    bad = SpeakerHealth(received=1000, decrypted=800, dropped=200, lost=30, concealed=20)
    report = HealthReport(interval={BOB: bad}, totals={BOB: bad}, losing=(BOB,))
    posted_before = len(http.texts())
    for _ in range(3):  # three reports in a row: one post, three notes
        await asyncio.to_thread(capture.on_health, report)
    await asyncio.sleep(0.1)
    warnings = [x for x in http.texts()[posted_before:] if x.startswith("⚠️")]
    assert warnings == [t(KO, "platforms.capture_losing", names="bob/../밥", percent=20)]

    await adapter.tree._call(slash(client, "meeting stop"))
    upload = engine.events[-1]
    with zipfile.ZipFile(upload.file.path) as zf:
        notes = zf.read("notes.txt").decode()
    assert notes.startswith("capture health:")
    assert "alice: received " in notes and "bob .. 밥: received " in notes
    assert notes.count("audio lost from bob/../밥 (20 %)") == 3


async def test_the_import_result_is_a_plain_channel_message_not_an_interaction_follow_up(
    http, client, make_adapter, capture
):
    from core.domain.actions import SendText

    add_guild(client)
    engine = ScriptedEngine(http, {"FileUploaded": [SendText(text="회의 요약: 결정 2건")]})
    adapter = make_adapter(engine, start_capture=capture.start, connect_voice=capture.connect)
    await adapter.tree._call(slash(client, "meeting start"))
    before = len(http.calls)
    await adapter.tree._call(slash(client, "meeting stop"))
    result = next(c for c in http.calls[before:] if c.content == "회의 요약: 결정 2건")
    # POST /channels/<id>/messages: no interaction token, so no 15-minute limit on a long import.
    assert result.method == "POST" and result.path == f"/channels/{TEXT_CHANNEL_ID}/messages"
    stop_lines = [c for c in http.calls[before:] if c.content.startswith("⏹️")]
    assert len(stop_lines) == 1 and stop_lines[0].path.startswith("/webhooks/")  # the interaction's answer
