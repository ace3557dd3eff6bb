"""Trust and safety: scam / voice-phishing guard, crisis hand-off, prompt-injection defences and limits.

Callers usually need only ``SafetyGuard`` (``check``/``check_sync``), ``blocked_message``, ``crisis_reply``
and the limiters; the submodules hold the rules.
"""

from core.safety.check import SafetyGuard, acheck_jsonl_lines, check_jsonl_lines, verdict_json
from core.safety.crisis import CrisisDetector, CrisisResources, crisis_reply
from core.safety.injection import INJECTION_REMINDER, leaks_system_prompt, looks_like_injection, quote_as_data
from core.safety.limits import QueueBound, QueueFull, RateDecision, RateLimiter
from core.safety.scam_guard import ScamGuard, ScamGuardOptions
from core.safety.verdict import Role, SafetyVerdict, blocked_message

__all__ = [
    "INJECTION_REMINDER",
    "CrisisDetector",
    "CrisisResources",
    "QueueBound",
    "QueueFull",
    "RateDecision",
    "RateLimiter",
    "Role",
    "SafetyGuard",
    "SafetyVerdict",
    "ScamGuard",
    "ScamGuardOptions",
    "acheck_jsonl_lines",
    "blocked_message",
    "check_jsonl_lines",
    "crisis_reply",
    "leaks_system_prompt",
    "looks_like_injection",
    "quote_as_data",
    "verdict_json",
]
