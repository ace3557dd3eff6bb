"""Turning a model's reply into chat bubbles, and pacing them like someone typing.

The persona prompt asks the model to separate bubbles with a blank line (``BUBBLE_DELIMITER`` is accepted
too). Models still drift: they prefix lines with the star's name, copy the ``[2023-01-05]`` dates they saw
in the quoted memories, echo data fences or wrap everything in quotes. ``split_bubbles`` undoes all that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

BUBBLE_DELIMITER = "|||"
"""An explicit bubble separator some models prefer to blank lines; accepted as well."""

MAX_BUBBLE_CHARS = 1000
"""Longer bubbles are cut: a chat message from a person is never a page (Discord allows 2000)."""

_GENERIC_ROLES = ("assistant", "ai", "bot", "star", "model", "system")
_BLANK_LINE = re.compile(r"\n[ \t\u3000]*\n")
_DATE_PREFIX = re.compile(
    r"^\s*(?:\[[^\]\n]{0,40}\]\s*)+"  # [2023-01-05] [오후 3:04] [엄마]
)
_FENCE_LINE = re.compile(r"^\s*<<<.*>>>\s*$", re.MULTILINE)
_SHORT_LINE = 60


def _role_prefix(names: Iterable[str]) -> re.Pattern[str]:
    alternatives = sorted({n.strip() for n in (*names, *_GENERIC_ROLES) if n.strip()}, key=len, reverse=True)
    joined = "|".join(re.escape(a) for a in alternatives)
    return re.compile(rf"^\s*(?:\*\*)?(?:{joined})(?:\*\*)?\s*[:：]\s*", re.IGNORECASE)


def _clean_bubble(text: str, prefix: re.Pattern[str]) -> str:
    lines = []
    for raw in text.splitlines():
        line = _DATE_PREFIX.sub("", raw) if _DATE_PREFIX.match(raw) else raw
        line = prefix.sub("", line, count=1)
        lines.append(line.rstrip())
    cleaned = "\n".join(lines).strip()
    if len(cleaned) >= 2 and cleaned[0] == cleaned[-1] and cleaned[0] in "\"'“”":
        cleaned = cleaned[1:-1].strip()
    if len(cleaned) > 2 and cleaned[0] == "“" and cleaned[-1] == "”":
        cleaned = cleaned[1:-1].strip()
    if len(cleaned) > MAX_BUBBLE_CHARS:
        cleaned = cleaned[: MAX_BUBBLE_CHARS - 1].rstrip() + "…"
    return cleaned


def split_bubbles(text: str, max_bubbles: int = 5, *, names: Iterable[str] = ()) -> list[str]:
    """Split a model reply into at most ``max_bubbles`` non-empty chat bubbles.

    Bubbles are separated by blank lines or ``BUBBLE_DELIMITER``; when the model used neither but wrote
    several short lines, each line is a bubble (that is how people text). Role prefixes (``엄마:``,
    ``assistant:``, any of ``names``), bracketed dates and echoed data fences are stripped. Bubbles past
    ``max_bubbles`` are joined into the last one, so nothing the model said is lost.
    """
    if max_bubbles < 1:
        raise ValueError("max_bubbles must be at least 1")
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    body = _FENCE_LINE.sub("", body).replace(BUBBLE_DELIMITER, "\n\n")
    parts = _BLANK_LINE.split(body.strip())
    if len(parts) == 1:
        lines = [ln for ln in parts[0].split("\n") if ln.strip()]
        if len(lines) > 1 and all(len(ln.strip()) <= _SHORT_LINE for ln in lines):
            parts = lines
    prefix = _role_prefix(names)
    bubbles = [b for b in (_clean_bubble(p, prefix) for p in parts) if b]
    if len(bubbles) > max_bubbles:
        head, tail = bubbles[: max_bubbles - 1], bubbles[max_bubbles - 1 :]
        bubbles = [*head, _clean_bubble(" ".join(tail), prefix)]
    return bubbles


def typing_pause_s(
    text: str, *, chars_per_s: float = 25.0, floor_s: float = 0.4, cap_s: float = 2.5
) -> float:
    """Seconds to show "typing..." before sending ``text``: short, proportional to its length, capped."""
    if not text.strip():
        return 0.0
    return round(min(cap_s, floor_s + len(text.strip()) / chars_per_s), 3)
