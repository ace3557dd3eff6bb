"""A jitter buffer per SSRC: packets back in sequence order, lost frames concealed, audio placed by RTP time.

Packets arrive reordered, late, in bursts after a stall, or not at all. Per SSRC this buffer

- reorders by (extended) sequence number within ``window`` samples of arrival time: a packet waits for a
  missing predecessor at most that long; one arriving after its turn has passed is late and dropped;
- turns a short gap in the sequence (``max_conceal`` frames, with timestamps that advance by exactly the
  missing frames) into frames to conceal: libopus PLC, or in-band FEC from the packet after the gap;
- places audio on the meeting clock by RTP timestamp from an anchor (the RTP time ↔ meeting time of the
  least delayed packet), so network jitter and a stall followed by a burst put every frame back where it
  was spoken. The anchor follows clock drift (a packet over a frame "early" for the anchor moves it
  earlier; a delay that stays above ``drift`` for several seconds moves it later) and re-anchors on
  arrival when the RTP clock jumps (a new SSRC stream, a sender whose timestamps stop in pauses). A
  stall is told apart from a jump by its burst: the packets queued behind the first late one arrive
  faster than real time.

Everything is in samples at 48 kHz and runs on the receiver's worker thread (not thread-safe).
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass, field

from adapters.discord.voice.opus import FRAME_SAMPLES

_SEQ_MOD = 1 << 16
_TS_MOD = 1 << 32


@dataclass(frozen=True, slots=True)
class Release:
    """One frame to decode and place: ``payload`` None means conceal it (``fec``: the next packet)."""

    position: int
    payload: bytes | None
    fec: bytes | None = None


@dataclass(slots=True)
class JitterStats:
    """Counters of one SSRC's buffer."""

    received: int = 0
    reordered: int = 0
    late: int = 0
    duplicates: int = 0
    concealed: int = 0
    lost: int = 0
    resyncs: int = 0
    drift_adjustments: int = 0


@dataclass(order=True, slots=True)
class _Held:
    seq: int
    ts: int = field(compare=False)
    arrival: int = field(compare=False)
    payload: bytes = field(compare=False)


def _extend(value: int, last: int | None, modulus: int) -> int:
    """``value`` unwrapped next to ``last`` (RTP sequence numbers and timestamps wrap around)."""
    if last is None:
        return value
    base = last - last % modulus
    candidates = (base - modulus + value, base + value, base + modulus + value)
    return min(candidates, key=lambda c: abs(c - last))


class JitterBuffer:
    """Reorders, conceals and places one SSRC's packets."""

    def __init__(
        self,
        *,
        window: int = 4 * FRAME_SAMPLES,
        max_conceal: int = 5,
        resync: int = 12_000,
        drift: int = 1_920,
        drift_packets: int = 250,
        early: int = FRAME_SAMPLES,
    ) -> None:
        self.window = window
        self.max_conceal = max_conceal
        self.resync = resync
        self.drift = drift
        self.early = early
        self.stats = JitterStats()
        self._heap: list[_Held] = []
        self._held: set[int] = set()
        self._last_seq: int | None = None  # extended, of the last packet pushed (for unwrapping)
        self._last_ts: int | None = None
        self._expected: int | None = None  # the next sequence number to release
        self._released_ts = 0
        self._released_pos = 0
        self._anchor: tuple[int, int] | None = None  # (extended RTP timestamp, meeting position)
        self._recent: deque[int] = deque(maxlen=drift_packets)

    def push(self, seq: int, ts: int, arrival: int, payload: bytes) -> list[Release]:
        """Take one packet (arrival on the meeting clock) and return what is ready."""
        self.stats.received += 1
        seq = _extend(seq, self._last_seq, _SEQ_MOD)
        ts = _extend(ts, self._last_ts, _TS_MOD)
        if self._last_seq is None or seq > self._last_seq:
            self._last_seq, self._last_ts = seq, ts
        else:
            self.stats.reordered += 1
        if self._expected is not None and seq < self._expected:
            self.stats.late += 1
            return []
        if seq in self._held:
            self.stats.duplicates += 1
            return []
        heapq.heappush(self._heap, _Held(seq, ts, arrival, payload))
        self._held.add(seq)
        return self.release(arrival)

    def release(self, now: int) -> list[Release]:
        """Release what is in order, or has waited ``window`` (``now``: the meeting clock)."""
        out: list[Release] = []
        while self._heap:
            head = self._heap[0]
            waited = now - head.arrival >= self.window
            in_order = self._expected is None or head.seq == self._expected
            if not waited and (not in_order or self._suspicious(head)):
                break  # wait for a missing predecessor, or for the packets behind a late one
            heapq.heappop(self._heap)
            self._held.discard(head.seq)
            out.extend(self._emit(head))
        return out

    def drain(self) -> list[Release]:
        """Release everything still held (the capture is stopping)."""
        return self.release(1 << 62)

    # --- placing ----------------------------------------------------------------------------------
    def _suspicious(self, packet: _Held) -> bool:
        """A packet much later than its RTP time: wait to see whether a burst follows (a stall)."""
        if self._anchor is None:
            return False
        return packet.arrival - self._rtp_position(packet.ts) > self.resync

    def _rtp_position(self, ts: int) -> int:
        assert self._anchor is not None
        return self._anchor[1] + ts - self._anchor[0]

    def _burst_follows(self, packet: _Held) -> bool:
        """Whether the packets queued behind ``packet`` came faster than they were spoken (a stall)."""
        pacing_slack = FRAME_SAMPLES // 2
        return any(
            0 < h.seq - packet.seq <= 5 and h.arrival - packet.arrival < h.ts - packet.ts - pacing_slack
            for h in self._heap
        )

    def _place(self, packet: _Held) -> int:
        if self._anchor is None:
            self._anchor = (packet.ts, packet.arrival)
            return packet.arrival
        position = self._rtp_position(packet.ts)
        delay = packet.arrival - position
        if delay < -self.early:  # earlier than the anchor allows: the anchor packet was delayed, or drift
            self._anchor = (packet.ts, packet.arrival)
            self.stats.drift_adjustments += 1
            self._recent.clear()
            return packet.arrival
        if delay > self.resync and not self._burst_follows(packet):
            self._anchor = (packet.ts, packet.arrival)  # the RTP clock jumped
            self.stats.resyncs += 1
            self._recent.clear()
            return packet.arrival
        self._recent.append(delay)
        if len(self._recent) == self._recent.maxlen and min(self._recent) > self.drift:
            shift = min(self._recent)  # every packet of the last seconds was late: our clock runs ahead
            self._anchor = (self._anchor[0], self._anchor[1] + shift)
            self.stats.drift_adjustments += 1
            self._recent.clear()
            return position + shift
        return position

    def _emit(self, packet: _Held) -> list[Release]:
        out: list[Release] = []
        gap = 0 if self._expected is None else packet.seq - self._expected
        position = self._place(packet)
        if gap > 0:
            self.stats.lost += gap
            step = (packet.ts - self._released_ts) / (gap + 1)
            if (
                gap <= self.max_conceal
                and step == FRAME_SAMPLES
                and position - self._released_pos == (gap + 1) * FRAME_SAMPLES
            ):
                for k in range(1, gap + 1):
                    fec = packet.payload if k == gap else None
                    out.append(Release(self._released_pos + k * FRAME_SAMPLES, None, fec))
                self.stats.concealed += gap
        out.append(Release(position, packet.payload))
        self._expected = packet.seq + 1
        self._released_ts, self._released_pos = packet.ts, position
        return out
