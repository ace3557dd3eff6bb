"""One speaker's captured audio on disk: their speech as OGG/Opus plus a timeline of where it sits.

A meeting of hours with a few speakers is mostly each speaker's silence, so a track holds only the stretches
the speaker was heard (short pauses inside a stretch stay, as silence) and ``<track>.timeline.json`` says
where each stretch starts on the meeting clock: ``[track_start, meeting_start, length]`` in samples. The
OGG file is written as the meeting goes (Opus pages are streamed; the timeline is rewritten atomically on
every flush), so a crash keeps what was captured up to the last flush. A short in-memory window absorbs
reordered audio before it is committed; audio for a stretch already committed is counted as late.
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from adapters.discord.voice.opus import FRAME_SAMPLES, SAMPLE_RATE

TIMELINE_SUFFIX = ".timeline.json"
DEFAULT_GAP_S = 1.0  # a pause longer than this ends a stretch (nothing is stored for it)
DEFAULT_BITRATE = 32_000  # speech; 30 minutes of one speaker is about 7 MB
_IO_BUFFER = 4096


def timeline_path(track: Path) -> Path:
    """The timeline file next to a track file."""
    return track.with_name(track.stem + TIMELINE_SUFFIX)


def write_timeline(path: Path, spans: list[list[int]], sample_rate: int = SAMPLE_RATE) -> None:
    """Write a timeline atomically (a reader never sees half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"sample_rate": sample_rate, "spans": spans}), encoding="utf-8")
    os.replace(tmp, path)


class OpusTrackWriter:
    """One speaker's track; ``write_at`` places int16 PCM by meeting-clock sample index."""

    def __init__(
        self,
        path: Path,
        *,
        channels: int,
        window_samples: int,
        gap_samples: int = round(DEFAULT_GAP_S * SAMPLE_RATE),
        bitrate: int = DEFAULT_BITRATE,
    ) -> None:
        import av

        self.path = path
        self.timeline = timeline_path(path)
        self.channels = channels
        self._window = window_samples
        self._gap = gap_samples
        self._av: Any = av
        # Through our own file object with a small I/O buffer: what each flush commits reaches the disk
        # within about a second of audio (a crash loses little), instead of sitting in a 32 KB buffer.
        self._file = path.open("wb")
        self._container: Any = av.open(self._file, "w", format="ogg", buffer_size=_IO_BUFFER)
        self._stream: Any = self._container.add_stream(
            "libopus", rate=SAMPLE_RATE, layout="mono" if channels == 1 else "stereo"
        )
        self._stream.bit_rate = bitrate
        self._committed = 0  # meeting samples decided on (stored or skipped)
        self._pending = np.zeros((0, channels), dtype=np.int16)  # meeting samples from _committed on
        self._filled = np.zeros(0, dtype=bool)
        self._gap_run = 0  # unfilled meeting samples after the last stored audio, not yet decided on
        self._frame = np.zeros((0, channels), dtype=np.int16)  # a partial 20 ms frame not yet encoded
        self._encoded = 0  # track samples handed to the encoder
        self._spans: list[list[int]] = []  # [track_start, meeting_start, length]
        self._open = False
        self.late_samples = 0
        self.first_audio: int | None = None

    # --- placing audio ------------------------------------------------------------------------------
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
        if end - self._committed > 4 * self._window:  # a long silence before this: decide on it first
            self.commit(min(position, end - self._window))
        needed = end - self._committed
        if needed > len(self._pending):
            grown = np.zeros((needed, self.channels), dtype=np.int16)
            grown[: len(self._pending)] = self._pending
            mask = np.zeros(needed, dtype=bool)
            mask[: len(self._filled)] = self._filled
            self._pending, self._filled = grown, mask
        start = position - self._committed
        self._pending[start : start + len(pcm)] = pcm
        self._filled[start : start + len(pcm)] = True

    def commit(self, up_to: int) -> None:
        """Decide on everything before meeting sample ``up_to``: heard audio is encoded, silence is not."""
        count = up_to - self._committed
        if count <= 0:
            return
        have = min(count, len(self._pending))
        chunk, mask = self._pending[:have], self._filled[:have]
        self._pending, self._filled = self._pending[have:], self._filled[have:]
        if have:
            edges = np.flatnonzero(np.diff(mask.astype(np.int8))) + 1
            bounds = [0, *edges.tolist(), have]
            for a, b in itertools.pairwise(bounds):
                if mask[a]:
                    self._store(chunk[a:b], self._committed + a)
                else:
                    self._gap_run += b - a
        self._gap_run += count - have
        self._committed = up_to

    def _store(self, pcm: np.ndarray, meeting_pos: int) -> None:
        if self._open and self._gap_run <= self._gap:
            self._feed(np.zeros((self._gap_run, self.channels), dtype=np.int16))
        else:
            self._close_span()
            self._spans.append([self._encoded, meeting_pos, 0])
            self._open = True
        self._gap_run = 0
        self._feed(pcm)
        self._spans[-1][2] = self._encoded + len(self._frame) - self._spans[-1][0]

    def _close_span(self) -> None:
        """End the open stretch on a frame boundary (the partial frame is padded with silence)."""
        if self._open and len(self._frame):
            pad = FRAME_SAMPLES - len(self._frame)
            self._feed(np.zeros((pad, self.channels), dtype=np.int16))
        if self._open:
            self._spans[-1][2] = self._encoded - self._spans[-1][0]
        self._open = False

    def _feed(self, pcm: np.ndarray) -> None:
        buffered = np.concatenate([self._frame, pcm]) if len(self._frame) else pcm
        whole = len(buffered) - len(buffered) % FRAME_SAMPLES
        for start in range(0, whole, FRAME_SAMPLES):
            self._encode(buffered[start : start + FRAME_SAMPLES])
        self._frame = buffered[whole:].copy()

    def _encode(self, frame_pcm: np.ndarray | None) -> None:
        if frame_pcm is None:
            packets = self._stream.encode(None)
        else:
            layout = "mono" if self.channels == 1 else "stereo"
            frame = self._av.AudioFrame.from_ndarray(frame_pcm.reshape(1, -1), format="s16", layout=layout)
            frame.sample_rate, frame.pts = SAMPLE_RATE, self._encoded
            packets = self._stream.encode(frame)
            self._encoded += len(frame_pcm)
        self._container.mux(packets)

    # --- keeping it on disk ---------------------------------------------------------------------------
    def flush(self, now: int) -> None:
        """Commit audio older than the reorder window and rewrite the timeline."""
        self.commit(now - self._window)
        self._file.flush()
        write_timeline(self.timeline, self._spans)

    def close(self, end: int) -> int:
        """Store everything, close the file and the timeline; returns the track's length in samples."""
        self.commit(max(end, self._committed + len(self._pending)))
        self._close_span()
        self._encode(None)
        self._container.close()
        self._file.close()
        write_timeline(self.timeline, self._spans)
        return self._encoded

    def discard(self) -> None:
        """Close and delete the track and its timeline (an opt-out)."""
        try:
            self._container.close()
            self._file.close()
        finally:
            self.path.unlink(missing_ok=True)
            self.timeline.unlink(missing_ok=True)

    @property
    def spans(self) -> list[tuple[int, int, int]]:
        """``(track_start, meeting_start, length)`` of each stretch so far, in samples."""
        return [(a, b, c) for a, b, c in self._spans]
