"""Speech rate in syllables per second: the unit a recording and a synthesizer can both be measured in.

Korean is counted in Hangul syllable blocks (one block, one spoken syllable); English words by vowel
groups. A recording's rate is syllables over its speaking time (long pauses excluded, as
``core.voice.analysis`` measures it): from the transcript's syllables when there is one, else from the
syllable nuclei heard in the audio.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from core.domain.audio import SpeakerTurn
from core.voice.analysis import count_syllable_nuclei, speaking_seconds

_HANGUL = re.compile(r"[가-힣]")
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_VOWELS = re.compile(r"[aeiouy]+")
_MIN_SPEAKING_S = 0.5

LEGACY_WPM_PER_SPS = 40.0
"""Profiles measured before syllables per second stored "words per minute" as syllable nuclei / 1.5 per
minute, so syllables per second = that value / 40 (the migration converts them)."""


def _english_syllables(word: str) -> int:
    lower = word.lower()
    groups = len(_VOWELS.findall(lower))
    if groups > 1 and lower.endswith("e") and not lower.endswith(("le", "ee", "ye")):
        groups -= 1  # a silent final e: "made", "come"
    return max(1, groups)


def text_syllables(text: str) -> int:
    """Spoken syllables in ``text``: Hangul blocks plus English words' vowel groups (digits not counted)."""
    return len(_HANGUL.findall(text)) + sum(_english_syllables(w) for w in _LATIN_WORD.findall(text))


def syllables_per_second(audio: npt.ArrayLike, sr: int, *, transcript: str | None = None) -> float | None:
    """The speaking rate of one speaker's audio; ``None`` when there is too little speech to tell."""
    seconds = speaking_seconds(audio, sr)
    if seconds < _MIN_SPEAKING_S:
        return None
    count = text_syllables(transcript) if transcript else count_syllable_nuclei(audio, sr)
    return count / seconds if count else None


_MERGE_GAP_S = 0.5  # the speaker's turns this close, with nobody else between, are one stretch of speech
_MIN_INTERRUPTION_S = 0.4


def speaker_spans(turns: Sequence[SpeakerTurn], speaker: str) -> list[tuple[float, float]]:
    """``speaker``'s stretches of speech: turns merged across short gaps no other speaker spoke in."""
    own = sorted((t for t in turns if t.speaker == speaker), key=lambda t: t.start)
    # A blip of another label inside their speech (a click, a breath, an unvoiced sound) is no interruption.
    others = [t for t in turns if t.speaker != speaker and t.end - t.start >= _MIN_INTERRUPTION_S]
    spans: list[tuple[float, float]] = []
    for turn in own:
        if spans:
            start, end = spans[-1]
            between = any(o.start < turn.start and o.end > end for o in others)
            if turn.start - end <= _MERGE_GAP_S and not between:
                spans[-1] = (start, max(end, turn.end))
                continue
        spans.append((turn.start, turn.end))
    return spans


def rate_over_turns(
    audio: npt.NDArray[np.float32], sr: int, turns: Sequence[SpeakerTurn], speaker: str
) -> float | None:
    """Syllables per second of ``speaker`` in a recording, measured over their stretches of speech in it
    (short pauses inside a stretch count as speaking time, as they do in the recording's own pace)."""
    syllables = 0
    seconds = 0.0
    for start, end in speaker_spans(turns, speaker):
        piece = audio[round(start * sr) : round(end * sr)]
        if piece.size < sr // 10:
            continue
        seconds += speaking_seconds(piece, sr)
        syllables += count_syllable_nuclei(piece, sr)
    if seconds < _MIN_SPEAKING_S or not syllables:
        return None
    return syllables / seconds
