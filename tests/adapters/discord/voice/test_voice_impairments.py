"""The receive path under network impairments: reordering, jitter, a stall then a burst, loss.

One speaker's 20 s (with a 2 s pause) goes through the real pipeline (RTP, transport AEAD, jitter buffer,
libopus, track writer) with arrival times from each impairment, replayed faster than real time. The track
is compared frame by frame (20 ms) with the same stream received clean: a frame counts as damaged when it
differs from the clean capture by more than a tenth of its energy. Every impairment must damage under 1 %
of the frames that arrived (lost frames are concealed, and counted apart).
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Callable

import numpy as np
import pytest
from discord_voice_fakes import FRAME, SAMPLE_RATE, FakeSpeaker, encode_opus, on_meeting_clock, voice_like

from adapters.discord.voice.dave import DaveFrameDecryptor
from adapters.discord.voice.jitter import JitterBuffer
from adapters.discord.voice.opus import OpusDecoder
from adapters.discord.voice.receiver import ReceiveStats, VoiceReceiver
from adapters.discord.voice.transport import XCHACHA20, make_cipher

SSRC, USER = 5, 42
PAUSE = range(400, 500)  # frames 8-10 s: nobody speaks, the RTP clock runs on
SOURCE = voice_like(20.0, seed=11)
FRAMES = encode_opus(SOURCE)
Schedule = list[tuple[float, int]]  # (arrival s, frame index)


def _ideal() -> Schedule:
    return [(0.5 + 0.02 * i, i) for i in range(len(FRAMES)) if i not in PAUSE]


def _capture(tmp_path, name: str, schedule: Schedule) -> tuple[np.ndarray, ReceiveStats]:
    key = os.urandom(32)
    receiver = VoiceReceiver(
        tmp_path / name, cipher=lambda: make_cipher(XCHACHA20, key), dave=DaveFrameDecryptor(lambda: None)
    )
    receiver.map_ssrc(SSRC, USER)
    speaker = FakeSpeaker(SSRC, make_cipher(XCHACHA20, key))
    packets = {i: speaker.packet(FRAMES[i], frame_index=i) for i in range(len(FRAMES)) if i not in PAUSE}
    receiver.start()
    for at, index in sorted(schedule):
        receiver.on_packet_at(packets[index], receiver.clock.start + at)
    result = receiver.stop()
    (track,) = result.tracks
    return on_meeting_clock(track.path, track.spans, 23 * SAMPLE_RATE), result.stats


def _lag(track: np.ndarray, clean: np.ndarray) -> int:
    """The one shift (under 40 ms) that best lines ``track`` up with ``clean``: where a stream starts
    depends on its first packet's own delay, which no receiver can know; what matters is what follows."""
    a, b = track[: 8 * SAMPLE_RATE].astype(np.float64), clean[: 8 * SAMPLE_RATE].astype(np.float64)
    n = 1 << (len(a) * 2 - 1).bit_length()
    corr = np.fft.irfft(np.fft.rfft(a, n) * np.conj(np.fft.rfft(b, n)), n)
    lags = np.r_[0:1920, n - 1920 : n]
    best = int(lags[np.argmax(corr[lags])])
    return best if best < n // 2 else best - n


def _damaged(track: np.ndarray, clean: np.ndarray, frames: set[int]) -> float:
    """The fraction of ``frames`` (by index, placed where the clean capture has them) that differ."""
    start = int(np.flatnonzero(clean)[0])  # where frame 0 starts on the meeting clock
    track = np.roll(track, -_lag(track, clean))
    bad = 0
    for i in frames:
        a = track[start + i * FRAME : start + (i + 1) * FRAME].astype(np.float64)
        b = clean[start + i * FRAME : start + (i + 1) * FRAME].astype(np.float64)
        if np.sum((a - b) ** 2) > 0.1 * max(np.sum(b**2), 1.0):
            bad += 1
    return bad / len(frames)


def _reorder(s: Schedule) -> Schedule:  # one packet in 25 delayed behind its successor
    out = list(s)
    for k in range(10, len(out) - 1, 25):
        (_a, i), (b, _j) = out[k], out[k + 1]
        out[k] = (b + 0.001, i)
    return out


def _jitter(s: Schedule) -> Schedule:  # 0-15 ms on every packet, 40 ms on a few
    rng = random.Random(3)
    return [(at + rng.uniform(0, 0.015) + (0.04 if rng.random() < 0.02 else 0.0), i) for at, i in s]


def _stall(s: Schedule) -> Schedule:  # 600 ms without a packet, then all of them at once
    return [(5.6 + (at - 5.0) / 40 if 5.0 <= at < 5.6 else at, i) for at, i in s]  # 0.5 ms apart


def _loss(s: Schedule) -> Schedule:  # one packet in 100, never two in a row
    return [(at, i) for k, (at, i) in enumerate(s) if k % 100 != 37]


