"""Scam / voice-phishing guard, both directions: the user's message before the star answers (``user``), the
star's reply before it is sent (``star``) and before it is spoken in a cloned voice (``speech``).

Layered: the fast rules in ``scam_rules`` score every text; when a chat model is configured and the score is
borderline, the classifier prompt ``prompts/scam_classifier.j2`` decides. Any model failure keeps the rule
verdict. ``star`` and ``speech`` use lower thresholds: a star never needs to ask for money or numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.ports import ChatModel
from core.safety.classifier import classify
from core.safety.scam_rules import score_text
from core.safety.verdict import ALLOW, Role, SafetyVerdict

SCAM_REASONS = frozenset(
    {
        "transfer_request",
        "account_number",
        "card_number",
        "password",
        "otp",
        "resident_id",
        "gift_card",
        "crypto",
        "urgent_loan",
        "impersonation",
        "payment_link",
        "voice_misuse",
        "digit_sequence",
    }
)
CLASSIFIER_REASON = "classifier"
_LABELS = frozenset({"scam", "safe"})


@dataclass(frozen=True, slots=True, kw_only=True)
class ScamGuardOptions:
    """Thresholds on the rule score per role, and the band in which a model is asked."""

    user_threshold: float = 0.8
    star_threshold: float = 0.5
    speech_threshold: float = 0.4
    borderline_floor: float = 0.25
    borderline_margin: float = 0.1
    classifier_timeout_s: float = 15.0

    def threshold(self, role: Role) -> float:
        """The score at which rules alone block ``role``."""
        return {"user": self.user_threshold, "star": self.star_threshold, "speech": self.speech_threshold}[
            role
        ]


class ScamGuard:
    """Rules first, then an optional model for borderline cases."""

    def __init__(self, model: ChatModel | None = None, options: ScamGuardOptions | None = None) -> None:
        self.model = model
        self.options = options or ScamGuardOptions()

    def check_sync(self, text: str, role: Role = "user") -> SafetyVerdict:
        """Rules only: ``block`` with reason codes, or ``allow``."""
        score, reasons = score_text(text, role)
        if score >= self.options.threshold(role) and reasons:
            return SafetyVerdict(verdict="block", reasons=reasons, score=score)
        return SafetyVerdict(verdict="allow", score=score)

    def is_borderline(self, score: float, role: Role) -> bool:
        """Whether the rule score is close enough to the threshold to ask the model."""
        floor = min(self.options.borderline_floor, self.options.threshold(role) / 2)
        return floor <= score < self.options.threshold(role) + self.options.borderline_margin

    async def check(self, text: str, role: Role = "user") -> SafetyVerdict:
        """Rules, then the classifier for borderline scores when a model is configured."""
        ruled = self.check_sync(text, role)
        if self.model is None or not self.is_borderline(ruled.score, role):
            return ruled
        answer = await classify(
            self.model,
            "scam_classifier.j2",
            text=text,
            role=role,
            labels=_LABELS,
            timeout_s=self.options.classifier_timeout_s,
        )
        if answer is None:
            return ruled
        if answer.label == "safe":
            return SafetyVerdict(verdict="allow", score=ruled.score)
        _, rule_reasons = score_text(text, role)
        model_reasons = tuple(r for r in answer.reasons if r in SCAM_REASONS and r not in rule_reasons)
        return SafetyVerdict(
            verdict="block", reasons=(*rule_reasons, *model_reasons, CLASSIFIER_REASON), score=ruled.score
        )


__all__ = ["ALLOW", "CLASSIFIER_REASON", "SCAM_REASONS", "ScamGuard", "ScamGuardOptions"]
