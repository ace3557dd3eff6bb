"""Build a style profile from the whole conversation in one streaming pass, in bounded memory.

``StyleAccumulator`` sees every message of an export once, in file order (the star's and everyone
else's), and keeps only counters: the import streams a million messages through it without holding them.
``build_style_profile`` (in ``core.personas.style``) feeds it lists.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta
from typing import Final

from core.personas.kakao.model import KakaoMessage
from core.personas.style import text as st
from core.personas.style.model import SpeechLevel, StyleProfile
from core.personas.style.traits import MAX_CHARS, MAX_SAMPLES

BURST_GAP: Final = timedelta(seconds=60)
"""Bubbles sent within this time of the previous one belong to the same thought."""

_COUNTER_CAP: Final = 60_000
"""Distinct words/phrases kept before the rarest are dropped: the top ten survive, memory stays flat."""


def _speech_level(polite: int, plain: int) -> tuple[SpeechLevel, float]:
    classified = polite + plain
    if classified < 5:
        return "unknown", polite / classified if classified else 0.0
    ratio = polite / classified
    if ratio >= 0.7:
        return "jondaetmal", ratio
    if ratio <= 0.3:
        return "banmal", ratio
    return "mixed", ratio


def _rates(counter: Counter[str], total: int) -> tuple[tuple[str, float], ...]:
    items = [(k, round(v / total, 4)) for k, v in counter.items() if v]
    items.sort(key=lambda kv: (-kv[1], kv[0]))
    return tuple(items)


def _median(histogram: Counter[int], count: int) -> float:
    """The median of ``count`` values given as value -> occurrences (same as ``statistics.median``)."""
    wanted = (count - 1) // 2, count // 2
    found: list[int] = []
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        while len(found) < 2 and seen > wanted[len(found)]:
            found.append(value)
        if len(found) == 2:
            break
    return (found[0] + found[1]) / 2


def _prune(counter: Counter[str]) -> None:
    """Keep the most frequent half once the counter grows past the cap (a heavy-hitters sketch)."""
    if len(counter) > _COUNTER_CAP:
        keep = dict(counter.most_common(_COUNTER_CAP // 2))
        counter.clear()
        counter.update(keep)


class StyleAccumulator:
    """Counts how ``star_author`` writes while the conversation streams past (``add`` each message in order).

    Another participant's message whose time falls strictly between two of the star's bubbles ends a
    burst. ``other_names`` seeds the names the star may call the others by; names of participants first
    seen later are added as they appear. ``samples()`` keeps ~``MAX_SAMPLES`` texts spread over the
    conversation for the LLM trait extraction.
    """

    def __init__(self, star_author: str, *, other_names: tuple[str, ...] = ()) -> None:
        self.star_author = star_author
        self.star_count = 0
        self.hours = [0] * 24
        self._names = st.GivenNames(other_names)
        self._lengths: Counter[int] = Counter()
        self._count = 0
        self._polite = self._plain = 0
        self._finals: Counter[str] = Counter()
        self._laughs: Counter[str] = Counter()
        self._laugh_tokens: Counter[str] = Counter()
        self._cries: Counter[str] = Counter()
        self._emoji: Counter[str] = Counter()
        self._emoji_messages = 0
        self._emoticons: Counter[str] = Counter()
        self._punctuation: Counter[str] = Counter()
        self._long_hangul = self._no_space = 0
        self._words: Counter[str] = Counter()
        self._phrases: Counter[str] = Counter()
        self._address: Counter[str] = Counter()
        # Bursts: the star's previous text bubble, and the earliest later message of someone else.
        self._previous: datetime | None = None
        self._interrupted_at: datetime | None = None
        self._bursts = 0
        self._multi_bursts = 0
        self._burst_size = 0
        # Trait samples: every ``_stride``-th text, halved whenever the list doubles.
        self._samples: list[str] = []
        self._stride = 1

    def add(self, message: KakaoMessage) -> None:
        """Take the next message of the conversation (any author, any kind)."""
        self.add_record(message.time, message.author, message.kind, message.text)

    def add_record(self, when: datetime, author: str, kind: str, text: str) -> None:
        """``add`` for a parser record (``KakaoReader.records()``): no message object needed."""
        if author != self.star_author:
            self._names.add(author)  # a set lookup once the author is known
            # Only the earliest reply after the star's last bubble matters for the next burst.
            previous, earliest = self._previous, self._interrupted_at
            if previous is not None and when > previous and (earliest is None or when < earliest):
                self._interrupted_at = when
            return
        self.star_count += 1
        self.hours[when.hour] += 1
        if kind == "text" and text.strip():
            self._add_text(when, text)

    def _add_text(self, when: datetime, text: str) -> None:
        # The hot path of a million-message import: plain loops and += instead of Counter.update
        # (whose per-call overhead dominated on short messages), substring tests before any regex.
        self._count += 1
        self._burst(when)
        self._lengths[len(text)] += 1
        p, q, ends = st.speech_level_of(text)
        self._polite += p
        self._plain += q
        finals = self._finals
        for end in ends:
            finals[end] += 1
        latin = st.LATIN.search(text) is not None
        st.count_markers(text, self._laughs, self._cries, self._punctuation, latin=latin)
        for token in st.laugh_tokens(text, latin=latin):
            self._laugh_tokens[token.lower()] += 1
        if found := st.EMOJI.findall(text):
            self._emoji_messages += 1
            for emoji in found:
                self._emoji[emoji] += 1
        for emoticon in st.emoticons(text):
            self._emoticons[emoticon] += 1
        if len(text) >= 6 and st.HANGUL.search(text):
            self._long_hangul += 1
            self._no_space += " " not in text.strip()
        toks = st.tokens(text)
        words, phrases, stop = self._words, self._phrases, st.STOPWORDS
        for a in toks:
            if a not in stop:
                words[a] += 1
        for a, b in itertools.pairwise(toks):
            if not (a in stop and b in stop):
                phrases[f"{a} {b}"] += 1
        if self._count % 4096 == 0:
            _prune(words)
            _prune(phrases)
        address = self._address
        for term in set(st.address_terms(text, self._names, latin=latin)):  # detectors may agree
            address[term] += 1
        self._sample(text)

    def _burst(self, when: datetime) -> None:
        previous, interrupted = self._previous, self._interrupted_at
        if (
            previous is not None
            and when - previous <= BURST_GAP
            and not (interrupted is not None and interrupted < when)
        ):
            self._burst_size += 1
            if self._burst_size == 2:
                self._multi_bursts += 1
        else:
            self._bursts += 1
            self._burst_size = 1
        self._previous = when
        self._interrupted_at = None

    def _sample(self, text: str) -> None:
        if (self._count - 1) % self._stride:
            return
        self._samples.append(text.strip()[:MAX_CHARS])
        if len(self._samples) >= 2 * MAX_SAMPLES:
            self._samples = self._samples[::2]
            self._stride *= 2

    def samples(self) -> list[str]:
        """Up to ~``2 * MAX_SAMPLES`` of the star's texts, evenly spread (input for ``extract_traits``)."""
        return list(self._samples)

    def profile(self) -> StyleProfile:
        """The profile of everything added so far."""
        hours = tuple(self.hours)
        count = self._count
        if not count:
            return StyleProfile(active_hours=hours)
        level, ratio = _speech_level(self._polite, self._plain)
        total_length = sum(length * n for length, n in self._lengths.items())
        return StyleProfile(
            message_count=count,
            median_length=float(_median(self._lengths, count)),
            mean_length=round(total_length / count, 2),
            burst_rate=round(self._multi_bursts / self._bursts, 4),
            mean_burst_size=round(count / self._bursts, 3),
            speech_level=level,
            polite_ratio=round(ratio, 4),
            endings=st.top(self._finals, 8),
            laughter=_rates(self._laughs, count),
            laugh_token=self._laugh_tokens.most_common(1)[0][0] if self._laugh_tokens else "",
            crying=_rates(self._cries, count),
            emoji=st.top(self._emoji, 5, minimum=1),
            emoji_rate=round(self._emoji_messages / count, 4),
            emoticons=st.top(self._emoticons, 5, minimum=1),
            punctuation=_rates(self._punctuation, count),
            no_space_ratio=round(self._no_space / self._long_hangul, 4) if self._long_hangul else 0.0,
            top_words=st.top(self._words, 10),
            top_phrases=st.top(self._phrases, 10),
            address_terms=st.top(self._address, 5),
            active_hours=hours,
        )
