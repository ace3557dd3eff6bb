"""Build a style profile from the whole conversation in one streaming pass, in bounded memory.

``StyleAccumulator`` sees every message of an export once, in file order (the star's and everyone
else's), and keeps only counters: the import streams a million messages through it without holding them.
``build_style_profile`` (in ``core.personas.style``) feeds it lists.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime, timedelta
from sys import intern
from typing import Final

from core.personas.kakao.model import KakaoMessage
from core.personas.style import text as st
from core.personas.style.model import SpeechLevel, StyleProfile
from core.personas.style.traits import MAX_CHARS, MAX_SAMPLES

BURST_GAP: Final = timedelta(seconds=60)
"""Bubbles sent within this time of the previous one belong to the same thought."""

_COUNTER_CAP: Final = 60_000
"""Distinct words/phrases kept before the rarest are dropped: the top ten survive, memory stays flat."""
_PRUNE_EVERY: Final = 4096
"""The word and phrase counters are pruned (``_prune``) after every this many texts."""
_WINDOW: Final = _PRUNE_EVERY
"""Texts counted together (``StyleAccumulator._flush``); divides ``_PRUNE_EVERY``."""
_MEMO_SIZE: Final = 1 << 14
"""Texts whose ``_facts`` are remembered, of those seen once and of those seen again (each then forgotten
all at once when full): a few MB at most."""
_MEMO_CHARS: Final = 120
"""Only texts up to this length are remembered: long ones rarely repeat."""

_Facts = tuple[
    int,  # polite endings
    int,  # plain endings
    tuple[str, ...],  # final syllables
    tuple[str, ...],  # laughter markers
    tuple[str, ...],  # crying markers
    tuple[str, ...],  # punctuation markers
    tuple[str, ...],  # laugh tokens, lower-cased
    tuple[str, ...],  # emoji
    tuple[str, ...],  # emoticons
    bool | None,  # a long Hangul text (None: not one): whether it has a space
    tuple[str, ...],  # words (no stopwords)
    tuple[str, ...],  # two-word phrases (not both stopwords)
    frozenset[str],  # address terms other than the participants' names
]


_NO_TERMS: Final = frozenset[str]()


def _count(counter: Counter[str], keys: tuple[str, ...], n: int) -> None:
    for key in keys:
        counter[key] += n


def _facts(text: str) -> _Facts:
    """What the style profile counts of one text of the star's, except address terms by name."""
    polite, plain, ends = st.speech_level_of(text)
    latin = st.LATIN.search(text) is not None
    laughs, cries, marks = st.marker_keys(text, latin=latin)
    laugh_tokens = tuple(token.lower() for token in st.laugh_tokens(text, latin=latin))
    spaced = " " in text.strip() if len(text) >= 6 and st.HANGUL.search(text) else None
    toks = st.tokens(text)
    stop = st.STOPWORDS
    # Interned: the memo's texts share their words (one string each, not one per text that has it).
    words = tuple(intern(a) for a in toks if a not in stop)
    phrases = tuple(intern(f"{a} {b}") for a, b in itertools.pairwise(toks) if not (a in stop and b in stop))
    terms = st.unnamed_address_terms(text, latin=latin)
    return (
        polite,
        plain,
        tuple(ends),
        laughs,
        cries,
        marks,
        laugh_tokens,
        tuple(st.EMOJI.findall(text)),
        tuple(st.emoticons(text)),
        spaced,
        words,
        phrases,
        frozenset(terms) if terms else _NO_TERMS,
    )


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
        # The memo of ``_facts``: texts seen once, and texts seen again (kept while texts seen once come
        # and go: most texts of a long chat are said once, the repeated ones are what the memo is for).
        self._once: dict[str, _Facts] = {}
        self._repeated: dict[str, _Facts] = {}
        self._pending: dict[str, int] = {}  # the window's texts, in order of first appearance: repeats

    def __getstate__(self) -> dict[str, object]:
        # Sent from the import's reader process: the memos are a cache, tens of thousands of entries.
        state = self.__dict__.copy()
        state["_once"], state["_repeated"] = {}, {}
        return state

    def add(self, message: KakaoMessage) -> None:
        """Take the next message of the conversation (any author, any kind)."""
        self.add_record(message.time, message.author, message.kind, message.text)

    def add_record(self, when: datetime, author: str, kind: str, text: str) -> None:
        """``add`` for a parser record (``KakaoReader.records()``): no message object needed."""
        if author != self.star_author:
            if not self._names.knows(author):
                if self._pending:
                    self._flush()  # the texts waiting were written before this name was known
                self._names.add(author)
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
        # The hot path of a million-message import: a text is counted per window of ``_WINDOW`` texts
        # (``_flush``), each distinct text once with its number of repeats.
        self._count += 1
        self._burst(when)
        pending = self._pending
        pending[text] = pending.get(text, 0) + 1
        if self._count % _WINDOW == 0:
            self._flush()
            if self._count % _PRUNE_EVERY == 0:
                _prune(self._words)
                _prune(self._phrases)
        self._sample(text)

    def _flush(self) -> None:
        """Count the texts of the window: the same counts, in the same order of first appearance, as
        counting each text as it came (every count is a sum; a key enters a counter at its first text).

        Everything counted of a text but its address terms by name is a function of the text alone
        (``_facts``), and chats repeat their short bubbles (응, 네, ㅋㅋㅋ, 밥 먹었어?): it is remembered.
        Names do not change within a window (a new participant's name flushes it first).
        """
        lengths, finals, words, phrases, address = (
            self._lengths,
            self._finals,
            self._words,
            self._phrases,
            self._address,
        )
        found = self._names.found
        repeated = self._repeated
        for text, n in self._pending.items():
            facts = repeated.get(text)
            if facts is None:
                facts = self._remember(text)
            (
                polite,
                plain,
                ends,
                laughs,
                cries,
                marks,
                laugh_tokens,
                emoji,
                emoticons,
                spaced,
                text_words,
                text_phrases,
                terms,
            ) = facts
            lengths[len(text)] += n
            self._polite += polite * n
            self._plain += plain * n
            for key in ends:
                finals[key] += n
            if laughs:
                _count(self._laughs, laughs, n)
            if cries:
                _count(self._cries, cries, n)
            if marks:
                _count(self._punctuation, marks, n)
            if laugh_tokens:
                _count(self._laugh_tokens, laugh_tokens, n)
            if emoji:
                self._emoji_messages += n
                _count(self._emoji, emoji, n)
            if emoticons:
                _count(self._emoticons, emoticons, n)
            if spaced is not None:
                self._long_hangul += n
                self._no_space += 0 if spaced else n
            for key in text_words:
                words[key] += n
            for key in text_phrases:
                phrases[key] += n
            if named := found(text):
                terms = terms.union(named)  # the detectors may agree: each term once per message
            for term in terms:
                address[term] += n
        self._pending.clear()

    def _remember(self, text: str) -> _Facts:
        """``_facts(text)`` for a text not (yet) among the repeated ones: from the texts seen once, or new."""
        facts = self._once.pop(text, None)
        if facts is not None:
            if len(self._repeated) >= _MEMO_SIZE:
                self._repeated.clear()
            self._repeated[text] = facts
            return facts
        facts = _facts(text)
        if len(text) <= _MEMO_CHARS:
            if len(self._once) >= _MEMO_SIZE:
                self._once.clear()
            self._once[text] = facts
        return facts

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
        self._flush()
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
