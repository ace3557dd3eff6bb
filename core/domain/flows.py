"""The persisted state of a user's unfinished multi-step dialog (``/new``, ``/voice``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class RunningFlow:
    """The persisted state of the user's unfinished dialog."""

    kind: str
    step: str
    data: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpiredFlow:
    """A dialog nobody touched for too long, as it was when it was ended."""

    user_id: str
    flow: RunningFlow
