"""Readable subtitle cues from transcript segments: at most ~7 s and two lines of 42 characters, no overlaps.

A segment longer than that is cut between words. Word times are used when the recogniser gave them;
otherwise a segment's time is shared among its words by their length (speech runs at a roughly even
pace within one segment). Cues of different speakers never overlap: a cue ends where the next begins.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from core.domain.audio import TranscriptSegment

MAX_CUE_SECONDS = 7.0
MAX_LINE_CHARS = 42
MAX_LINES = 2
MIN_CUE_SECONDS = 0.3


@dataclass(frozen=True, slots=True, kw_only=True)
class Cue:
    """One subtitle: its time span, speaker and lines."""

    start: float
    end: float
    speaker: str | None
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    start: float
    end: float


def _pieces(word: str) -> list[str]:
    # A "word" longer than a line (unspaced text) is cut into line-sized pieces.
    return [word[i : i + MAX_LINE_CHARS] for i in range(0, len(word), MAX_LINE_CHARS)] or [word]


def _tokens(seg: TranscriptSegment) -> list[_Token]:
    words = seg.text.split()
    if seg.words and len(seg.words) == len(words):
        timed = [(w, float(x.start), float(x.end)) for w, x in zip(words, seg.words, strict=True)]
    else:
        total = sum(len(w) + 1 for w in words) or 1
        span = max(0.0, seg.end - seg.start)
        timed, at = [], seg.start
        for w in words:
            length = span * (len(w) + 1) / total
            timed.append((w, at, at + length))
            at += length
    out: list[_Token] = []
    for word, start, end in timed:
        parts = _pieces(word)
        step = (end - start) / len(parts)
        out += [_Token(p, start + i * step, start + (i + 1) * step) for i, p in enumerate(parts)]
    return out


def wrap(words: Sequence[str], width: int = MAX_LINE_CHARS) -> list[str]:
    """Greedy line wrap of words into lines of at most ``width`` characters."""
    lines: list[str] = []
    for word in words:
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _fits(words: Sequence[str]) -> bool:
    return len(wrap(words)) <= MAX_LINES


def cues(
    segments: Sequence[TranscriptSegment], label: Callable[[TranscriptSegment], str] | None = None
) -> list[Cue]:
    """Readable cues, in time order, none overlapping the next; ``label`` (e.g. ``"Speaker:"``) leads each
    cue's first line and counts toward its width."""
    out: list[Cue] = []
    for seg in sorted((s for s in segments if s.text.strip()), key=lambda s: s.start):
        lead = [label(seg)] if label else []
        current: list[_Token] = []
        for token in _tokens(seg):
            candidate = [*current, token]
            too_long = current and token.end - current[0].start > MAX_CUE_SECONDS
            if current and (too_long or not _fits(lead + [t.text for t in candidate])):
                out.append(_cue(current, seg.speaker, lead))
                current = [token]
            else:
                current = candidate
        if current:
            out.append(_cue(current, seg.speaker, lead))
    return _no_overlaps(out)


def _cue(tokens: Sequence[_Token], speaker: str | None, lead: list[str]) -> Cue:
    start, end = tokens[0].start, max(tokens[-1].end, tokens[0].start + MIN_CUE_SECONDS)
    return Cue(start=start, end=end, speaker=speaker, lines=tuple(wrap(lead + [t.text for t in tokens])))


def _no_overlaps(items: list[Cue]) -> list[Cue]:
    items.sort(key=lambda c: c.start)
    fixed: list[Cue] = []
    for i, cue in enumerate(items):
        start = max(cue.start, fixed[-1].end if fixed else 0.0)
        following = items[i + 1].start if i + 1 < len(items) else math.inf
        end = max(min(cue.end, following), start + 0.01)
        fixed.append(Cue(start=start, end=end, speaker=cue.speaker, lines=cue.lines))
    return fixed
