"""The result type every safety check returns, and the user-facing text for a blocked message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.domain.identity import Locale
from core.i18n import t

Verdict = Literal["allow", "block", "crisis"]
Role = Literal["user", "star", "speech"]
ROLES: tuple[Role, ...] = ("user", "star", "speech")


@dataclass(frozen=True, slots=True, kw_only=True)
class SafetyVerdict:
    """What a safety check decided.

    ``reasons`` are stable reason codes (``account_number``, ``otp``, ``transfer_request``, ``self_harm``...),
    empty when the verdict is ``allow``. ``score`` is the rule score in [0, 1] that led to the verdict.
    """

    verdict: Verdict
    reasons: tuple[str, ...] = ()
    score: float = 0.0

    @property
    def allowed(self) -> bool:
        """True when the text may pass unchanged."""
        return self.verdict == "allow"

    @property
    def blocked(self) -> bool:
        """True for a scam / voice-phishing block."""
        return self.verdict == "block"

    @property
    def crisis(self) -> bool:
        """True when the user may be in danger and the star must break character."""
        return self.verdict == "crisis"


ALLOW = SafetyVerdict(verdict="allow")


def blocked_message(locale: Locale | str, *, role: Role = "user", star: str = "") -> str:
    """What a user is told when a message is blocked: why, warmly, and what to do (call the person back
    on a number they already know; 112 / 1332 in Korea). ``role``: whose text was blocked (the user's,
    the star's reply, or text to be spoken in the star's voice); ``star``: the star's name."""
    if role == "user" or not star:
        return t(locale, "safety.blocked")
    return t(locale, "block.out" if role == "star" else "block.voice", star=star)
