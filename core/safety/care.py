"""Care after a crisis verdict: the star's in-character replies pause for that conversation until the user
says they are safe or a cool-down passes, and a gentle check-in comes first when they return.

The state is read from the conversation's safety events (``crisis``, ``safe``, ``checkin``: no content),
so it holds across restarts and processes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from core.domain.identity import Locale
from core.i18n import t
from core.safety.crisis import CrisisResources
from core.safety.text import normalize
from core.storage.turns import CARE_VERDICTS

_SAFE = re.compile(
    r"\b(i'?m|i am|im)\s+(safe|okay|ok|alright|all right|fine|good)( now)?\b|"
    r"\bi'?m not going to (hurt|kill)\b|"
    r"\bfeeling (a bit |a little )?better\b|\bi'?ll be (ok|okay|fine|safe)\b|\bi'?m still here\b|"
    r"(?<!안 )(?<!안)(?<!못 )괜찮(아|아요|습니다|어|다|아졌|아짐|음)|"
    r"안전(해|해요|합니다|하다)|걱정\s*(마|하지\s*마)|"
    r"(안|않)\s*죽(어|을게|을\s*거)|살\s*(게|거야|께)|나아졌|좀\s*나아|고비\s*넘겼",
    re.I,
)


__all__ = [
    "CARE_VERDICTS",
    "CareOptions",
    "CareState",
    "care_state",
    "check_in",
    "paused_reply",
    "safe_ack",
    "says_safe",
]


def says_safe(text: str) -> bool:
    """Whether the user says they are safe (or better) now."""
    return _SAFE.search(normalize(text)) is not None


class CareState(Enum):
    """Where a conversation stands after a crisis hand-off."""

    NORMAL = "normal"
    PAUSED = "paused"
    RETURNING = "returning"


@dataclass(frozen=True, slots=True, kw_only=True)
class CareOptions:
    """How long in-character replies pause after a crisis hand-off unless the user says they are safe."""

    cooldown: timedelta = timedelta(hours=12)


def care_state(last: tuple[str, datetime] | None, now: datetime, options: CareOptions) -> CareState:
    """The state from the conversation's latest care event (``None``: never any)."""
    if last is None:
        return CareState.NORMAL
    verdict, at = last
    if verdict == "crisis":
        return CareState.PAUSED if now - at < options.cooldown else CareState.RETURNING
    if verdict == "safe":
        return CareState.RETURNING
    return CareState.NORMAL


def paused_reply(locale: Locale | str, star: str, resources: CrisisResources | None = None) -> str:
    """The out-of-character answer while the star is paused."""
    lines = (resources or CrisisResources()).lines_for(locale)
    listed = "\n".join(t(locale, "safety.crisis.line", name=name, number=number) for name, number in lines)
    return t(locale, "safety.care.paused", star=star, lines=listed)


def safe_ack(locale: Locale | str, star: str) -> str:
    """Thanks for saying they are safe; the star comes back from the next message."""
    return t(locale, "safety.care.safe_ack", star=star)


def check_in(locale: Locale | str) -> str:
    """The gentle check-in that comes before the star's first reply after a pause."""
    return t(locale, "safety.care.check_in")
