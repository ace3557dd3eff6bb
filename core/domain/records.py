"""What VOS keeps about a user besides stars and chats: consents, stored files, safety events."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Consent:
    """One consent a user gave, with its wording and time."""

    kind: str
    text: str
    given_at: datetime
    star_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BlobUse:
    """One of a user's stored files: its blob key, what it is for, and its file name."""

    key: str
    purpose: str
    filename: str
    size: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SafetyEvent:
    """Something stopped or handed off: when, which way (``in``/``out``), the verdict and its reasons."""

    direction: str
    verdict: str
    reasons: tuple[str, ...]
    at: datetime
    star_id: str | None = None
