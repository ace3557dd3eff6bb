"""End to end: fake speakers send DAVE + transport-encrypted RTP over UDP on 127.0.0.1 into discord.py's
real VoiceConnectionState socket reader and voice-gateway hook; the capture writes per-speaker tracks."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import threading
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from tests.support.extras import need

need("discord")
need("davey")

from discord_voice_fakes import (
    FRAME,
    SAMPLE_RATE,
    FakeMlsVoiceServer,
    FakeSpeaker,
    best_lag_correlation,
    encode_opus,
    on_meeting_clock,
    voice_like,
)

from adapters.discord.voice import start_capture
from adapters.discord.voice.transport import AES256_GCM, XCHACHA20, make_cipher

CHANNEL, BOT, ALICE, BOB = 777, 1000, 2001, 2002
ALICE_SSRC, BOB_SSRC = 11, 22
OPUS_DELAY = 312  # libopus decoder delay (pre-skip) at 48 kHz, in samples
TOLERANCE = round(0.040 * SAMPLE_RATE)  # 40 ms


def _connection(mode: str, key: bytes, dave: Any) -> tuple[Any, socket.socket, socket.socket]:
    """A real discord.py VoiceConnectionState on a real UDP socket, as after a voice handshake."""
    from discord.gateway import DiscordVoiceWebSocket
    from discord.voice_state import VoiceConnectionState

    remote = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    remote.bind(("127.0.0.1", 0))
    local = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    local.bind(("127.0.0.1", 0))
    local.connect(remote.getsockname())
    local.setblocking(False)
    client = SimpleNamespace()
    state = VoiceConnectionState(client)  # type: ignore[arg-type]
    client._connection = state
    state.socket, state.mode, state.secret_key = local, mode, list(key)
    state.dave_session, state.dave_protocol_version = dave, 1
    ws = DiscordVoiceWebSocket(None, asyncio.get_running_loop())  # type: ignore[arg-type]
    ws._connection = state
    state.ws = ws
    state._socket_reader.resume()  # what _create_socket does after the handshake
    return client, local, remote


@pytest.mark.slow
@pytest.mark.parametrize("mode", [XCHACHA20, AES256_GCM])
async def test_two_speakers_with_gaps_loss_late_mapping_and_garbage(tmp_path, mode):
    server = FakeMlsVoiceServer()
    sessions = server.group(CHANNEL, [BOT, ALICE, BOB])
    outsider = server.group(CHANNEL + 1, [ALICE, 3003])[ALICE]  # keys the bot never got (a key change)
    key = os.urandom(32)
    client, local, remote = _connection(mode, key, sessions[BOT])
    alice = FakeSpeaker(ALICE_SSRC, make_cipher(mode, key), dave=sessions[ALICE], csrcs=(5,))
    bob = FakeSpeaker(BOB_SSRC, make_cipher(mode, key), dave=sessions[BOB], timestamps_advance_in_gaps=False)
    stranger = FakeSpeaker(ALICE_SSRC, make_cipher(mode, key), dave=outsider)
    forged = FakeSpeaker(BOB_SSRC, make_cipher(mode, os.urandom(32)), dave=sessions[BOB])

    # (speaker, first frame index on the speaker's clock, meeting start in s, duration in s, lost frames)
    segments = [
        (alice, 0, 0.30, 0.9, range(20, 23)),
        (bob, 0, 0.80, 0.9, range(0)),
        (alice, 85, 2.00, 0.7, range(0)),
        (bob, 45, 2.40, 0.6, range(0)),
    ]
    sources = [voice_like(duration, seed=i + 1) for i, (*_, duration, _l) in enumerate(segments)]
    schedule: list[tuple[float, bytes, int | None]] = []  # (meeting time, datagram, segment index)
    for index, ((speaker, first, start, _d, lost), pcm) in enumerate(zip(segments, sources, strict=True)):
        for k, opus in enumerate(encode_opus(pcm)):
            datagram = speaker.packet(opus, frame_index=first + k)
            if k not in lost:
                schedule.append((start + 0.02 * k, datagram, index if k == 0 else None))
    # Fixed "random" bytes: truly random ones look like RTCP (second byte 200-204) about 1 run in 50.
    noise = random.Random(20261121)
    garbage = [b"", b"\x80", noise.randbytes(7), b"\x00" * 74, noise.randbytes(200), b"\x81\xc9" + bytes(30)]
    garbage += [forged.packet(b"\xfc\xff\xfe", frame_index=i) for i in range(3)]
    schedule += [(1.45 + 0.01 * i, g, None) for i, g in enumerate(garbage)]
    opus_filler = encode_opus(voice_like(0.1, seed=9))
    schedule += [
        (1.6 + 0.02 * i, stranger.packet(o, frame_index=60 + i), None) for i, o in enumerate(opus_filler)
    ]
    schedule.sort(key=lambda item: item[0])

    capture = start_capture(client, tmp_path / "tracks", keepalive_interval_s=0.5)
    clock = capture.receiver.clock
    sent_at: dict[int, float] = {}

    def send_all() -> None:
        for at, datagram, index in schedule:
            delay = clock.start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if index is not None:
                sent_at[index] = time.monotonic() - clock.start
            remote.sendto(datagram, local.getsockname())

    sender = threading.Thread(target=send_all)
    sender.start()
    ws = client._connection.ws
    await ws.received_message({"op": 5, "d": {"user_id": str(ALICE), "ssrc": ALICE_SSRC, "speaking": 1}})
    await asyncio.sleep(1.2)  # Bob has been talking for 0.4 s before Discord tells us who he is
    await ws.received_message({"op": 5, "d": {"user_id": str(BOB), "ssrc": BOB_SSRC, "speaking": 1}})
    await asyncio.to_thread(sender.join)
    await asyncio.sleep(0.3)
    result = await capture.stop()
    client._connection._socket_reader.stop()

    keepalives = []
    remote.setblocking(False)
    while True:
        try:
            keepalives.append(remote.recv(64))
        except BlockingIOError:
            break
    local.close()
    remote.close()

    tracks = {t.user_id: t for t in result.tracks}
    assert set(tracks) == {ALICE, BOB}
    length = round(result.duration_s * SAMPLE_RATE)
    assert length >= round(3.0 * SAMPLE_RATE)
    # Each track is its speaker's speech only (OGG/Opus), placed on the meeting clock by its timeline.
    audio = {uid: on_meeting_clock(track.path, track.spans, length) for uid, track in tracks.items()}
    assert all(track.path.read_bytes()[:4] == b"OggS" for track in tracks.values())
    assert all(track.samples < length for track in tracks.values())  # no silence stored before speech

    for index, ((speaker, _f, _start, _d, lost), pcm) in enumerate(zip(segments, sources, strict=True)):
        track = audio[ALICE if speaker is alice else BOB]
        expected = round(sent_at[index] * SAMPLE_RATE)
        check = pcm[: FRAME * lost.start] if lost else pcm  # compare what was not lost
        lag, corr = best_lag_correlation(track, check, expected, max_lag=TOLERANCE)
        print(f"segment {index}: lag {1000 * lag / SAMPLE_RATE:.1f} ms, correlation {corr:.3f}")
        assert corr > 0.8, (index, corr)
        assert abs(lag) <= TOLERANCE, (index, lag)
        if lost:  # lost packets are concealed (libopus PLC/FEC), not a hole of silence
            gap = expected + lag - OPUS_DELAY + FRAME * lost.start
            concealed = track[gap + 400 : gap + FRAME * len(lost) - 400].astype(np.float64)
            assert np.sqrt(np.mean(concealed**2)) > 0.05 * np.sqrt(np.mean(check.astype(np.float64) ** 2))

    silent_before = round(sent_at[0] * SAMPLE_RATE) - TOLERANCE
    assert not audio[ALICE][:silent_before].any()
    stats = result.stats
    assert stats.frames_concealed == 3 and stats.lost_frames == 3
    assert stats.rtcp == 1
    assert stats.malformed >= 4  # empty, 1-byte, 7-byte, IP-discovery-shaped (+ random bytes, mostly)
    assert stats.transport_failed >= 3  # the forged-key packets (+ random bytes that look like RTP)
    assert stats.malformed + stats.transport_failed == len(garbage) - 1  # every bad datagram counted
    assert stats.buffered_unknown >= 15  # Bob's first 0.4 s waited for SPEAKING
    assert stats.dave_dropped == len(opus_filler)  # frames under keys the bot does not hold
    assert stats.dave.decrypted >= 100
    assert stats.resyncs >= 1  # Bob's timestamps stop during his pause
    assert len(keepalives) >= 2
    assert all(len(k) == 8 for k in keepalives)
