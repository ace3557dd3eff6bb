"""A 30-minute, 4-speaker live meeting through the real receive path and hand-over into the real engine.

Every datagram goes through transport AEAD, a real DAVE group, Opus decoding and the OGG/Opus track writer,
replayed faster than real time with the arrival times of a 30-minute meeting; ``/meeting stop`` hands the
capture to the real engine (the meeting flow, its ``meeting_import`` job, the pipeline), with limits on
users' uploads far below the meeting (1 MB, 10 minutes). Only speech recognition is a deterministic fake.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support.extras import need

need("davey")

from discord_voice_fakes import FakeMlsVoiceServer, FakeSpeaker, encode_opus, voice_like

from adapters.discord.voice.dave import DaveFrameDecryptor
from adapters.discord.voice.receiver import VoiceReceiver
from adapters.discord.voice.transport import XCHACHA20, make_cipher
from bot.wiring import running_app
from core.domain.meetings import MeetingScope, MeetingStatus
from tests.adapters.discord.fakes import ALICE, BOB, GUILD_ID, slash
from tests.adapters.discord.test_meetings import FakeVoiceClient, add_guild
from tests.support.app import make_settings
from tests.support.stt import FakeSpeechToText

CHANNEL, BOT, CAROL, DAN = 777, 1000, 2003, 2004
SPEAKERS = (ALICE, BOB, CAROL, DAN)
MEETING_S = 30 * 60


def _turns(seed: int = 7) -> list[tuple[int, float, float]]:
    """(speaker, start s, length s): everyday turn taking, 3-25 s turns, 0.3-3 s pauses, 30 minutes."""
    rng = random.Random(seed)
    turns, at = [], 1.0
    while at < MEETING_S - 30:
        length = rng.uniform(3, 25)
        turns.append((rng.choice(SPEAKERS), at, length))
        at += length + rng.uniform(0.3, 3.0)
    return turns


class ReplayCapture:
    """``start_capture`` for the adapter: a real VoiceReceiver fed the whole meeting's datagrams."""

    def __init__(self) -> None:
        self.turns = _turns()
        self.sent_frames = 0

    async def connect(self, channel: Any, timeout_s: float) -> FakeVoiceClient:
        return FakeVoiceClient(channel)

    def start(self, voice_client: Any, directory: Path, *, is_captured: Any, on_health: Any = None) -> Any:
        sessions = FakeMlsVoiceServer().group(CHANNEL, [BOT, *SPEAKERS])
        key = os.urandom(32)
        receiver = VoiceReceiver(
            directory,
            cipher=lambda: make_cipher(XCHACHA20, key),
            dave=DaveFrameDecryptor(lambda: sessions[BOT]),
            is_captured=is_captured,
        )
        senders = {}
        for ssrc, uid in enumerate(SPEAKERS, 1):
            receiver.map_ssrc(ssrc, uid)
            senders[uid] = FakeSpeaker(ssrc, make_cipher(XCHACHA20, key), dave=sessions[uid])
        # Cheap synthesis: ten seconds of each voice encoded once, its frames cycled.
        phrases = {uid: encode_opus(voice_like(10.0, seed=i + 1)) for i, uid in enumerate(SPEAKERS)}
        receiver.start()
        start = receiver.clock.start
        position = dict.fromkeys(SPEAKERS, 0)
        for uid, at, length in self.turns:
            frames = round(length / 0.02)
            first = round(at / 0.02)  # the sender's RTP clock runs through pauses (WebRTC clients)
            for k in range(frames):
                opus = phrases[uid][(position[uid] + k) % len(phrases[uid])]
                receiver.on_packet_at(senders[uid].packet(opus, frame_index=first + k), start + at + 0.02 * k)
            position[uid] += frames
            self.sent_frames += frames

        async def stop() -> Any:
            while receiver.stats.packets < self.sent_frames:  # let the worker catch up with the replay
                await asyncio.sleep(0.2)
            return await asyncio.to_thread(receiver.stop)

        return SimpleNamespace(receiver=receiver, stop=stop)


@pytest.mark.slow
async def test_a_30_minute_4_speaker_meeting_is_captured_and_imported(http, client, make_adapter, tmp_path):
    settings = make_settings(tmp_path, limits={"max_audio_mb": 1, "max_audio_seconds": 600})
    async with running_app(settings, use_settings_model=False) as app:
        stt = FakeSpeechToText("오늘 회의 내용입니다")
        app.meetings.stt_factory = lambda: stt
        capture = ReplayCapture()
        add_guild(client, in_voice=(ALICE, BOB))
        adapter = make_adapter(app.engine, start_capture=capture.start, connect_voice=capture.connect)
        started = time.monotonic()
        await adapter.tree._call(slash(client, "meeting start"))
        meeting_dir = adapter.recorder.active(GUILD_ID).directory
        await adapter.tree._call(slash(client, "meeting stop"))
        elapsed = time.monotonic() - started

        (meeting,) = await app.meetings.list_meetings(MeetingScope.of_guild(str(GUILD_ID)))
        assert meeting.status is MeetingStatus.DONE, meeting.error
        zip_path = next(meeting_dir.glob("meeting-*.zip"))
        size_mb = zip_path.stat().st_size / 1e6
        talk_s = sum(length for _u, _a, length in capture.turns)
        print(
            f"\n30 min x 4 speakers: {capture.sent_frames} frames, zip {size_mb:.1f} MB, "
            f"talk {talk_s / 60:.1f} min stored, capture+import {elapsed:.0f} s"
        )
        assert (
            size_mb > 1
        )  # over the users' upload limit, imported all the same (live captures are not uploads)
        assert size_mb < 30  # compressed speech only: a WAV capture padded to the meeting would be 691 MB
        # Recognition ran on each speaker's speech only, never on 4 x 30 minutes of mostly silence. The
        # first call is the language probe (no --language: the first 30 s of speech).
        probe, *calls = stt.calls
        assert probe.seconds <= 30.0 and probe.language is None
        assert len(calls) == 4
        heard = sum(call.seconds for call in calls)
        assert abs(heard - talk_s) < 0.02 * talk_s + 4 * 1.0  # padding to whole frames per stretch
        # Each speaker's words sit where they spoke on the meeting clock (first turn start, last turn end).
        segments = await app.meetings.transcript(meeting.scope, meeting.id)
        assert segments is not None and len(segments) == len(calls)
        labels = {ALICE: "alice", BOB: "bob .. 밥", CAROL: f"user-{CAROL}", DAN: f"user-{DAN}"}
        assert {s.speaker or "" for s in segments} == set(labels.values())
        for uid in SPEAKERS:
            theirs = [(at, at + length) for u, at, length in capture.turns if u == uid]
            mine = [s for s in segments if s.speaker == labels[uid]]
            first, last = min(s.start for s in mine), max(s.end for s in mine)
            assert abs(first - theirs[0][0]) < 0.1, (uid, first, theirs[0][0])
            assert abs(last - theirs[-1][1]) < 1.1, (uid, last, theirs[-1][1])
        assert meeting.duration_s > MEETING_S - 60
        # The capture's health per speaker is kept in the meeting's notes.
        assert meeting.notes.startswith("capture health:")
        assert all(f"{label}: received " in meeting.notes for label in labels.values())
