"""A style profile in words: for the user (``describe``, both locales) and for an LLM (``style_hints``)."""

from __future__ import annotations

from core.i18n import t
from core.personas.style.model import StyleProfile

_MIN_MESSAGES = 5
_HABIT = 0.2
"""A marker used in at least this share of messages counts as a habit worth mentioning."""


def peak_hours(hours: tuple[int, ...], width: int = 4) -> tuple[int, int] | None:
    """The ``width``-hour window (wrapping at midnight) with the most messages: ``(start, end)``."""
    if not any(hours):
        return None
    start = max(range(24), key=lambda h: (sum(hours[(h + i) % 24] for i in range(width)), -h))
    return start, (start + width) % 24


def _length_key(median: float) -> str:
    if median <= 15:
        return "kakao.style.length_short"
    if median <= 35:
        return "kakao.style.length_medium"
    return "kakao.style.length_long"


def _pct(rate: float) -> int:
    return round(rate * 100)


def describe(profile: StyleProfile, locale: str) -> str:
    """The profile in plain words for the user, one bullet per habit, in ``locale`` (``ko`` or ``en``)."""
    if profile.message_count < _MIN_MESSAGES:
        return t(locale, "kakao.style.too_few", count=profile.message_count)
    lines = [t(locale, _length_key(profile.median_length), median=round(profile.median_length))]
    if profile.burst_rate >= 0.3:
        lines.append(t(locale, "kakao.style.bursts", size=f"{profile.mean_burst_size:.1f}"))
    else:
        lines.append(t(locale, "kakao.style.single_bubble"))
    if profile.speech_level != "unknown":
        lines.append(
            t(locale, f"kakao.style.level_{profile.speech_level}", percent=_pct(profile.polite_ratio))
        )
    if profile.laughter and profile.laughter[0][1] >= 0.05:
        marker, rate = profile.laughter[0]
        lines.append(t(locale, "kakao.style.laughter", marker=marker, percent=_pct(rate)))
    if profile.crying and profile.crying[0][1] >= 0.03:
        lines.append(t(locale, "kakao.style.crying", marker=profile.crying[0][0]))
    if profile.emoji and profile.emoji_rate >= 0.03:
        lines.append(t(locale, "kakao.style.emoji", emoji=" ".join(e for e, _ in profile.emoji[:3])))
    if profile.emoticons:
        lines.append(
            t(locale, "kakao.style.emoticons", emoticons=" ".join(e for e, _ in profile.emoticons[:3]))
        )
    for marker, key in (("~", "tilde"), ("!!", "exclaim"), ("??", "question")):
        if profile.rate("punctuation", marker) >= _HABIT:
            lines.append(t(locale, f"kakao.style.{key}"))
    if dots := _dots(profile):
        lines.append(t(locale, "kakao.style.ellipsis", marker=dots))
    lines.extend(_ending_lines(profile, locale))
    if profile.no_space_ratio >= 0.4:
        lines.append(t(locale, "kakao.style.no_space"))
    if profile.address_terms:
        terms = ", ".join(term for term, _ in profile.address_terms[:3])
        lines.append(t(locale, "kakao.style.address", terms=terms))
    if profile.top_words:
        lines.append(t(locale, "kakao.style.words", words=", ".join(w for w, _ in profile.top_words[:5])))
    if profile.top_phrases:
        phrases = ", ".join(f"'{p}'" for p, _ in profile.top_phrases[:3])
        lines.append(t(locale, "kakao.style.phrases", phrases=phrases))
    if window := peak_hours(profile.active_hours):
        lines.append(t(locale, "kakao.style.hours", start=window[0], end=window[1]))
    if profile.traits:
        lines.append(t(locale, "kakao.style.traits", traits="; ".join(profile.traits)))
    heading = t(locale, "kakao.style.heading", count=profile.message_count)
    return "\n".join([heading, *(f"• {line}" for line in lines)])


def style_hints(profile: StyleProfile) -> list[str]:
    """Short English hints for an LLM prompt (never shown to users)."""
    if profile.message_count == 0:
        return []
    hints = [f"writes {_length_word(profile.median_length)} messages, median {profile.median_length:g} chars"]
    if profile.burst_rate >= 0.3:
        hints.append(f"splits one thought into several short bubbles (about {profile.mean_burst_size:.1f})")
    level = {
        "banmal": "uses 반말 (casual speech)",
        "jondaetmal": "uses 존댓말 (polite speech)",
        "mixed": f"mixes 반말 and 존댓말 ({_pct(profile.polite_ratio)}% polite)",
    }.get(profile.speech_level)
    if level:
        hints.append(level)
    if profile.endings:
        hints.append("often ends sentences with " + ", ".join(f"-{e}" for e, _ in profile.endings[:4]))
    for marker, rate in profile.laughter[:2]:
        if rate >= 0.05:
            token = profile.laugh_token or marker
            hints.append(f"laughs with {token} {'often' if rate >= _HABIT else 'sometimes'} ({_pct(rate)}%)")
    for marker, rate in profile.crying[:1]:
        if rate >= 0.03:
            hints.append(f"uses {marker} for sadness or being moved")
    if profile.emoji and profile.emoji_rate >= 0.03:
        hints.append("uses emoji " + " ".join(e for e, _ in profile.emoji[:3]))
    if profile.emoticons:
        hints.append("uses emoticons " + " ".join(e for e, _ in profile.emoticons[:3]))
    for marker in ("~", "!!", "??"):
        if profile.rate("punctuation", marker) >= _HABIT:
            hints.append(f"often writes {marker}")
    if dots := _dots(profile):
        hints.append(f"often trails off with {dots} (exactly {len(dots)} dots)")
    if profile.rate("punctuation", ".") < 0.1:
        hints.append("rarely ends a message with a period")
    if profile.no_space_ratio >= 0.4:
        hints.append("often skips spaces between words")
    if profile.address_terms:
        hints.append("calls the user " + ", ".join(term for term, _ in profile.address_terms[:3]))
    if profile.top_phrases:
        hints.append("favourite phrases: " + ", ".join(p for p, _ in profile.top_phrases[:5]))
    if profile.top_words:
        hints.append("frequent words: " + ", ".join(w for w, _ in profile.top_words[:8]))
    hints.extend(profile.traits)
    return hints


def _dots(profile: StyleProfile) -> str:
    """The star's ellipsis as typed (``..`` or ``...``) when it is a habit, else ``""``."""
    two, three = profile.rate("punctuation", ".."), profile.rate("punctuation", "...")
    if two + three < _HABIT:
        return ""
    return ".." if two > three else "..."


_NAMED_ENDINGS = (("니?", "style.ending_ni"), ("라", "style.ending_ra"))
_ENDING_SHARE = 0.04
"""A named ending is mentioned when at least this share of the star's sentence endings use it."""


def _ending_lines(profile: StyleProfile, locale: str) -> list[str]:
    """Her characteristic endings by name (-니? questions, -라 advice), then the most common ones."""
    if not profile.endings:
        return []
    counts = dict(profile.endings)
    total = sum(counts.values())
    lines = [
        t(locale, key) for ending, key in _NAMED_ENDINGS if counts.get(ending, 0) >= _ENDING_SHARE * total
    ]
    common = ", ".join(f"-{e}" for e, _ in profile.endings[:4])
    lines.append(t(locale, "style.endings", endings=common))
    return lines


def _length_word(median: float) -> str:
    return "short" if median <= 15 else "medium-length" if median <= 35 else "long"
