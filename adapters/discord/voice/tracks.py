"""The meeting clock and the placement of each SSRC's RTP timestamps on it (storage: ``storage.py``)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from adapters.discord.voice.opus import SAMPLE_RATE


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
