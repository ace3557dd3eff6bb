"""Who said each word: pure functions joining transcripts with diarized turns or per-speaker tracks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np

from core.domain.audio import SpeakerTurn, Transcript, TranscriptSegment, Word


class _TurnIndex:
    """Turns as arrays, to find the best speaker for a time span quickly."""

    def __init__(self, turns: Sequence[SpeakerTurn]) -> None:
        self.starts = np.array([t.start for t in turns], dtype=np.float64)
        self.ends = np.array([t.end for t in turns], dtype=np.float64)
        self.speakers = [t.speaker for t in turns]

    def speaker_for(self, start: float, end: float) -> str:
        """The speaker overlapping ``[start, end]`` the longest, else the nearest turn (first on ties)."""
        overlap = np.minimum(self.ends, end) - np.maximum(self.starts, start)
        best = int(np.argmax(overlap))
        if overlap[best] > 0:
            return self.speakers[best]
        gap = np.maximum(np.maximum(self.starts - end, start - self.ends), 0.0)
        return self.speakers[int(np.argmin(gap))]


def _join(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words).strip()


def _split_by_speaker(segment: TranscriptSegment, index: _TurnIndex) -> list[TranscriptSegment]:
    labels = [index.speaker_for(w.start, w.end) for w in segment.words]
    groups: list[tuple[str, list[Word]]] = []
    for word, speaker in zip(segment.words, labels, strict=True):
        if groups and groups[-1][0] == speaker:
            groups[-1][1].append(word)
        else:
            groups.append((speaker, [word]))
    if len(groups) == 1:
        return [replace(segment, speaker=groups[0][0])]
    out: list[TranscriptSegment] = []
    for i, (speaker, words) in enumerate(groups):
        start = segment.start if i == 0 else words[0].start
        end = segment.end if i == len(groups) - 1 else words[-1].end
        out.append(
            replace(
                segment,
                start=min(start, words[0].start),
                end=max(end, words[-1].end),
                text=_join(words),
                words=tuple(words),
                speaker=speaker,
            )
        )
    return out


def assign_word_speakers(
    segments: Sequence[TranscriptSegment], turns: Sequence[SpeakerTurn]
) -> tuple[TranscriptSegment, ...]:
    """Give every word the speaker whose turn overlaps it most (nearest turn when none overlaps).

    Segments whose words change speaker are split at each change, keeping every word's text and order.
    A segment without words is assigned as a whole by its own span. With no turns, segments are unchanged.
    """
    if not turns:
        return tuple(segments)
    index = _TurnIndex(turns)
    out: list[TranscriptSegment] = []
    for seg in segments:
        if seg.words:
            out.extend(_split_by_speaker(seg, index))
        else:
            out.append(replace(seg, speaker=index.speaker_for(seg.start, seg.end)))
    return tuple(out)


def merge_tracks(per_speaker: Mapping[str, Transcript]) -> tuple[TranscriptSegment, ...]:
    """Merge per-speaker track transcripts (Discord capture, Craig) into one timeline ordered by time.

    Each segment takes its track's speaker; ties in time keep the tracks' order.
    """
    labelled = [
        replace(seg, speaker=speaker)
        for speaker, transcript in per_speaker.items()
        for seg in transcript.segments
    ]
    return tuple(sorted(labelled, key=lambda s: (s.start, s.end)))


def rename_speakers(
    segments: Sequence[TranscriptSegment], names: Mapping[str, str]
) -> tuple[TranscriptSegment, ...]:
    """Replace speaker labels (``SPEAKER_00``) with names (Discord users, Craig file names, user renames)."""
    return tuple(
        replace(s, speaker=names.get(s.speaker, s.speaker)) if s.speaker is not None else s for s in segments
    )
