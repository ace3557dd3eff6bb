"""Style profiles: how a star wrote, computed from their KakaoTalk messages.

``build_style_profile`` turns the star's messages into a ``StyleProfile`` (stored as JSON by the import;
``StyleAccumulator`` does the same while a whole conversation streams past);
``describe`` tells the user about it in plain words, ``style_hints`` gives an LLM prompt short hints,
``apply_style`` reshapes a reply into the star's bubbles, and ``extract_traits`` asks an LLM for ~10
characteristic traits.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from datetime import datetime

from core.personas.kakao.model import KakaoMessage
from core.personas.style.apply import apply_style
from core.personas.style.build import BURST_GAP, StyleAccumulator
from core.personas.style.describe import describe, style_hints
from core.personas.style.model import StyleProfile
from core.personas.style.traits import extract_traits

__all__ = [
    "BURST_GAP",
    "StyleAccumulator",
    "StyleProfile",
    "apply_style",
    "build_style_profile",
    "describe",
    "extract_traits",
    "style_hints",
]


def _by_time(message: KakaoMessage) -> datetime:
    return message.time


def build_style_profile(
    star_messages: Iterable[KakaoMessage], other_messages: Iterable[KakaoMessage] | None = None
) -> StyleProfile:
    """Compute the star's style from their messages; ``other_messages`` (the user's side) give the
    names the star used for them and tell where a burst of bubbles was interrupted by a reply."""
    star = sorted(star_messages, key=_by_time)
    others = sorted(other_messages or (), key=_by_time)
    if not star:
        return StyleProfile()
    accumulator = StyleAccumulator(star[0].author, other_names=tuple({m.author for m in others}))
    for message in heapq.merge(star, others, key=_by_time):
        accumulator.add(message)
    return accumulator.profile()
