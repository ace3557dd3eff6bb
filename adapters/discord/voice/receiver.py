"""The receive pipeline: UDP datagram → RTP → transport AEAD → strip extension → DAVE → Opus → track.

``VoiceReceiver.on_packet`` is cheap and thread-safe (it only queues the datagram with its arrival time);
one worker thread does the decrypting, decoding and writing, so neither discord.py's socket reader nor the
event loop ever blocks on it.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from adapters.discord.voice.dave import DaveFrameDecryptor, DaveStats
from adapters.discord.voice.health import HealthReport, SpeakerHealth
from adapters.discord.voice.jitter import JitterBuffer, Release
from adapters.discord.voice.opus import (
    FRAME_SAMPLES,
    OPUS_PAYLOAD_TYPE,
    SAMPLE_RATE,
    OpusDecodeError,
    OpusDecoder,
)
from adapters.discord.voice.rtp import RtpError, RtpPacket, is_rtcp, parse_rtp, strip_extension_body
from adapters.discord.voice.ssrc import OP_CLIENT_DISCONNECT, SsrcMap
from adapters.discord.voice.storage import OpusTrackWriter
from adapters.discord.voice.tracks import MeetingClock
from adapters.discord.voice.transport import TransportCipher, TransportError

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureOptions:
    """Tuning for one capture; times in seconds."""

    channels: int = 1
    flush_interval_s: float = 1.0
    reorder_window_s: float = 0.2
    jitter_window_s: float = 0.08
    resync_s: float = 0.25
    max_conceal_frames: int = 5
    unknown_ssrc_buffer_s: float = 30.0
    health_interval_s: float = 60.0
    losing_threshold: float = 0.05  # a speaker missing more than this share of audio is reported
    losing_min_frames: int = 100  # ... over an interval with at least this many of their frames


@dataclass(slots=True)
class ReceiveCounters:
    """Packet counters (mutated only on the worker thread)."""

    packets: int = 0
    rtcp: int = 0
    malformed: int = 0
    wrong_payload_type: int = 0
    transport_failed: int = 0
    no_key: int = 0
    buffered_unknown: int = 0
    unknown_overflow: int = 0
    not_captured: int = 0
    dave_dropped: int = 0
    opus_errors: int = 0
    frames_decoded: int = 0
    frames_concealed: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReceiveStats:
    """A snapshot of what the pipeline saw."""

    packets: int
    rtcp: int
    malformed: int
    wrong_payload_type: int
    transport_failed: int
    no_key: int
    buffered_unknown: int
    unknown_overflow: int
    not_captured: int
    dave_dropped: int
    opus_errors: int
    frames_decoded: int
    frames_concealed: int
    late_samples: int
    resyncs: int
    lost_frames: int
    late_packets: int
    reordered: int
    dave: DaveStats


@dataclass(frozen=True, slots=True, kw_only=True)
class CapturedTrack:
    """One speaker's speech (OGG/Opus) and its timeline on the meeting clock (sample 0 = capture start)."""

    user_id: int
    path: Path
    timeline: Path
    spans: tuple[tuple[int, int, int], ...]
    """``(track_start, meeting_start, length)`` in samples: where each stretch of the file sits."""
    samples: int
    first_audio_s: float | None
    sample_rate: int = SAMPLE_RATE


@dataclass(frozen=True, slots=True, kw_only=True)
class CaptureResult:
    """What a finished capture produced."""

    tracks: tuple[CapturedTrack, ...]
    duration_s: float
    stats: ReceiveStats
    health: dict[int, SpeakerHealth] = field(default_factory=dict)
    """Per speaker (user id), everything their audio went through."""


@dataclass(slots=True)
class _Stream:
    user_id: int
    decoder: OpusDecoder
    jitter: JitterBuffer


@dataclass(slots=True)
class _Unknown:
    packets: deque[tuple[RtpPacket, bytes, float]] = field(default_factory=deque)


_STOP = object()


