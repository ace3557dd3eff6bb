"""``SafetyGuard``: the one safety check every adapter's traffic passes through, and the JSON contract of
``vos safety check``.

Crisis beats block: a message that is both a crisis and a scam risk gets the crisis hand-off, because a
person in danger comes first (the hand-off text never repeats the user's words, so nothing leaks).
Crisis detection applies to the user's own messages only; the star's replies and speech get the scam guard
with its stricter thresholds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from core.domain.identity import Locale
from core.ports import ChatModel
from core.safety.crisis import CrisisDetector
from core.safety.scam_guard import ScamGuard
from core.safety.verdict import ROLES, Role, SafetyVerdict


class SafetyGuard:
    """Scam guard plus crisis detector; give it a chat model to get a second opinion on borderline texts."""

    def __init__(
        self,
        model: ChatModel | None = None,
        *,
        scam: ScamGuard | None = None,
        crisis: CrisisDetector | None = None,
    ) -> None:
        self.scam = scam or ScamGuard(model)
        self.crisis = crisis or CrisisDetector(model)

    @staticmethod
    def _combine(crisis: SafetyVerdict | None, scam: SafetyVerdict) -> SafetyVerdict:
        if crisis is not None and crisis.crisis:
            return crisis
        return scam

    def check_sync(self, text: str, role: Role = "user", locale: Locale | str | None = None) -> SafetyVerdict:
        """Rules only (no model call): ``allow``, ``block`` or, for ``role="user"``, ``crisis``."""
        _check_role(role)
        crisis = self.crisis.check_sync(text) if role == "user" else None
        return self._combine(crisis, self.scam.check_sync(text, role))

    async def check(
        self, text: str, role: Role = "user", locale: Locale | str | None = None
    ) -> SafetyVerdict:
        """Rules, then the model for borderline cases when one is configured.

        ``locale`` is accepted for callers that know it; the rules are bilingual and do not need it.
        """
        _check_role(role)
        crisis = await self.crisis.check(text) if role == "user" else None
        if crisis is not None and crisis.crisis:
            return crisis
        return self._combine(crisis, await self.scam.check(text, role))


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")


def verdict_json(verdict: SafetyVerdict) -> dict[str, Any]:
    """The stable JSON shape of ``vos safety check --json``: ``{"verdict": ..., "reasons": [...]}``."""
    return {"verdict": verdict.verdict, "reasons": list(verdict.reasons)}


def _parse_line(number: int, line: str) -> tuple[dict[str, Any], str, Role] | dict[str, Any]:
    """An input line as ``(object, text, role)``, or an error object to print instead."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return {"line": number, "error": f"invalid JSON: {exc.msg}"}
    if not isinstance(obj, dict):
        return {"line": number, "error": "each line must be a JSON object"}
    text, role = obj.get("text"), obj.get("role", "user")
    if not isinstance(text, str):
        return {**obj, "error": "missing string field 'text'"}
    if role not in ROLES:
        return {**obj, "error": f"role must be one of {', '.join(ROLES)}"}
    return obj, text, role


def _dump(obj: dict[str, Any]) -> str:
    return json.dumps(obj, ensure_ascii=False)


def check_jsonl_lines(lines: Iterable[str], guard: SafetyGuard) -> Iterator[str]:
    """``vos safety check --jsonl`` with rules only: one output line per non-blank input line, in order.

    Each output is the input object plus ``verdict`` and ``reasons``; a line that cannot be read becomes an
    object with ``error`` (and ``line``, its 1-based number, when the input was not an object).
    """
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parsed = _parse_line(number, line)
        if isinstance(parsed, dict):
            yield _dump(parsed)
            continue
        obj, text, role = parsed
        yield _dump({**obj, **verdict_json(guard.check_sync(text, role))})


async def acheck_jsonl_lines(lines: Iterable[str], guard: SafetyGuard) -> AsyncIterator[str]:
    """``check_jsonl_lines`` through ``SafetyGuard.check`` (uses the model for borderline lines)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parsed = _parse_line(number, line)
        if isinstance(parsed, dict):
            yield _dump(parsed)
            continue
        obj, text, role = parsed
        yield _dump({**obj, **verdict_json(await guard.check(text, role))})