IMPAIRMENTS: dict[str, Callable[[Schedule], Schedule]] = {
    "reorder": _reorder,
    "jitter": _jitter,
    "stall": _stall,
    "loss": _loss,
    "all": lambda s: _loss(_stall(_jitter(_reorder(s)))),
}


def _arrival_order(schedule: Schedule) -> np.ndarray:
    """The baseline: decoded in arrival order and placed by arrival time (no jitter buffer)."""
    decoder = OpusDecoder(1)
    track = np.zeros(23 * SAMPLE_RATE, dtype=np.int16)
    for at, i in sorted(schedule):
        pcm = decoder.decode(FRAMES[i])[:, 0]
        start = round(at * SAMPLE_RATE)
        track[start : start + len(pcm)] = pcm
    return track


@pytest.mark.slow
async def test_impairments_damage_under_one_percent_of_every_track(tmp_path):
    clean, _ = await asyncio.to_thread(_capture, tmp_path, "clean", _ideal())
    sent = {i for _at, i in _ideal()}
    for name, impair in IMPAIRMENTS.items():
        schedule = impair(_ideal())
        track, stats = await asyncio.to_thread(_capture, tmp_path, name, schedule)
        arrived = {i for _at, i in schedule}
        damaged = _damaged(track, clean, arrived)
        baseline = _damaged(_arrival_order(schedule), _arrival_order(_ideal()), arrived)
        print(
            f"\n{name}: {100 * damaged:.2f} % of {len(arrived)} frames damaged (arrival order: "
            f"{100 * baseline:.2f} %), lost {stats.lost_frames}, concealed {stats.frames_concealed}, "
            f"late {stats.late_packets}, resyncs {stats.resyncs}"
        )
        assert damaged < 0.01, name
        assert stats.frames_concealed == stats.lost_frames == len(sent - arrived), name
        assert stats.late_packets == 0, name


def test_the_jitter_buffer_reorders_conceals_and_tells_a_stall_from_a_clock_jump():
    buffer = JitterBuffer(window=4 * FRAME, resync=12_000)
    out = buffer.push(100, 0, 1000, b"a")
    assert [(r.position, r.payload) for r in out] == [(1000, b"a")]
    assert buffer.push(102, 2 * FRAME, 1000 + 2 * FRAME, b"c") == []  # waits for 101
    out = buffer.push(101, FRAME, 1000 + 2 * FRAME + 50, b"b")  # arrives late but inside the window
    assert [(r.position, r.payload) for r in out] == [(1000 + FRAME, b"b"), (1000 + 2 * FRAME, b"c")]
    assert buffer.push(101, FRAME, 1000 + 3 * FRAME, b"b") == [] and buffer.stats.late == 1
    # 104 lost: 105 arrives and waits; after the window 104 is concealed from 105's FEC.
    assert buffer.push(105, 5 * FRAME, 1000 + 5 * FRAME, b"f") == []
    out = buffer.release(1000 + 9 * FRAME)
    assert [(r.position, r.payload, r.fec) for r in out][-3:] == [
        (1000 + 3 * FRAME, None, None),
        (1000 + 4 * FRAME, None, b"f"),
        (1000 + 5 * FRAME, b"f", None),
    ]
    assert buffer.stats.concealed == buffer.stats.lost == 2
    # A sender whose RTP clock stopped over a 5 s pause: re-anchored on arrival, paced packets follow.
    pause = 1000 + 5 * FRAME + 5 * SAMPLE_RATE
    for k in range(5):
        buffer.push(106 + k, (6 + k) * FRAME, pause + k * FRAME, b"p")
    assert buffer.stats.resyncs == 1
    # A 600 ms stall then a burst: the burst keeps its RTP places.
    base = 1000 + 10 * FRAME + 5 * SAMPLE_RATE
    released = []
    for k in range(40):
        at = base + k * FRAME if k < 10 else base + 40 * FRAME + k
        released += buffer.push(111 + k, (11 + k) * FRAME, at, b"s")
    released += buffer.drain()
    assert buffer.stats.resyncs == 1
    positions = [r.position for r in released if r.payload == b"s"]
    assert positions == [positions[0] + k * FRAME for k in range(40)]


@pytest.mark.parametrize("ppm", [-500, 500])
def test_clock_drift_keeps_a_long_stream_with_its_arrival(ppm: int) -> None:
    """A sender clock 500 ppm off ours: 0.9 s over 30 minutes, followed in steps under 40 ms."""
    buffer = JitterBuffer()
    worst = 0
    for k in range(90_000):  # 30 minutes of 20 ms packets
        arrival = round(k * FRAME * (1 + ppm / 1e6))
        for release in buffer.push(k % 65536, (k * FRAME) % (1 << 32), arrival, b"x"):
            worst = max(worst, abs(release.position - arrival))
    assert buffer.stats.drift_adjustments > 0 and buffer.stats.resyncs == 0
    assert worst <= 2 * 1920  # never more than 80 ms from where it arrived (a jitter-free arrival)
