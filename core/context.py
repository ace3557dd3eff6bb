"""The per-event context handed to commands and flows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from core.domain.events import Event
from core.domain.identity import Locale, User
from core.i18n import Translator


@dataclass(slots=True)
class Context:
    """Who sent the event, in which language to answer, and the event itself."""

    user: User
    locale: Locale
    event: Event
    tr: Translator = field(init=False)

    def __post_init__(self) -> None:
        self.tr = Translator(self.locale)


@dataclass(slots=True)
class FlowState:
    """The mutable state of a running flow; the engine persists it after each step."""

    kind: str
    step: str
    data: dict[str, Any]
    finished: bool = False

    def goto(self, step: str) -> None:
        """Move to ``step`` (persisted when the handler returns)."""
        self.step = step

    def finish(self) -> None:
        """End the flow (its state is deleted)."""
        self.finished = True
