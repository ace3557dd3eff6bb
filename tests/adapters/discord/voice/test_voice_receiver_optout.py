"""Receiver without a network: opted-out users are never decoded, and forgetting deletes a track."""

from __future__ import annotations

import os
import time

from discord_voice_fakes import FakeSpeaker, encode_opus, voice_like

from adapters.discord.voice.dave import DaveFrameDecryptor
from adapters.discord.voice.receiver import VoiceReceiver
from adapters.discord.voice.transport import XCHACHA20, make_cipher


def test_opted_out_user_is_not_captured_and_forget_deletes_the_track(tmp_path):
    key = os.urandom(32)
    opted_out = {20}
    receiver = VoiceReceiver(
        tmp_path,
        cipher=lambda: make_cipher(XCHACHA20, key),
        dave=DaveFrameDecryptor(lambda: None),
        is_captured=lambda uid: uid not in opted_out,
    )
    receiver.map_ssrc(1, 10)
    receiver.map_ssrc(2, 20)
    receiver.start()
    frames = encode_opus(voice_like(0.2, seed=3))
    for ssrc in (1, 2):
        speaker = FakeSpeaker(ssrc, make_cipher(XCHACHA20, key))
        for i, opus in enumerate(frames):
            receiver.on_packet(speaker.packet(opus, frame_index=i))
    receiver.on_packet(b"\x80\x78" + bytes(10))  # header only: too short for the AEAD tag
    deadline = time.monotonic() + 10
    while receiver.stats.transport_failed == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert (tmp_path / "10.ogg").exists()
    opted_out.add(10)
    receiver.forget_user(10)
    result = receiver.stop()
    assert result.tracks == ()
    assert not (tmp_path / "10.ogg").exists()
    assert not (tmp_path / "20.ogg").exists()
    assert result.stats.not_captured == len(frames)
    assert result.stats.frames_decoded == len(frames)
    assert result.stats.transport_failed == 1


async def test_a_leaving_users_queued_audio_is_kept_when_op_13_comes(tmp_path):
    key = os.urandom(32)
    receiver = VoiceReceiver(
        tmp_path, cipher=lambda: make_cipher(XCHACHA20, key), dave=DaveFrameDecryptor(lambda: None)
    )
    await receiver.on_gateway_message({"op": 5, "d": {"user_id": "10", "ssrc": 1, "speaking": 1}})
    frames = encode_opus(voice_like(0.4, seed=2))
    speaker = FakeSpeaker(1, make_cipher(XCHACHA20, key))
    for i, opus in enumerate(frames):  # queued before the worker runs ...
        receiver.on_packet_at(speaker.packet(opus, frame_index=i), receiver.clock.start + 0.02 * i)
    await receiver.on_gateway_message({"op": 13, "d": {"user_id": "10"}})  # ... then they leave
    receiver.start()
    result = receiver.stop()
    assert result.stats.buffered_unknown == 0  # none of their audio was orphaned
    assert result.stats.frames_decoded == len(frames)
    assert receiver.ssrcs.user_for(1) is None  # and their SSRC is unmapped afterwards
