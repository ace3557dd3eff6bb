"""Cutting a per-speaker track at its silences, so that every utterance is recognised at its true time.

A per-speaker track (Craig zip, Discord capture) is mostly silence: one person talks now and then over an
hour. Recognised whole, Whisper's 30-second windows glue utterances minutes apart into one segment and its
times drift (an utterance at 197 s stamped 162 s). Cut first, each chunk is recognised on its own and its
times are offset by where it starts. Silence is found by frame energy against the track's own noise
floor: such tracks are silent between turns (the recorder sends nothing), so no model is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.ports import Audio


@dataclass(frozen=True, slots=True, kw_only=True)
class ChunkOptions:
    """Frames of ``frame_s``; speech above the floor by ``margin_db``; pauses shorter than ``join_gap_s``
    stay inside a chunk; a chunk grows to ``max_chunk_s`` at most and keeps ``pad_s`` of context."""

    frame_s: float = 0.02
    margin_db: float = 12.0
    min_level: float = 1e-3
    join_gap_s: float = 0.8
    max_chunk_s: float = 25.0
    min_speech_s: float = 0.15
    pad_s: float = 0.2


def _frame_levels(audio: Audio, frame: int) -> np.ndarray:
    usable = len(audio) - len(audio) % frame
    if usable <= 0:
        return np.zeros(0, dtype=np.float32)
    frames = np.asarray(audio[:usable], dtype=np.float32).reshape(-1, frame)
    levels: np.ndarray = np.sqrt(np.mean(frames * frames, axis=1))
    return levels


def speech_chunks(
    audio: Audio, sample_rate: int = 16000, options: ChunkOptions = ChunkOptions()
) -> list[tuple[int, int]]:
    """``(start, end)`` sample ranges that hold speech, in order, each at most ``max_chunk_s`` long."""
    frame = max(1, int(sample_rate * options.frame_s))
    levels = _frame_levels(audio, frame)
    if levels.size == 0:
        return []
    floor = float(np.percentile(levels, 10))
    threshold = max(options.min_level, floor * 10 ** (options.margin_db / 20))
    voiced = levels > threshold
    if not voiced.any():
        # No quiet stretch to measure against (steady noise, or talk from start to end): every audible
        # frame counts, and long stretches are still cut to Whisper-sized pieces below.
        voiced = levels > options.min_level
    runs = _runs(voiced)
    min_frames = max(1, round(options.min_speech_s / options.frame_s))
    runs = [(a, b) for a, b in runs if b - a >= min_frames]
    joined = _join(
        runs, round(options.join_gap_s / options.frame_s), round(options.max_chunk_s / options.frame_s)
    )
    pad = round(options.pad_s * sample_rate)
    out: list[tuple[int, int]] = []
    for a, b in joined:
        start, end = max(0, a * frame - pad), min(len(audio), b * frame + pad)
        if out and start < out[-1][1]:
            start = out[-1][1]
        if end > start:
            out.append((start, end))
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    return [(int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def _join(runs: list[tuple[int, int]], gap: int, longest: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for first, b in runs:
        if out and first - out[-1][1] <= gap and b - out[-1][0] <= longest:
            out[-1] = (out[-1][0], b)
            continue
        a = first
        while b - a > longest:  # one very long stretch: cut it into pieces Whisper can place
            out.append((a, a + longest))
            a += longest
        out.append((a, b))
    return out
