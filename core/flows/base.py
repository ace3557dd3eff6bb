"""Persisted multi-step dialogs. A flow reacts to one event at a time and yields actions.

Flow state lives in the database (``FlowRepository``), so a restart or another adapter continues where the
user left off. Choices a flow offers carry keys starting with ``f:`` so the engine routes them back here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from core.context import Context, FlowState
from core.domain.actions import Action, Choice

FLOW_KEY = "f:"


def flow_choice(value: str, label: str) -> Choice:
    """A choice routed back to the running flow."""
    return Choice(key=FLOW_KEY + value, label=label)


def flow_value(key: str) -> str | None:
    """The value of a flow choice key, or ``None`` for another kind of key."""
    return key[len(FLOW_KEY) :] if key.startswith(FLOW_KEY) else None


class Flow(Protocol):
    """A multi-step dialog."""

    kind: str

    def start(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Begin the flow (state.step is its first step)."""
        ...

    def on_event(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """React to the user's next event."""
        ...


@runtime_checkable
class AbandonableFlow(Protocol):
    """A flow that keeps something while it waits (files), released when it is ended unfinished."""

    async def abandon(self, state: FlowState) -> None:
        """Release what the flow keeps; called when /cancel or another command ends it."""
        ...
