"""The per-event context handed to commands and flows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.domain.actions import Action
from core.domain.events import Event
from core.domain.identity import Locale, User
from core.i18n import Translator


class FlowStarter(Protocol):
    """The port a command starts a dialog through (the engine implements it)."""

    def start_flow(
        self, ctx: Context, kind: str, data: Mapping[str, object] | None = None
    ) -> AsyncIterator[Action]:
        """Begin the flow ``kind`` with ``data`` and persist its state."""
        ...


class NoFlowStarter(RuntimeError):
    """A command tried to start a dialog from a context the engine did not build."""


@dataclass(slots=True)
class Context:
    """Who sent the event, in which language to answer, the event itself, and where dialogs start."""

    user: User
    locale: Locale
    event: Event
    flows: FlowStarter | None = None
    tr: Translator = field(init=False)

    def __post_init__(self) -> None:
        self.tr = Translator(self.locale)

    def start_flow(self, kind: str, data: Mapping[str, object] | None = None) -> AsyncIterator[Action]:
        """Begin the dialog ``kind`` (``/new`` starts ``create_star``) through the engine's flow port."""
        if self.flows is None:
            raise NoFlowStarter(kind)
        return self.flows.start_flow(self, kind, data)


@dataclass(slots=True)
class FlowState:
    """The mutable state of a running flow; the engine persists it after each step."""

    kind: str
    step: str
    data: dict[str, Any]
    finished: bool = False

    def goto(self, step: str) -> None:
        """Move to ``step`` (persisted when the handler returns; an Enum step is kept as its value)."""
        self.step = str(step)

    def finish(self) -> None:
        """End the flow (its state is deleted)."""
        self.finished = True
