"""Filters for the known Whisper hallucinations; pure functions over transcript segments.

Whisper invents text on silence and noise: loops of one phrase (within a segment and across consecutive
segments), segments the model itself thinks are not speech, and subtitle credits learnt from video captions
("Thanks for watching", "시청해주셔서 감사합니다", "MBC 뉴스 …입니다").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace

from core.domain.audio import TranscriptSegment, Word

_CREDIT_PATTERNS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"thanks? (you )?(so much )?for watching[.!]*",
        r"thank you for (watching|listening)[.!]*",
        r"(subtitles|subtitled|captions?|captioned|transcribed|translated|transcription)\s+by\s*\S*",
        r"(please )?(like and )?subscribe( to (my|our|the) channel)?[.!]*",
        r"see you in the next (video|one)[.!]*",
        r"amara\.org( community)?",
        r"www\.\S+",
        r"시청\s*해\s*주셔서\s*감사(합니다|드립니다)[.!]*",
        r"구독\s*(과|와|,)?\s*좋아요(\s*(와|,)?\s*알림\s*설정)?(\s*부탁\s*(드립니다|드려요|해요))?[.!]*",
        r"좋아요\s*(와|,)?\s*구독(\s*부탁\s*(드립니다|드려요|해요))?[.!]*",
        r"(MBC|KBS|SBS|YTN|JTBC|EBS|TV조선|채널A|연합)\s*뉴스\s*(\S+\s*)?(입니다|기자입니다|기자)?[.!]*",
        r"(한글\s*)?자막\s*(제공|제작|by)\s*\S*",
        r"다음\s*(영상|시간)에서\s*(만나요|뵙겠습니다)[.!]*",
    )
)


@dataclass(frozen=True, slots=True, kw_only=True)
class HallucinationFilter:
    """Thresholds for :func:`filter_segments` (Whisper's own defaults where it has them)."""

    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    max_ngram: int = 6
    min_loop: int = 3
    """A phrase repeated this many times in a row (in a segment or across segments) is a loop."""
    credit_coverage: float = 0.7
    """A segment is a credit when credit phrases cover at least this share of its letters."""


def _letters(text: str) -> int:
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


def normalize(text: str) -> str:
    """Lower-case letters and digits separated by single spaces, for comparing segments."""
    kept = "".join(ch if unicodedata.category(ch)[0] in "LN" else " " for ch in text.casefold())
    return " ".join(kept.split())


def is_subtitle_credit(text: str, coverage: float = 0.7) -> bool:
    """Whether ``text`` is (mostly) a subtitle-credit or broadcast sign-off phrase."""
    total = _letters(text)
    if total == 0:
        return False
    rest = text
    for pattern in _CREDIT_PATTERNS:
        rest = pattern.sub(" ", rest)
    return (total - _letters(rest)) / total >= coverage


def is_low_confidence(segment: TranscriptSegment, flt: HallucinationFilter = HallucinationFilter()) -> bool:
    """Whisper's own silence rule: likely not speech AND decoded with low confidence."""
    return segment.no_speech_prob > flt.no_speech_threshold and segment.avg_logprob < flt.logprob_threshold


def _collapse_loop(tokens: Sequence[str], max_ngram: int, min_loop: int) -> list[int]:
    """Indexes of tokens to keep after collapsing n-grams repeated ``min_loop``+ times in a row to one.

    The last copy is kept: it carries the loop's closing punctuation.
    """
    keys = [normalize(tok) for tok in tokens]
    keep: list[int] = []
    i = 0
    while i < len(keys):
        collapsed = False
        for n in range(1, max_ngram + 1):
            gram = keys[i : i + n]
            if len(gram) < n or not any(gram):
                break
            reps = 1
            while keys[i + reps * n : i + (reps + 1) * n] == gram:
                reps += 1
            if reps >= min_loop:
                last = i + (reps - 1) * n
                keep.extend(range(last, last + n))
                i += reps * n
                collapsed = True
                break
        if not collapsed:
            keep.append(i)
            i += 1
    return keep


def collapse_repeats(
    segment: TranscriptSegment, flt: HallucinationFilter = HallucinationFilter()
) -> TranscriptSegment:
    """Collapse an n-gram looping inside one segment ("thank you thank you thank you ...") to one copy."""
    if segment.words:
        keep = _collapse_loop([w.text for w in segment.words], flt.max_ngram, flt.min_loop)
        if len(keep) == len(segment.words):
            return segment
        words: tuple[Word, ...] = tuple(segment.words[i] for i in keep)
        text = " ".join(w.text for w in words).strip()
        return replace(segment, words=words, text=text)
    tokens = segment.text.split()
    keep = _collapse_loop(tokens, flt.max_ngram, flt.min_loop)
    if len(keep) == len(tokens):
        return segment
    return replace(segment, text=" ".join(tokens[i] for i in keep))


def drop_repeated_segments(
    segments: Sequence[TranscriptSegment], flt: HallucinationFilter = HallucinationFilter()
) -> tuple[TranscriptSegment, ...]:
    """Keep only the first of ``min_loop``+ consecutive segments with the same text (a decoding loop)."""
    out: list[TranscriptSegment] = []
    i = 0
    while i < len(segments):
        key = normalize(segments[i].text)
        j = i + 1
        while j < len(segments) and key and normalize(segments[j].text) == key:
            j += 1
        run = segments[i:j]
        out.extend(run[:1] if len(run) >= flt.min_loop else run)
        i = j
    return tuple(out)


def filter_segments(
    segments: Sequence[TranscriptSegment], flt: HallucinationFilter = HallucinationFilter()
) -> tuple[TranscriptSegment, ...]:
    """Apply every filter: low-confidence silence, subtitle credits, loops within and across segments."""
    kept: list[TranscriptSegment] = []
    for seg in segments:
        if is_low_confidence(seg, flt) or is_subtitle_credit(seg.text, flt.credit_coverage):
            continue
        cleaned = collapse_repeats(seg, flt)
        if normalize(cleaned.text):
            kept.append(cleaned)
    return drop_repeated_segments(kept, flt)
