"""Style profiles: how a star wrote, computed from their KakaoTalk messages.

``build_style_profile`` turns the star's messages into a ``StyleProfile`` (stored as JSON by the import);
``describe`` tells the user about it in plain words, ``style_hints`` gives an LLM prompt short hints,
``apply_style`` reshapes a reply into the star's bubbles, and ``extract_traits`` asks an LLM for ~10
characteristic traits.
"""

from __future__ import annotations

import bisect
import itertools
import statistics
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

from core.personas import style_text as st
from core.personas.kakao.model import KakaoMessage
from core.personas.style_apply import apply_style
from core.personas.style_describe import describe, style_hints
from core.personas.style_model import SpeechLevel, StyleProfile
from core.personas.style_traits import extract_traits

__all__ = [
    "StyleProfile",
    "apply_style",
    "build_style_profile",
    "describe",
    "extract_traits",
    "style_hints",
]

BURST_GAP = timedelta(seconds=60)
"""Bubbles sent within this time of the previous one belong to the same thought."""


def _bursts(texts: list[KakaoMessage], others: list[KakaoMessage]) -> list[int]:
    """Sizes of the star's bursts: consecutive bubbles within ``BURST_GAP`` and nobody else in between."""
    other_times = sorted(m.time for m in others)
    sizes: list[int] = []
    previous = None
    for message in texts:
        if previous is not None and message.time - previous.time <= BURST_GAP:
            # Another participant writing strictly between the two bubbles ends the burst.
            i = bisect.bisect_right(other_times, previous.time)
            interrupted = i < len(other_times) and other_times[i] < message.time
            if not interrupted:
                sizes[-1] += 1
                previous = message
                continue
        sizes.append(1)
        previous = message
    return sizes


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


def build_style_profile(
    star_messages: Iterable[KakaoMessage], other_messages: Iterable[KakaoMessage] | None = None
) -> StyleProfile:
    """Compute the star's style from their messages; ``other_messages`` (the user's side) give the
    names the star used for them and tell where a burst of bubbles was interrupted by a reply."""
    star = list(star_messages)
    others = list(other_messages or ())
    texts = [m for m in star if m.kind == "text" and m.text.strip()]
    hours = [0] * 24
    for m in star:
        hours[m.time.hour] += 1
    if not texts:
        return StyleProfile(active_hours=tuple(hours))

    names = st.given_names({m.author for m in others})
    lengths = [len(m.text) for m in texts]
    polite = plain = 0
    finals: Counter[str] = Counter()
    laughs: Counter[str] = Counter()
    laugh_tokens: Counter[str] = Counter()
    cries: Counter[str] = Counter()
    emoji: Counter[str] = Counter()
    emoji_messages = 0
    emoticons: Counter[str] = Counter()
    punctuation: Counter[str] = Counter()
    long_hangul = no_space = 0
    words: Counter[str] = Counter()
    phrases: Counter[str] = Counter()
    address: Counter[str] = Counter()
    for m in texts:
        text = m.text
        p, q, ends = st.speech_level_of(text)
        polite += p
        plain += q
        finals.update(ends)
        laughs.update(k for k, rx in st.LAUGHTER.items() if rx.search(text))
        laugh_tokens.update(t.lower() for t in st.LAUGH_TOKEN.findall(text))
        cries.update(k for k, rx in st.CRYING.items() if rx.search(text))
        found = st.EMOJI.findall(text)
        emoji.update(found)
        emoji_messages += bool(found)
        emoticons.update(st.EMOTICONS.findall(text))
        punctuation.update(k for k, rx in st.PUNCTUATION.items() if rx.search(text))
        if len(text) >= 6 and st.HANGUL.search(text):
            long_hangul += 1
            no_space += " " not in text.strip()
        toks = st.tokens(text)
        words.update(t for t in toks if t not in st.STOPWORDS)
        phrases.update(
            f"{a} {b}" for a, b in itertools.pairwise(toks) if not (a in st.STOPWORDS and b in st.STOPWORDS)
        )
        address.update(set(st.address_terms(text, names)))  # per message: two detectors may agree

    bursts = _bursts(texts, others)
    level, ratio = _speech_level(polite, plain)
    count = len(texts)
    return StyleProfile(
        message_count=count,
        median_length=float(statistics.median(lengths)),
        mean_length=round(statistics.fmean(lengths), 2),
        burst_rate=round(sum(1 for b in bursts if b > 1) / len(bursts), 4),
        mean_burst_size=round(len(texts) / len(bursts), 3),
        speech_level=level,
        polite_ratio=round(ratio, 4),
        endings=st.top(finals, 8),
        laughter=_rates(laughs, count),
        laugh_token=laugh_tokens.most_common(1)[0][0] if laugh_tokens else "",
        crying=_rates(cries, count),
        emoji=st.top(emoji, 5, minimum=1),
        emoji_rate=round(emoji_messages / count, 4),
        emoticons=st.top(emoticons, 5, minimum=1),
        punctuation=_rates(punctuation, count),
        no_space_ratio=round(no_space / long_hangul, 4) if long_hangul else 0.0,
        top_words=st.top(words, 10),
        top_phrases=st.top(phrases, 10),
        address_terms=st.top(address, 5),
        active_hours=tuple(hours),
    )
