"""``SafetyGuard``: the one safety check every adapter's traffic passes through, and the JSON contract of
``vos safety check``.

Offline it combines the rules (certain cases, explainable reasons) with the semantic heads over the
Embedder's vectors (``semantic.py``), the crisis head also over the conversation's last few messages. With a
chat model configured, every user message is also put to the model's classifier prompts (and, on OpenAI,
to its moderation endpoint); a model that times out or fails leaves the offline verdict.

Crisis beats block: a person in danger comes first. The star's words (``star``, ``speech``) are screened
for scams, for crisis content (a star never talks about dying or self-harm) and for lines that follow
injected instructions; those come back as ``block``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

from core.domain.identity import Locale
from core.ports import ChatModel, Embedder, Moderator
from core.safety.classifier import classify
from core.safety.crisis import CrisisDetector
from core.safety.injection import follows_injection
from core.safety.scam_guard import CLASSIFIER_REASON, SCAM_REASONS, ScamGuard
from core.safety.semantic import SemanticSafety
from core.safety.verdict import ROLES, Role, SafetyVerdict

log = logging.getLogger(__name__)
SEMANTIC_REASON = "meaning"
MODERATION_REASON = "moderation"
STAR_CRISIS_REASON = "crisis_content"
INJECTION_REASON = "injection"


class SafetyGuard:
    """Rules + semantic heads offline; every user message also to the model when one is configured."""

    def __init__(
        self,
        model: ChatModel | None = None,
        *,
        embedder: Embedder | None = None,
        semantic: SemanticSafety | None = None,
        moderator: Moderator | None = None,
        scam: ScamGuard | None = None,
        crisis: CrisisDetector | None = None,
        model_timeout_s: float = 15.0,
    ) -> None:
        self.model = model
        self.moderator = moderator
        self.semantic = semantic or (SemanticSafety(embedder) if embedder is not None else None)
        self.scam = scam or ScamGuard()
        self.crisis = crisis or CrisisDetector()
        self.model_timeout_s = model_timeout_s

    def check_sync(
        self,
        text: str,
        role: Role = "user",
        locale: Locale | str | None = None,
        *,
        conversation: str | None = None,
    ) -> SafetyVerdict:
        """The offline verdict (rules + heads, no model call). Blocking: embeds ``text`` once.

        ``conversation`` (user messages only) names the conversation whose recent messages count too.
        """
        return self._offline(text, role, conversation)[0]

    def _offline(self, text: str, role: Role, conversation: str | None) -> tuple[SafetyVerdict, bool]:
        """The offline verdict, and whether a crisis verdict is one a model may not overrule."""
        _check_role(role)
        crisis_rule = self.crisis.check_sync(text)
        scam_rule = self.scam.check_sync(text, role)
        semantic = self.semantic
        scores = semantic.scores(text, conversation if role == "user" else None) if semantic else None
        head_crisis = semantic is not None and scores is not None and semantic.crisis_hit(scores)
        if role != "user" and head_crisis:
            # A star's everyday line is short and easily near a crisis line: withhold it on a sure head only.
            head_crisis = semantic is not None and scores is not None and semantic.crisis_sure(scores)
        if crisis_rule.crisis or head_crisis:
            reasons = crisis_rule.reasons if crisis_rule.crisis else (SEMANTIC_REASON,)
            sure = crisis_rule.crisis or (
                semantic is not None and scores is not None and semantic.crisis_sure(scores)
            )
            if role != "user":
                return SafetyVerdict(verdict="block", reasons=(STAR_CRISIS_REASON, *reasons), score=1.0), True
            if conversation is not None and semantic is not None:
                semantic.window.clear(conversation)
            return SafetyVerdict(verdict="crisis", reasons=reasons, score=max(crisis_rule.score, 0.5)), sure
        if role != "user" and follows_injection(text):
            return SafetyVerdict(verdict="block", reasons=(INJECTION_REASON,), score=1.0), True
        if scam_rule.blocked:
            return scam_rule, True
        if semantic is not None and scores is not None and semantic.scam_hit(scores):
            return SafetyVerdict(verdict="block", reasons=(SEMANTIC_REASON,), score=scores.scam), False
        return SafetyVerdict(verdict="allow", score=max(crisis_rule.score, scam_rule.score)), False

    async def check(
        self,
        text: str,
        role: Role = "user",
        locale: Locale | str | None = None,
        *,
        conversation: str | None = None,
    ) -> SafetyVerdict:
        """The offline verdict, and for user messages the model's (and moderation's) verdict, concurrently."""
        _check_role(role)
        offline_task = asyncio.to_thread(self._offline, text, role, conversation)
        if role != "user" or (self.model is None and self.moderator is None):
            return (await offline_task)[0]
        (offline, sure), crisis_answer, scam_answer, moderated = await asyncio.gather(
            offline_task,
            self._ask("crisis_classifier.j2", text, frozenset({"crisis", "safe"})),
            self._ask("scam_classifier.j2", text, frozenset({"scam", "safe"})),
            self._moderate(text),
        )
        return _with_model(offline, sure, crisis_answer, scam_answer, moderated)

    async def aclose(self) -> None:
        """Close the moderation client (the chat model belongs to whoever built it)."""
        close = getattr(self.moderator, "aclose", None)
        if close is not None:
            await close()

    async def _ask(
        self, template: str, text: str, labels: frozenset[str]
    ) -> tuple[str, tuple[str, ...]] | None:
        if self.model is None:
            return None
        answer = await classify(
            self.model, template, text=text, role="user", labels=labels, timeout_s=self.model_timeout_s
        )
        return None if answer is None else (answer.label, answer.reasons)

    async def _moderate(self, text: str) -> bool | None:
        if self.moderator is None:
            return None
        try:
            async with asyncio.timeout(self.model_timeout_s):
                return await self.moderator.self_harm(text)
        except Exception as exc:  # moderation is a second opinion: its outage keeps the other verdicts
            log.warning("moderation failed: %s", type(exc).__name__)
            return None


def _with_model(
    offline: SafetyVerdict,
    sure: bool,
    crisis: tuple[str, tuple[str, ...]] | None,
    scam: tuple[str, tuple[str, ...]] | None,
    moderated: bool | None,
) -> SafetyVerdict:
    """Rules stay certain; the model (when it answered) replaces the heads' opinion, except a very sure head.

    A model that did not answer leaves the offline verdict for that decision.
    """
    if offline.crisis and sure:
        return offline
    if moderated:
        return SafetyVerdict(verdict="crisis", reasons=(MODERATION_REASON,), score=1.0)
    if crisis is not None and crisis[0] == "crisis":
        return SafetyVerdict(verdict="crisis", reasons=(CLASSIFIER_REASON,), score=max(offline.score, 0.5))
    if offline.crisis and crisis is None:
        return offline
    if offline.blocked and SEMANTIC_REASON not in offline.reasons:
        return offline  # a scam rule
    if scam is not None:
        if scam[0] == "scam":
            reasons = tuple(r for r in scam[1] if r in SCAM_REASONS)
            return SafetyVerdict(verdict="block", reasons=(*reasons, CLASSIFIER_REASON), score=offline.score)
        return SafetyVerdict(verdict="allow", score=offline.score)
    return offline if not offline.crisis else SafetyVerdict(verdict="allow", score=offline.score)


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
    """``vos safety check --jsonl`` offline: one output line per non-blank input line, in order.

    Each output is the input object plus ``verdict`` and ``reasons``; a line that cannot be read becomes an
    object with ``error`` (and ``line``, its 1-based number, when the input was not an object). Lines are
    judged one by one (no conversation window).
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
    """``check_jsonl_lines`` through ``SafetyGuard.check`` (the model too, when one is configured)."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parsed = _parse_line(number, line)
        if isinstance(parsed, dict):
            yield _dump(parsed)
            continue
        obj, text, role = parsed
        yield _dump({**obj, **verdict_json(await guard.check(text, role))})
