"""Persisted multi-step dialogs. A flow reacts to one event at a time and yields actions.

Flow state lives in the database (``FlowRepository``), so a restart or another adapter continues where the
user left off. Choices a flow offers carry keys starting with ``f:`` so the engine routes them back here.

Flows write ``f:<value>``; the engine binds every question it passes on to the flow instance that asked it
(``f:<token>:<value>``, the token kept in the flow's state under :data:`QUESTION`), so a button left under an
older question (another command's, or an earlier step's) answers "this question has expired" instead of
confirming whatever is pending now. Flows only ever see the unbound ``f:<value>``.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import AsyncIterator, Callable, Mapping
from enum import StrEnum
from typing import Generic, Protocol, TypeVar, runtime_checkable

from core.context import Context, FlowState
from core.domain.actions import Action, AskChoice, Choice, SendText

log = logging.getLogger(__name__)

FLOW_KEY = "f:"
QUESTION = "_question"
"""The flow-state key of the token the flow's latest question was bound to."""


def flow_choice(value: str, label: str) -> Choice:
    """A choice routed back to the running flow."""
    return Choice(key=FLOW_KEY + value, label=label)


def flow_value(key: str) -> str | None:
    """The value of a flow choice key, or ``None`` for another kind of key."""
    return key[len(FLOW_KEY) :] if key.startswith(FLOW_KEY) else None


def new_question_token() -> str:
    """A fresh token for one question (8 hex characters: short enough for Telegram's 64-byte data)."""
    return secrets.token_hex(4)


def _bind(choice: Choice, token: str) -> Choice:
    value = flow_value(choice.key)
    if value is None:
        return choice
    return dataclasses.replace(choice, key=f"{FLOW_KEY}{token}:{value}")


def has_flow_choices(action: Action) -> bool:
    """Whether ``action`` offers choices routed back to a flow."""
    match action:
        case AskChoice(options=choices) | SendText(buttons=choices):
            return any(c.key.startswith(FLOW_KEY) for c in choices)
        case _:
            return False


def bind_choices(action: Action, token: str) -> Action:
    """``action`` with its flow choices bound to the question ``token`` (other actions unchanged)."""
    match action:
        case AskChoice():
            return dataclasses.replace(action, options=tuple(_bind(c, token) for c in action.options))
        case SendText():
            return dataclasses.replace(action, buttons=tuple(_bind(c, token) for c in action.buttons))
        case _:
            return action


def bound_choice(key: str) -> tuple[str, str] | None:
    """``(token, value)`` of a bound flow key ``f:<token>:<value>``; ``("", value)`` for an unbound
    ``f:<value>`` (never valid from a button); None for a key that is not a flow's."""
    value = flow_value(key)
    if value is None:
        return None
    token, sep, rest = value.partition(":")
    return (token, rest) if sep else ("", value)


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


StepT = TypeVar("StepT", bound=StrEnum)
StepHandler = Callable[[Context, FlowState], AsyncIterator[Action]]


class StepTable(Generic[StepT]):
    """A flow's steps as an Enum and the handler of each (read like python-telegram-bot's
    ``ConversationHandler`` states): the user's next event goes to the handler of the step the flow is at.

    Steps persist as their string values (``FlowState.step``), so a stored dialog resumes after a restart;
    a step no longer known (a release renamed it) ends the dialog with a short notice instead of an error.
    """

    def __init__(self, steps: type[StepT], handlers: Mapping[StepT, StepHandler]) -> None:
        missing = [step.value for step in steps if step not in handlers]
        if missing:
            raise ValueError(f"steps without a handler: {missing}")
        self.steps = steps
        self.handlers: dict[StepT, StepHandler] = dict(handlers)

    def current(self, state: FlowState) -> StepT | None:
        """The step ``state`` is at, or ``None`` for one this flow does not have."""
        try:
            return self.steps(state.step)
        except ValueError:
            return None

    async def dispatch(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Answer the event with the current step's handler."""
        step = self.current(state)
        if step is None:
            log.warning("flow %s at an unknown step %r: ended", state.kind, state.step[:40])
            state.finish()
            yield SendText(text=ctx.tr("platforms.choice_expired"))
            return
        async for action in self.handlers[step](ctx, state):
            yield action
