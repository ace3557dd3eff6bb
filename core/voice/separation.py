"""Speaker separation for the star's voice: who spoke, for how long, and a clean sample of each voice.

``separate`` runs a ``Diarizer`` and summarises its turns; ``SeparationResult.result_json()`` is the stable
output of ``vos voice separate FILE [--speakers N] --json``. ``frame_accuracy`` scores turns against known
ones (tests and ``bench/separation.py``).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import permutations
from typing import Any

import numpy as np

from core.domain.audio import Diarization, SpeakerTurn
from core.ports import Audio, Diarizer, ProgressCallback

Span = tuple[float, float]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeakerSummary:
    """One separated voice: total speech and the longest clip in which only this speaker talks."""

    label: str
    seconds: float
    sample_start: float
    sample_end: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SeparationResult:
    """Speakers (in order of first appearance) and their turns."""

    speakers: tuple[SpeakerSummary, ...]
    turns: tuple[SpeakerTurn, ...]
    duration_s: float
    engine: str = ""
    embeddings: dict[str, tuple[float, ...]] = field(default_factory=dict, compare=False, repr=False)

    def result_json(self) -> dict[str, Any]:
        """The ``--json`` contract: ``{"speakers": [{label, seconds, sample}], "turns": [...]}``."""
        return {
            "speakers": [
                {
                    "label": s.label,
                    "seconds": round(s.seconds, 2),
                    "sample": {"start": round(s.sample_start, 2), "end": round(s.sample_end, 2)},
                }
                for s in self.speakers
            ],
            "turns": [
                {"start": round(t.start, 2), "end": round(t.end, 2), "speaker": t.speaker} for t in self.turns
            ],
        }

    def to_data(self) -> dict[str, Any]:
        """Plain JSON data that :meth:`from_data` turns back into an equal result (a job's result).

        Unlike :meth:`result_json` nothing is rounded; the embeddings are left out.
        """
        return {
            "speakers": [[s.label, s.seconds, s.sample_start, s.sample_end] for s in self.speakers],
            "turns": [[t.start, t.end, t.speaker] for t in self.turns],
            "duration_s": self.duration_s,
            "engine": self.engine,
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> SeparationResult:
        """The inverse of :meth:`to_data`."""
        return cls(
            speakers=tuple(
                SpeakerSummary(
                    label=str(label), seconds=float(sec), sample_start=float(a), sample_end=float(b)
                )
                for label, sec, a, b in data["speakers"]
            ),
            turns=tuple(
                SpeakerTurn(start=float(a), end=float(b), speaker=str(label)) for a, b, label in data["turns"]
            ),
            duration_s=float(data["duration_s"]),
            engine=str(data.get("engine") or ""),
        )

    def speaker(self, label: str) -> SpeakerSummary:
        """The summary of ``label``; ``KeyError`` when no such speaker was found."""
        for s in self.speakers:
            if s.label == label:
                return s
        raise KeyError(label)


def _subtract(span: Span, others: Sequence[Span]) -> list[Span]:
    pieces = [span]
    for o_start, o_end in others:
        nxt: list[Span] = []
        for start, end in pieces:
            if o_end <= start or o_start >= end:
                nxt.append((start, end))
                continue
            if o_start > start:
                nxt.append((start, o_start))
            if o_end < end:
                nxt.append((o_end, end))
        pieces = nxt
    return pieces


def clean_spans(turns: Sequence[SpeakerTurn], speaker: str, *, merge_gap_s: float = 0.35) -> list[Span]:
    """Stretches where only ``speaker`` talks: their turns joined across short pauses, others cut out."""
    own = sorted((t.start, t.end) for t in turns if t.speaker == speaker)
    others = sorted((t.start, t.end) for t in turns if t.speaker != speaker)
    joined: list[list[float]] = []
    for start, end in own:
        bridge_free = joined and not any(
            o_start < start and o_end > joined[-1][1] for o_start, o_end in others
        )
        if joined and start - joined[-1][1] <= merge_gap_s and bridge_free:
            joined[-1][1] = max(joined[-1][1], end)
        else:
            joined.append([start, end])
    spans: list[Span] = []
    for start, end in joined:
        spans.extend(_subtract((start, end), others))
    return [s for s in spans if s[1] > s[0]]


def longest_clean_clip(
    turns: Sequence[SpeakerTurn], speaker: str, *, trim_s: float = 0.02, max_s: float = 30.0
) -> Span | None:
    """The longest span in which only ``speaker`` talks, trimmed at the edges and capped at ``max_s``."""
    spans = clean_spans(turns, speaker)
    if not spans:
        return None
    start, end = max(spans, key=lambda s: s[1] - s[0])
    if end - start > 4 * trim_s:
        start, end = start + trim_s, end - trim_s
    return start, min(end, start + max_s)


def summarize(diarization: Diarization, duration_s: float) -> SeparationResult:
    """Per-speaker totals and samples for a diarization (pure)."""
    turns = tuple(sorted(diarization.turns, key=lambda t: (t.start, t.end)))
    labels: list[str] = []
    for turn in turns:
        if turn.speaker not in labels:
            labels.append(turn.speaker)
    speakers = []
    for label in labels:
        clip = longest_clean_clip(turns, label) or (0.0, 0.0)
        seconds = sum(t.end - t.start for t in turns if t.speaker == label)
        speakers.append(
            SpeakerSummary(label=label, seconds=seconds, sample_start=clip[0], sample_end=clip[1])
        )
    return SeparationResult(
        speakers=tuple(speakers),
        turns=turns,
        duration_s=duration_s,
        engine=diarization.engine,
        embeddings=dict(diarization.embeddings),
    )


async def separate(
    audio: Audio,
    sample_rate: int,
    diarizer: Diarizer,
    num_speakers: int | None = None,
    progress: ProgressCallback | None = None,
) -> SeparationResult:
    """Separate the speakers of ``audio``; ``num_speakers`` overrides the estimated count."""
    diarization = await diarizer.diarize(
        audio, sample_rate=sample_rate, num_speakers=num_speakers, progress=progress
    )
    return summarize(diarization, audio.size / sample_rate)


def extract_clip(audio: Audio, sample_rate: int, span: Span) -> Audio:
    """The samples of ``span`` (seconds)."""
    start = max(0, round(span[0] * sample_rate))
    return audio[start : max(start, round(span[1] * sample_rate))]


def _frame_labels(
    turns: Sequence[tuple[float, float, Hashable]], n: int, step: float
) -> list[Hashable | None]:
    labels: list[Hashable | None] = [None] * n
    overlap = [False] * n
    for start, end, speaker in turns:
        for i in range(max(0, int(start / step)), min(n, int(end / step))):
            if labels[i] is not None and labels[i] != speaker:
                overlap[i] = True
            labels[i] = speaker
    return [None if o else lab for lab, o in zip(labels, overlap, strict=True)]


def frame_accuracy(
    reference: Sequence[tuple[float, float, Hashable]],
    hypothesis: Sequence[tuple[float, float, Hashable]],
    duration_s: float,
    *,
    step: float = 0.01,
) -> float:
    """Share of the reference's single-speaker frames whose hypothesis label matches, under the best
    one-to-one mapping of labels (missed speech counts as wrong)."""
    n = int(np.ceil(duration_s / step))
    ref = _frame_labels(reference, n, step)
    hyp = _frame_labels(hypothesis, n, step)
    ref_ids = sorted({r for r in ref if r is not None}, key=str)
    hyp_ids = sorted({h for h in hyp if h is not None}, key=str)
    total = sum(r is not None for r in ref)
    if total == 0:
        return 1.0
    counts = np.zeros((len(ref_ids), max(1, len(hyp_ids))))
    for r, h in zip(ref, hyp, strict=True):
        if r is not None and h is not None:
            counts[ref_ids.index(r), hyp_ids.index(h)] += 1
    return _best_matching(counts) / total


def _best_matching(counts: np.ndarray) -> float:
    rows, cols = counts.shape
    try:
        from scipy.optimize import linear_sum_assignment
    except ImportError:
        if rows <= cols:
            return float(
                max(sum(counts[i, p[i]] for i in range(rows)) for p in permutations(range(cols), rows))
            )
        return float(max(sum(counts[p[j], j] for j in range(cols)) for p in permutations(range(rows), cols)))
    r, c = linear_sum_assignment(counts, maximize=True)
    return float(counts[r, c].sum())
