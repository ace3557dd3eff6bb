"""Reshape a reply in the star's style: speech level, punctuation habits, laughter, emoji and bubbles.

Conservative by design: only endings it can convert safely are changed, and every random choice comes
from ``random.Random(rng_seed)``, so the same reply, profile and seed always give the same bubbles.
"""

from __future__ import annotations

import random
import re

from core.personas.style.model import StyleProfile

_SENTENCE = re.compile(r"[^.!?~\n]+[.!?~]*")
_TRAILING = re.compile(r"[.!?~…]+\Z")
# Polite → casual: only endings whose casual form is unambiguous.
_TO_BANMAL = (
    (re.compile(r"이에요\Z"), "이야"),
    (re.compile(r"예요\Z"), "야"),
    (re.compile(r"(?<=[어아해워와져봐돼래네지게])요\Z"), ""),
)
# Casual → polite.
_TO_POLITE = (
    (re.compile(r"(?<=[가-힣])이야\Z"), "이에요"),
    (re.compile(r"(?<=[어아해워와져봐돼래지게])\Z"), "요"),
)
_HANGUL_END = re.compile(r"[가-힣]\Z")


def _convert_level(sentence: str, level: str) -> str:
    body = _TRAILING.sub("", sentence)
    tail = sentence[len(body) :]
    if not _HANGUL_END.search(body):
        return sentence
    rules = _TO_BANMAL if level == "banmal" else _TO_POLITE if level == "jondaetmal" else ()
    for pattern, replacement in rules:
        if pattern.search(body):
            return pattern.sub(replacement, body, count=1) + tail
    return sentence


def _punctuate(sentence: str, profile: StyleProfile, rng: random.Random) -> str:
    body = _TRAILING.sub("", sentence)
    tail = sentence[len(body) :]
    if not body:
        return sentence
    if tail in ("", ".") and profile.rate("punctuation", ".") < 0.1:
        tail = ""
    tilde = profile.rate("punctuation", "~")
    two, three = profile.rate("punctuation", ".."), profile.rate("punctuation", "...")
    dots = two + three
    if tail in ("", ".") and rng.random() < tilde:
        tail = "~~" if profile.rate("punctuation", "~~") >= tilde / 2 else "~"
    elif tail in ("", ".") and rng.random() < dots:
        tail = ".." if two > three else "..."  # as they typed it
    elif tail == "!" and rng.random() < profile.rate("punctuation", "!!") * 2:
        tail = "!!"
    elif tail == "?" and rng.random() < profile.rate("punctuation", "??") * 2:
        tail = "??"
    return body + tail


def _group(sentences: list[str], bubbles: int) -> list[str]:
    """Split sentences into ``bubbles`` contiguous groups of nearly equal size."""
    size, extra = divmod(len(sentences), bubbles)
    out: list[str] = []
    start = 0
    for index in range(bubbles):
        end = start + size + (1 if index < extra else 0)
        out.append(" ".join(sentences[start:end]))
        start = end
    return out


def apply_style(text: str, profile: StyleProfile, rng_seed: int) -> list[str]:
    """Adapt ``text`` to the star's habits and split it into bubbles the way they did."""
    sentences = [s.strip() for s in _SENTENCE.findall(text) if s.strip()]
    if not sentences:
        return [text.strip()] if text.strip() else []
    if profile.message_count == 0:
        return [" ".join(sentences)]
    rng = random.Random(rng_seed)
    sentences = [_punctuate(_convert_level(s, profile.speech_level), profile, rng) for s in sentences]
    if profile.burst_rate >= 0.3 and len(sentences) > 1:
        wanted = max(2, round(profile.mean_burst_size + rng.uniform(-0.5, 0.5)))
        bubbles = _group(sentences, min(len(sentences), wanted))
    else:
        bubbles = [" ".join(sentences)]
    laugh = profile.laughter[0][1] if profile.laughter else 0.0
    if profile.laugh_token and rng.random() < min(0.8, laugh * 1.5):
        target = rng.randrange(len(bubbles))
        bubbles[target] = f"{bubbles[target]} {profile.laugh_token}"
    if profile.emoji and rng.random() < min(0.8, profile.emoji_rate * 1.5):
        bubbles[-1] = f"{bubbles[-1]} {profile.emoji[0][0]}"
    return [b for b in bubbles if b]