class VoiceReceiver:
    """Turns the datagrams of one voice connection into per-speaker WAV tracks in ``directory``."""

    def __init__(
        self,
        directory: Path,
        *,
        cipher: Callable[[], TransportCipher | None],
        dave: DaveFrameDecryptor,
        ssrcs: SsrcMap | None = None,
        options: CaptureOptions | None = None,
        clock: MeetingClock | None = None,
        is_captured: Callable[[int], bool] = lambda _user_id: True,
        on_health: Callable[[HealthReport], None] | None = None,
    ) -> None:
        """``on_health``: called on the worker thread every ``health_interval_s`` (logged either way)."""
        self.directory = directory
        self.options = options or CaptureOptions()
        self.ssrcs = ssrcs or SsrcMap()
        self.clock = clock or MeetingClock()
        self._cipher = cipher
        self._dave = dave
        self._is_captured = is_captured
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._counters = ReceiveCounters()
        self._streams: dict[int, _Stream] = {}
        self._unknown: dict[int, _Unknown] = {}
        self._tracks: dict[int, OpusTrackWriter] = {}
        self._latest = 0  # the latest arrival on the meeting clock (a replay runs ahead of real time)
        self._health: dict[int, SpeakerHealth] = {}
        self._health_mark: dict[int, SpeakerHealth] = {}
        self._on_health = on_health
        self._window = round(self.options.reorder_window_s * SAMPLE_RATE)
        self._max_unknown = max(1, round(self.options.unknown_ssrc_buffer_s / 0.02))
        self._thread: threading.Thread | None = None
        self._result: CaptureResult | None = None

    # --- called from other threads -------------------------------------------------------------
    def on_packet(self, data: bytes) -> None:
        """Socket listener: queue one datagram with its arrival time (any thread)."""
        self._queue.put((bytes(data), time.monotonic()))

    def on_packet_at(self, data: bytes, arrival: float) -> None:
        """Queue one datagram that arrived at ``arrival`` (``time.monotonic()`` scale): a recorded
        stream replayed through the pipeline faster than real time (any thread)."""
        self._queue.put((bytes(data), arrival))

    async def on_gateway_message(self, message: Mapping[str, Any]) -> None:
        """Voice gateway hook: SPEAKING maps SSRCs; buffered audio of a newly mapped SSRC is replayed.

        CLIENT_DISCONNECT (op 13) is applied on the worker, in order: datagrams of the leaving user that
        are still queued are placed on their track first, not orphaned as an unknown SSRC.
        """
        data = message.get("d")
        if message.get("op") == OP_CLIENT_DISCONNECT and isinstance(data, Mapping) and "user_id" in data:
            with contextlib.suppress(TypeError, ValueError):
                self._queue.put(("left", int(data["user_id"])))
            return
        mapped = self.ssrcs.handle_gateway_message(message)
        if mapped is not None:
            self._queue.put(("mapped", mapped[0]))

    def map_ssrc(self, ssrc: int, user_id: int) -> None:
        """Map an SSRC without a gateway message (any thread)."""
        self.ssrcs.set(ssrc, user_id)
        self._queue.put(("mapped", ssrc))

    def forget_user(self, user_id: int) -> None:
        """Opt-out: delete a user's track (in order on the worker).

        Make ``is_captured`` return False for the user first, or their next packet starts a new track.
        """
        self._queue.put(("forget", user_id))

    def start(self) -> None:
        """Start the worker thread."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread = threading.Thread(target=self._run, name="voice-receive-worker", daemon=True)
        self._thread.start()

    def stop(self) -> CaptureResult:
        """Drain the queue, pad every track to the meeting length, close the files."""
        if self._result is None:
            end = self.clock.position(time.monotonic())
            self._queue.put((_STOP, end))
            if self._thread is not None:
                self._thread.join()
            else:
                self._run()
        assert self._result is not None
        return self._result

    @property
    def stats(self) -> ReceiveStats:
        """Counters so far (a racy snapshot while running; exact after :meth:`stop`)."""
        counts = {f.name: getattr(self._counters, f.name) for f in fields(ReceiveCounters)}
        return ReceiveStats(
            **counts,
            late_samples=sum(t.late_samples for t in self._tracks.values()),
            resyncs=sum(s.jitter.stats.resyncs for s in self._streams.values()),
            lost_frames=sum(s.jitter.stats.lost for s in self._streams.values()),
            late_packets=sum(s.jitter.stats.late for s in self._streams.values()),
            reordered=sum(s.jitter.stats.reordered for s in self._streams.values()),
            dave=self._dave.stats,
        )

    # --- worker thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        interval = self.options.flush_interval_s
        next_flush = time.monotonic() + interval
        next_health = time.monotonic() + self.options.health_interval_s
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, next_flush - time.monotonic()))
            except queue.Empty:
                item = None
            if item is not None:
                if item[0] is _STOP:
                    self._finish(item[1])
                    return
                try:
                    self._handle(item)
                except Exception:  # one bad packet must never end the capture
                    _log.exception("voice receive: unexpected error on one item")
            if time.monotonic() >= next_flush:
                now = max(self.clock.position(time.monotonic()), self._latest)
                for stream in self._streams.values():  # a speaker who stopped: what their buffer holds
                    self._play(stream, stream.jitter.release(now))
                for track in self._tracks.values():
                    track.flush(now)
                next_flush = time.monotonic() + interval
            if time.monotonic() >= next_health:
                self._report_health()
                next_health = time.monotonic() + self.options.health_interval_s

    def _handle(self, item: tuple[Any, Any]) -> None:
        kind, value = item
        if kind == "mapped":
            self._replay(value)
        elif kind == "left":
            self._left(value)
        elif kind == "forget":
            self._forget(value)
        else:
            self._packet(kind, value)

    def _packet(self, data: bytes, arrival: float) -> None:
        c = self._counters
        c.packets += 1
        self._latest = max(self._latest, self.clock.position(arrival))
        if is_rtcp(data):
            c.rtcp += 1
            return
        try:
            packet = parse_rtp(data)
        except RtpError:
            c.malformed += 1
            return
        if packet.payload_type != OPUS_PAYLOAD_TYPE:  # Discord sends audio as Opus PT 120 only
            c.wrong_payload_type += 1
            return
        cipher = self._cipher()
        if cipher is None:
            c.no_key += 1
            return
        try:
            media = strip_extension_body(packet, cipher.decrypt(packet))
        except TransportError:
            c.transport_failed += 1
            return
        except RtpError:
            c.malformed += 1
            return
        user_id = self.ssrcs.user_for(packet.ssrc)
        if user_id is None:
            pending = self._unknown.setdefault(packet.ssrc, _Unknown()).packets
            if len(pending) >= self._max_unknown:
                pending.popleft()
                c.unknown_overflow += 1
            pending.append((packet, media, arrival))
            c.buffered_unknown += 1
            return
        self._deliver(user_id, packet, media, arrival)

    def _replay(self, ssrc: int) -> None:
        user_id = self.ssrcs.user_for(ssrc)
        pending = self._unknown.pop(ssrc, None)
        if user_id is None or pending is None:
            return
        for packet, media, arrival in pending.packets:
            self._deliver(user_id, packet, media, arrival)

    def _deliver(self, user_id: int, packet: RtpPacket, media: bytes, arrival: float) -> None:
        c = self._counters
        if not self._is_captured(user_id):
            c.not_captured += 1
            return
        health = self._health.setdefault(user_id, SpeakerHealth())
        health.received += 1
        opus = self._dave.decrypt(user_id, media)
        if opus is None:
            c.dave_dropped += 1
            health.dropped += 1
            return
        health.decrypted += 1
        stream = self._streams.get(packet.ssrc)
        if stream is None or stream.user_id != user_id:
            jitter = JitterBuffer(
                window=round(self.options.jitter_window_s * SAMPLE_RATE),
                max_conceal=self.options.max_conceal_frames,
                resync=round(self.options.resync_s * SAMPLE_RATE),
            )
            stream = _Stream(user_id, OpusDecoder(self.options.channels), jitter)
            self._streams[packet.ssrc] = stream
        before = stream.jitter.stats.lost
        ready = stream.jitter.push(packet.sequence, packet.timestamp, self.clock.position(arrival), opus)
        health.lost += stream.jitter.stats.lost - before
        self._play(stream, ready)

    def _play(self, stream: _Stream, ready: list[Release]) -> None:
        """Decode (or conceal) released frames in order and place them on the speaker's track."""
        c = self._counters
        for frame in ready:
            try:
                if frame.payload is None:
                    pcm = stream.decoder.conceal(frame.fec, FRAME_SAMPLES)
                    c.frames_concealed += 1
                    if stream.decoder.conceals:
                        self._health.setdefault(stream.user_id, SpeakerHealth()).concealed += 1
                else:
                    pcm = stream.decoder.decode(frame.payload)
                    c.frames_decoded += 1
            except OpusDecodeError:
                c.opus_errors += 1
                continue
            if self._is_captured(stream.user_id):
                self._track(stream.user_id).write_at(frame.position, pcm)

    def _track(self, user_id: int) -> OpusTrackWriter:
        track = self._tracks.get(user_id)
        if track is None:
            path = self.directory / f"{user_id}.ogg"
            track = OpusTrackWriter(path, channels=self.options.channels, window_samples=self._window)
            self._tracks[user_id] = track
        return track

    def _left(self, user_id: int) -> None:
        """A user left the channel: their held audio goes on their track, then their SSRCs are unmapped."""
        for ssrc, stream in list(self._streams.items()):
            if stream.user_id == user_id:
                self._play(stream, stream.jitter.drain())
                del self._streams[ssrc]
        self.ssrcs.forget_user(user_id)

    def _forget(self, user_id: int) -> None:
        track = self._tracks.pop(user_id, None)
        if track is not None:
            track.discard()

    def _finish(self, end: int) -> None:
        # Datagrams queued before stop() are still processed (they sit ahead of the stop marker).
        for stream in self._streams.values():
            self._play(stream, stream.jitter.drain())
        captured = []
        end = max(end, self._latest)
        for user_id, track in self._tracks.items():
            samples = track.close(end)
            first = None if track.first_audio is None else track.first_audio / SAMPLE_RATE
            captured.append(
                CapturedTrack(
                    user_id=user_id,
                    path=track.path,
                    timeline=track.timeline,
                    spans=tuple(track.spans),
                    samples=samples,
                    first_audio_s=first,
                )
            )
        self._result = CaptureResult(
            tracks=tuple(captured),
            duration_s=end / SAMPLE_RATE,
            stats=self.stats,
            health={uid: h.copy() for uid, h in self._health.items()},
        )
        for user_id, health in self._health.items():
            _log.info("voice receive: capture health of %s: %s", user_id, health.line())

    def _report_health(self) -> None:
        """Log each speaker's health since the last report; report who is losing audio."""
        interval = {
            uid: h.minus(self._health_mark.get(uid, SpeakerHealth())) for uid, h in self._health.items()
        }
        self._health_mark = {uid: h.copy() for uid, h in self._health.items()}
        o = self.options
        losing = tuple(
            uid
            for uid, h in interval.items()
            if h.received + h.lost >= o.losing_min_frames and h.missing_ratio > o.losing_threshold
        )
        for uid, h in interval.items():
            level = logging.WARNING if uid in losing else logging.INFO
            _log.log(level, "voice receive: %s in the last %.0f s: %s", uid, o.health_interval_s, h.line())
        if self._on_health is not None and interval:
            totals = {uid: h.copy() for uid, h in self._health.items()}
            try:
                self._on_health(HealthReport(interval=interval, totals=totals, losing=losing))
            except Exception:
                _log.exception("voice receive: the health callback failed")
