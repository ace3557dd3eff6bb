"""Capture health through the real receiver, and the DAVE recovery the capture runs on the event loop."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from tests.support.extras import need

need("davey")

from discord_voice_fakes import FakeMlsVoiceServer, FakeSpeaker, encode_opus, voice_like

from adapters.discord.voice.capture import LiveCapture
from adapters.discord.voice.dave import DaveFrameDecryptor
from adapters.discord.voice.health import HealthReport
from adapters.discord.voice.receiver import CaptureOptions, VoiceReceiver
from adapters.discord.voice.transport import XCHACHA20, make_cipher

BOT, ALICE, BOB = 1000, 2001, 2002


def test_a_speaker_whose_frames_cannot_be_decrypted_is_reported_losing_audio(tmp_path):
    sessions = FakeMlsVoiceServer().group(77, [BOT, ALICE, BOB])
    outsider = FakeMlsVoiceServer().group(78, [BOB, 3003])[BOB]  # Bob's frames under keys the bot lacks
    key = os.urandom(32)
    reports: list[HealthReport] = []
    receiver = VoiceReceiver(
        tmp_path,
        cipher=lambda: make_cipher(XCHACHA20, key),
        dave=DaveFrameDecryptor(lambda: sessions[BOT]),
        options=CaptureOptions(health_interval_s=0.2, losing_min_frames=20),
        on_health=reports.append,
    )
    receiver.map_ssrc(1, ALICE)
    receiver.map_ssrc(2, BOB)
    frames = encode_opus(voice_like(2.0, seed=4))
    alice = FakeSpeaker(1, make_cipher(XCHACHA20, key), dave=sessions[ALICE])
    bob = FakeSpeaker(2, make_cipher(XCHACHA20, key), dave=sessions[BOB])
    bob_lost = FakeSpeaker(2, make_cipher(XCHACHA20, key), dave=outsider)
    receiver.start()
    start = receiver.clock.start
    for i, opus in enumerate(frames):
        receiver.on_packet_at(alice.packet(opus, frame_index=i), start + 0.02 * i)
        sender = bob_lost if i % 4 == 0 else bob  # a quarter of Bob's frames cannot be decrypted
        bob_lost.sent = bob.sent = max(bob.sent, bob_lost.sent)
        receiver.on_packet_at(sender.packet(opus, frame_index=i), start + 0.02 * i)
    deadline = time.monotonic() + 10
    while not any(r.losing for r in reports) and time.monotonic() < deadline:
        time.sleep(0.05)
    result = receiver.stop()
    assert any(r.losing == (BOB,) for r in reports)  # Alice is fine, Bob is losing audio
    bob_health, alice_health = result.health[BOB], result.health[ALICE]
    assert bob_health.received == len(frames) and bob_health.dropped == len(frames) // 4
    assert bob_health.decrypted == len(frames) - len(frames) // 4
    assert alice_health.dropped == 0 and alice_health.missing_ratio == 0.0
    assert 0.2 < bob_health.missing_ratio < 0.3


class _Handle:
    def __init__(self) -> None:
        self.calls: list[Any] = []

    async def recover_dave(self, transition_id: int) -> None:
        self.calls.append(("op31", transition_id))

    async def reinit_dave(self) -> None:
        self.calls.append("reinit")


class _Receiver:
    async def on_gateway_message(self, message: Any) -> None:
        pass


async def test_a_stuck_dave_session_is_recovered_on_the_event_loop():
    handle = _Handle()
    capture = LiveCapture(handle, keepalive=None)  # type: ignore[arg-type]
    capture.receiver = _Receiver()  # type: ignore[assignment]
    await capture._on_gateway({"op": 21, "d": {"transition_id": 7, "protocol_version": 1}})
    await asyncio.to_thread(capture.dave_stuck, 1)  # called from the receive worker thread
    await asyncio.to_thread(capture.dave_stuck, 2)
    for future in capture._recoveries:
        await asyncio.wrap_future(future)
    assert handle.calls == [("op31", 7), "reinit"]  # discord.py's recovery first, then re-initialise
