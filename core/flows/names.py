"""Names: how the star addressed the user, and the user's own name.

At the end of ``/new`` the user is offered, as buttons, the ways the star addressed them in the export
(the style profile's address terms: 아들, 민준아, 우리 딸...), then their own name (the export's other
participants, the platform name). The buttons never hold up a conversation; ``/names`` asks the same
two questions as a flow and also takes typed answers, so both can be changed at any time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from enum import StrEnum

from core.command_table import CommandSpec, Feature, Section
from core.context import Context, FlowState
from core.domain.actions import Action, AskChoice, Choice, SendText
from core.domain.events import ChoiceMade, TextMessage
from core.domain.stars import Star
from core.flows.base import StepTable, flow_choice, flow_value
from core.personas.stars import StarService
from core.ports import StarStore, UserStore

CHOICE_PREFIX = "names"
_MAX_NAME = 30
_OPTIONS = 5


class NameOptions:
    """What the export offers for both questions, computed the same way when a button comes back."""

    def __init__(self, stars: StarStore, star_service: StarService) -> None:
        self.stars = stars
        self.star_service = star_service

    async def addresses(self, star: Star) -> list[str]:
        """How the star addressed the other person, most frequent first (from the stored style profile)."""
        profile = await self.star_service.profile(star.id)
        return [term for term, _ in profile.address_terms[:_OPTIONS]] if profile else []

    async def user_names(self, star: Star, display_name: str) -> list[str]:
        """The user's likely names: the export's other participants, then the platform's display name."""
        names = await self.stars.other_authors(star.id)
        if display_name.strip() and display_name not in names:
            names.append(display_name.strip())
        return [n[:_MAX_NAME] for n in names][:_OPTIONS]


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())[:_MAX_NAME]


class NameStep(StrEnum):
    """The steps of ``/names``; the values are what stored dialogs hold."""

    ADDRESS = "address"
    USER_NAME = "user_name"


class NameChoices:
    """The buttons after ``/new`` (choice prefix ``names``), and the ``/names`` flow."""

    kind = "names"

    def __init__(self, users: UserStore, stars: StarStore, options: NameOptions) -> None:
        self.users = users
        self.stars = stars
        self.options = options
        self.steps = StepTable(
            NameStep, {NameStep.ADDRESS: self._step_address, NameStep.USER_NAME: self._step_user_name}
        )

    def feature(self) -> Feature:
        """``/names``, the ``names:`` buttons and the flow."""
        return Feature(
            commands=(CommandSpec(name="names", handler=self.command, section=Section.STARS),),
            choices={CHOICE_PREFIX: self.chosen},
            flows=(self,),
        )

    async def command(self, ctx: Context) -> AsyncIterator[Action]:
        """``/names``: ask both questions again."""
        async for action in ctx.start_flow(self.kind):
            yield action

    async def _star(self, ctx: Context) -> Star | None:
        return await self.users.active_star(ctx.user.id)

    async def ask_address_buttons(self, ctx: Context, star: Star) -> SendText:
        """The question at the end of ``/new``: buttons, skippable, never blocking."""
        found = await self.options.addresses(star)
        buttons = [Choice(key=f"{CHOICE_PREFIX}:a{i}", label=term) for i, term in enumerate(found)]
        buttons.append(Choice(key=f"{CHOICE_PREFIX}:as", label=ctx.tr("common.skip")))
        key = "names.ask_address_found" if found else "names.ask_address_none"
        return SendText(text=ctx.tr(key, name=star.name), buttons=tuple(buttons))

    async def _ask_user_buttons(self, ctx: Context, star: Star) -> SendText:
        found = await self.options.user_names(star, ctx.user.given_name)
        buttons = [Choice(key=f"{CHOICE_PREFIX}:u{i}", label=name) for i, name in enumerate(found)]
        buttons.append(Choice(key=f"{CHOICE_PREFIX}:us", label=ctx.tr("common.skip")))
        return SendText(text=ctx.tr("names.ask_user_name"), buttons=tuple(buttons))

    async def chosen(self, ctx: Context, value: str) -> AsyncIterator[Action]:
        """A button: ``a<i>``/``as`` (address or skip), ``u<i>``/``us`` (the user's name or skip)."""
        star = await self._star(ctx)
        if star is None or len(value) < 2 or value[0] not in "au":
            return
        pick = value[1:]
        if value[0] == "a":
            found = await self.options.addresses(star)
            if pick.isdigit() and int(pick) < len(found):
                await self.stars.set_names(star.id, ctx.user.id, user_address=found[int(pick)])
            yield await self._ask_user_buttons(ctx, star)
            return
        names = await self.options.user_names(star, ctx.user.given_name)
        if pick.isdigit() and int(pick) < len(names):
            await self.stars.set_names(star.id, ctx.user.id, user_name=names[int(pick)])
        yield await self._saved(ctx, star.id)

    async def _saved(self, ctx: Context, star_id: str) -> SendText:
        star = await self.stars.get_owned(star_id, ctx.user.id)
        assert star is not None
        none = ctx.tr("names.unset")
        return SendText(
            text=ctx.tr(
                "names.saved",
                name=star.name,
                address=star.user_address or none,
                user_name=star.user_name or none,
            )
        )

    # --- the /names flow: the same questions, typed answers welcome ---------------------------------

    async def start(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Ask how the star addressed the user (buttons or typed)."""
        star = await self._star(ctx)
        if star is None:
            state.finish()
            yield SendText(text=ctx.tr("common.choose_star_first"))
            return
        state.data["star_id"] = star.id
        state.goto(NameStep.ADDRESS)
        found = await self.options.addresses(star)
        state.data["offered"] = found
        yield AskChoice(
            prompt=ctx.tr("names.flow_address", name=star.name, current=star.user_address or "-"),
            options=(
                *(flow_choice(f"o{i}", term) for i, term in enumerate(found)),
                flow_choice("keep", ctx.tr("names.keep")),
            ),
        )

    async def on_event(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        """Take one answer; the second one ends the flow."""
        async for action in self.steps.dispatch(ctx, state):
            yield action

    @staticmethod
    def _answer(ctx: Context, state: FlowState) -> str | None:
        offered: list[str] = list(state.data.get("offered", []))
        match ctx.event:
            case ChoiceMade(key=key):
                value = flow_value(key) or ""
                pick = value[1:]
                return offered[int(pick)] if pick.isdigit() and int(pick) < len(offered) else None
            case TextMessage(text=text):
                return _clean(text) or None
            case _:
                return None

    async def _step_address(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        answer, star_id = self._answer(ctx, state), str(state.data["star_id"])
        if answer:
            await self.stars.set_names(star_id, ctx.user.id, user_address=answer)
        star = await self.stars.get_owned(star_id, ctx.user.id)
        if star is None:
            state.finish()
            return
        found = await self.options.user_names(star, ctx.user.given_name)
        state.data["offered"] = found
        state.goto(NameStep.USER_NAME)
        yield AskChoice(
            prompt=ctx.tr("names.flow_user_name", current=star.user_name or "-"),
            options=(
                *(flow_choice(f"o{i}", name) for i, name in enumerate(found)),
                flow_choice("keep", ctx.tr("names.keep")),
            ),
        )

    async def _step_user_name(self, ctx: Context, state: FlowState) -> AsyncIterator[Action]:
        answer, star_id = self._answer(ctx, state), str(state.data["star_id"])
        if answer:
            await self.stars.set_names(star_id, ctx.user.id, user_name=answer)
        state.finish()
        yield await self._saved(ctx, star_id)
