"""Screening the star's words before they are shown or spoken: the seam the chat service calls on a reply.

A star line about dying, self-harm or joining the dead, or one that follows injected instructions, is
withheld (the caller asks its engine again without it); a scam line blocks the turn as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.domain.identity import Locale
from core.safety.check import SafetyGuard
from core.safety.verdict import SafetyVerdict


@dataclass(frozen=True, slots=True, kw_only=True)
class ScreenedLines:
    """The lines that may be sent, those withheld (with their reason codes) and a scam verdict if any."""

    lines: tuple[str, ...]
    withheld: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    scam: SafetyVerdict | None = None


async def screen_star_lines(guard: SafetyGuard, lines: Sequence[str], locale: Locale | str) -> ScreenedLines:
    """Check each candidate line with the ``star`` role."""
    kept: list[str] = []
    withheld: list[str] = []
    reasons: list[str] = []
    for line in lines:
        verdict = await guard.check(line, role="star", locale=locale)
        if verdict.allowed:
            kept.append(line)
        elif verdict.reasons and verdict.reasons[0] in {"crisis_content", "injection"}:
            withheld.append(line.strip())
            reasons.extend(r for r in verdict.reasons[:1] if r not in reasons)
        else:
            return ScreenedLines(lines=tuple(kept), scam=verdict)
    return ScreenedLines(lines=tuple(kept), withheld=tuple(withheld), reasons=tuple(reasons))
