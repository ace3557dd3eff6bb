"""Flows are tables of typed steps over an Enum; dialogs stored by earlier releases (step strings) resume."""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any, cast

import pytest

from core.context import Context, FlowState
from core.domain.actions import Action, SendText
from core.domain.events import TextMessage
from core.domain.identity import Locale, Platform, User, UserRef
from core.flows.base import StepTable
from core.flows.create_star import CreateStarFlow, CreateStep
from core.flows.names import NameStep
from core.flows.voice_setup import VoiceStep
from core.i18n import t
from core.meetings.enrol_commands import EnrolStep

# What dialogs stored before the steps were typed hold in ``flows.step`` (never change these values).
STORED = {
    CreateStep: {"consent", "name", "relation", "notes", "dates", "photo", "export", "participant"},
    VoiceStep: {"consent", "mode", "recording", "count", "pick"},
    NameStep: {"address", "user_name"},
    EnrolStep: {"consent", "file"},
}

_REF = UserRef(platform=Platform.CONSOLE, platform_user_id="u1")


def _ctx(text: str) -> Context:
    user = cast(User, type("U", (), {"id": "user-1", "display_name": "u1"})())
    return Context(user=user, locale=Locale.KO, event=TextMessage(user=_REF, chat_id="c", text=text))


@pytest.mark.parametrize("steps", list(STORED))
def test_step_values_are_the_stored_strings(steps: type[StrEnum]) -> None:
    assert {step.value for step in steps} == STORED[steps]


async def test_a_dialog_stored_at_a_step_string_resumes() -> None:
    flow = CreateStarFlow(cast(Any, None), cast(Any, None), cast(Any, None))
    state = FlowState(kind=flow.kind, step="name", data={})
    actions = [a async for a in flow.on_event(_ctx("엄마"), state)]
    assert state.data["name"] == "엄마"
    assert state.step == "relation"
    assert type(state.step) is str  # persisted as plain text, as before
    assert isinstance(actions[0], SendText)


async def test_an_unknown_stored_step_ends_the_dialog_with_a_notice() -> None:
    class Two(StrEnum):
        ONE = "one"
        TWO = "two"

    async def answer(ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        yield SendText(text="ok")

    table = StepTable(Two, {Two.ONE: answer, Two.TWO: answer})
    state = FlowState(kind="x", step="renamed_long_ago", data={})
    actions = [a async for a in table.dispatch(_ctx("hi"), state)]
    assert state.finished
    assert actions == [SendText(text=t(Locale.KO, "platforms.choice_expired"))]
    state = FlowState(kind="x", step="two", data={})
    assert [a async for a in table.dispatch(_ctx("hi"), state)] == [SendText(text="ok")]


def test_every_step_needs_a_handler() -> None:
    class Two(StrEnum):
        ONE = "one"
        TWO = "two"

    async def answer(ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        yield SendText(text="ok")

    with pytest.raises(ValueError, match="two"):
        StepTable(Two, {Two.ONE: answer})


def test_no_flow_dispatches_by_building_a_method_name() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[3] / "core"
    offenders = [
        str(p.relative_to(root)) for p in root.rglob("*.py") if 'f"_step_{' in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
