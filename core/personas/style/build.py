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
_MEMO_SIZE: Final = 1 << 15
"""Distinct texts whose ``_facts`` are remembered (then forgotten all at once): a few MB at most."""
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


def _count(counter: Counter[str], keys: tuple[str, ...]) -> None:
    for key in keys:
        counter[key] += 1


def _facts(text: str) -> _Facts:
    """What the style profile counts of one text of the star's, except address terms by name."""
    polite, plain, ends = st.speech_level_of(text)
    latin = st.LATIN.search(text) is not None
    laughs, cries, marks = st.marker_keys(text, latin=latin)
    laugh_tokens = tuple(token.lower() for token in st.laugh_tokens(text, latin=latin))
    spaced = " " in text.strip() if len(text) >= 6 and st.HANGUL.search(text) else None
    toks = st.tokens(text)
    stop = st.STOPWORDS
    words = tuple(a for a in toks if a not in stop)
    phrases = tuple(f"{a} {b}" for a, b in itertools.pairwise(toks) if not (a in stop and b in stop))
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
        frozenset(st.unnamed_address_terms(text, latin=latin)),
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
        self._memo: dict[str, _Facts] = {}

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
        # The hot path of a million-message import. Everything counted of a text but its address terms
        # by name is a function of the text alone (``_facts``), and chats repeat their short bubbles
        # (응, 네, ㅋㅋㅋ, 밥 먹었어?): a repeated text costs a dict lookup and the increments.
        self._count += 1
        self._burst(when)
        self._lengths[len(text)] += 1
        memo = self._memo
        facts = memo.get(text)
        if facts is None:
            facts = _facts(text)
            if len(text) <= _MEMO_CHARS:
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                memo[text] = facts
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
            words,
            phrases,
            terms,
        ) = facts
        self._polite += polite
        self._plain += plain
        if ends:
            _count(self._finals, ends)
        if laughs:
            _count(self._laughs, laughs)
        if cries:
            _count(self._cries, cries)
        if marks:
            _count(self._punctuation, marks)
        if laugh_tokens:
            _count(self._laugh_tokens, laugh_tokens)
        if emoji:
            self._emoji_messages += 1
            counter = self._emoji
            for key in emoji:
                counter[key] += 1
        if emoticons:
            _count(self._emoticons, emoticons)
        if spaced is not None:
            self._long_hangul += 1
            self._no_space += not spaced
        counter = self._words
        for key in words:
            counter[key] += 1
        counter = self._phrases
        for key in phrases:
            counter[key] += 1
        if self._count % 4096 == 0:
            _prune(self._words)
            _prune(self._phrases)
        if named := self._names.found(text):
            terms = terms.union(named)  # the detectors may agree: each term once per message
        address = self._address
        for term in terms:
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
