"""Per-speaker tracks on one meeting clock, written to disk as they arrive.

Every track starts at meeting time 0, holds silence where its speaker did not speak, and is a valid WAV
file after every flush: the RIFF and data sizes are patched in place each time, so a crash keeps everything
captured up to the last flush. A short in-memory window absorbs reordered packets before they are committed.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from adapters.discord.voice.opus import SAMPLE_RATE

_WAV_HEADER_SIZE = 44
_SILENCE_CHUNK = SAMPLE_RATE  # write long silences one second at a time


@dataclass(slots=True)
class MeetingClock:
    """Meeting time in samples since ``start`` (a ``time.monotonic()`` reading)."""

    start: float = field(default_factory=time.monotonic)
    sample_rate: int = SAMPLE_RATE

    def position(self, arrival: float) -> int:
        """The sample index on the meeting clock of a monotonic time."""
        return round((arrival - self.start) * self.sample_rate)


class StreamAligner:
    """Places one SSRC's RTP timestamps on the meeting clock.

    Within a talk spurt the RTP timestamp is exact (no network jitter). When the RTP clock and the arrival
    time disagree by more than ``resync_samples`` (a sender whose timestamps stop during pauses, as
    discord.py's do, or a new SSRC), the stream re-anchors on the arrival time.
    """

    def __init__(self, resync_samples: int) -> None:
        self._resync = resync_samples
        self._last_ts: int | None = None
        self._last_pos = 0
        self.resyncs = 0

    def position(self, rtp_timestamp: int, arrival_pos: int) -> int:
        """Meeting-clock sample index where this packet's audio starts."""
        if self._last_ts is None:
            pos = arrival_pos
        else:
            delta = (rtp_timestamp - self._last_ts) & 0xFFFFFFFF
            if delta >= 1 << 31:  # reordered packet: a negative step
                delta -= 1 << 32
            pos = self._last_pos + delta
            if abs(pos - arrival_pos) > self._resync:
                pos = arrival_pos
                self.resyncs += 1
        self._last_ts, self._last_pos = rtp_timestamp, pos
        return pos


def _wav_header(channels: int, sample_rate: int, data_bytes: int) -> bytes:
    block = 2 * channels
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * block, block, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


class WavTrackWriter:
    """One speaker's 16-bit PCM WAV track; ``write_at`` places audio by meeting-clock sample index."""

    def __init__(
        self, path: Path, *, channels: int, window_samples: int, sample_rate: int = SAMPLE_RATE
    ) -> None:
        self.path = path
        self.channels = channels
        self.sample_rate = sample_rate
        self._window = window_samples
        self._file: BinaryIO = path.open("wb")
        self._file.write(_wav_header(channels, sample_rate, 0))
        self._committed = 0  # samples on disk
        self._pending = np.zeros((0, channels), dtype=np.int16)  # samples from _committed on
        self.late_samples = 0
        self.first_audio: int | None = None

    def write_at(self, position: int, pcm: np.ndarray) -> None:
        """Place ``pcm`` (``(n, channels)`` int16) at ``position``; earlier than committed is late."""
        if position < self._committed:
            skip = self._committed - position
            self.late_samples += min(skip, len(pcm))
            pcm, position = pcm[skip:], self._committed
        if not len(pcm):
            return
        if self.first_audio is None or position < self.first_audio:
            self.first_audio = position
        end = position + len(pcm)
        if end - self._committed > 4 * self._window:  # a long silence before this: commit it first
            self.commit(min(position, end - self._window))
        needed = end - self._committed
        if needed > len(self._pending):
            grown = np.zeros((needed, self.channels), dtype=np.int16)
            grown[: len(self._pending)] = self._pending
            self._pending = grown
        start = position - self._committed
        self._pending[start : start + len(pcm)] = pcm

    def commit(self, up_to: int) -> None:
        """Write everything before sample ``up_to`` to disk (silence where nothing was placed)."""
        count = up_to - self._committed
        if count <= 0:
            return
        have = min(count, len(self._pending))
        if have:
            self._file.write(self._pending[:have].tobytes())
            self._pending = self._pending[have:]
        silence = count - have
        while silence > 0:
            chunk = min(silence, _SILENCE_CHUNK)
            self._file.write(bytes(2 * self.channels * chunk))
            silence -= chunk
        self._committed = up_to

    def flush(self, now: int) -> None:
        """Commit audio older than the reorder window and make the file a valid WAV up to there."""
        self.commit(now - self._window)
        self._patch_header()

    def close(self, end: int) -> int:
        """Pad to ``end`` (the meeting length), write everything, fix the header; returns total samples."""
        self.commit(max(end, self._committed + len(self._pending)))
        self._patch_header()
        self._file.close()
        return self._committed

    @property
    def samples_written(self) -> int:
        """Samples committed to disk so far."""
        return self._committed

    def _patch_header(self) -> None:
        data_bytes = 2 * self.channels * self._committed
        self._file.seek(0)
        self._file.write(_wav_header(self.channels, self.sample_rate, data_bytes))
        self._file.seek(0, 2)
        self._file.flush()
