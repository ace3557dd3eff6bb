"""Yes and no: the one set of words every question accepts, typed or pressed.

A button sends its flow value (``f:yes``); a typed answer is compared without case, surrounding spaces or
trailing punctuation ("네.", "Yes!"). Every flow and confirmation asks through here, so ``/forget`` accepts
exactly what ``/new`` accepts.
"""

from __future__ import annotations

from enum import Enum

from core.domain.events import ChoiceMade, Event, TextMessage
from core.flows.base import flow_value

YES_WORDS = frozenset({"yes", "y", "ok", "예", "네", "넵", "응", "동의", "동의합니다", "동의해요"})
"""What counts as yes, in Korean and English."""
NO_WORDS = frozenset({"no", "n", "아니요", "아니오", "아니", "아뇨", "싫어요", "거부"})
"""What counts as no."""
_TRAILING = " \t.!~。"


class Answer(Enum):
    """A yes/no question's answer."""

    YES = "yes"
    NO = "no"
    OTHER = "other"


def answer_text(event: Event) -> str:
    """The answer an event carries: a flow button's value, or typed text (lower case, trimmed), else ""."""
    match event:
        case ChoiceMade(key=key):
            return flow_value(key) or ""
        case TextMessage(text=text):
            return text.strip().strip(_TRAILING).lower()
        case _:
            return ""


def yes_or_no(event: Event) -> Answer:
    """Whether ``event`` says yes, no, or neither."""
    said = answer_text(event)
    if said in YES_WORDS:
        return Answer.YES
    if said in NO_WORDS:
        return Answer.NO
    return Answer.OTHER


def said_yes(event: Event) -> bool:
    """Whether ``event`` says yes (anything else is not a yes)."""
    return yes_or_no(event) is Answer.YES
