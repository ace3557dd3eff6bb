"""Commands declared once: each feature lists its commands, choice prefixes, flows and user-data erasers in a
:class:`Feature`; :func:`build_router` merges the features into the engine's :class:`Router`, and the
platform menus (Telegram's ``setMyCommands``, Discord's app-command tree, ``/help``) are read from the same
table through :meth:`Router.menu`, so a command cannot exist in one place and be missing from another.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, Flag, auto
from typing import TypeVar

from core.context import Context
from core.domain.actions import Action, SendText
from core.flows.base import Flow

CommandHandler = Callable[[Context], AsyncIterator[Action]]
ChoiceHandler = Callable[[Context, str], AsyncIterator[Action]]
_T = TypeVar("_T")
UserEraser = Callable[[str], Awaitable[object]]
"""Deletes what a feature keeps of a user (by user id); ``/forget_me`` runs every declared one."""


class Section(Enum):
    """Where a command sits in the menus; menus list sections in this order, declaration order within."""

    START = 1
    STARS = 2
    VOICE = 3
    MEETINGS = 4
    DATA = 5
    SETTINGS = 6


class Shown(Flag):
    """Which lists show a command (a command not shown anywhere still runs when typed)."""

    HELP = auto()
    """``/help``, in every adapter."""
    MENU = auto()
    """Telegram's command menu (and any adapter's short menu)."""
    EVERYWHERE = HELP | MENU


@dataclass(frozen=True, slots=True, kw_only=True)
class MenuItem:
    """What a menu shows of a command (no handler: adapters and other processes can hold it)."""

    name: str
    section: Section
    shown: Shown
    discord: tuple[str, ...]
    """The Discord app commands that invoke it (``"star create"``); Discord only offers these."""
    keeps_flow: bool

    @property
    def menu_key(self) -> str:
        """The catalogue key of its menu line (``core/i18n/<locale>/telegram.toml``)."""
        return f"telegram.commands.{self.name}"

    @property
    def help_key(self) -> str:
        """The catalogue key of its ``/help`` line."""
        return f"help.cmd.{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandSpec:
    """One command, declared once by the feature that answers it."""

    name: str
    handler: CommandHandler = field(compare=False)
    section: Section
    shown: Shown = Shown.EVERYWHERE
    discord: tuple[str, ...] = ()
    keeps_flow: bool = False
    """Runs without ending an unfinished dialog (``/help`` in the middle of ``/new``)."""

    @property
    def item(self) -> MenuItem:
        """The menu's view of this command."""
        return MenuItem(
            name=self.name,
            section=self.section,
            shown=self.shown,
            discord=self.discord,
            keeps_flow=self.keeps_flow,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Feature:
    """What one feature module adds to the engine."""

    commands: tuple[CommandSpec, ...] = ()
    choices: Mapping[str, ChoiceHandler] = field(default_factory=dict)
    """Handlers of choice keys ``<prefix>:<value>`` by prefix."""
    flows: tuple[Flow, ...] = ()
    erasers: tuple[UserEraser, ...] = ()


@dataclass(slots=True)
class Router:
    """Commands by name, choice handlers by key prefix, flows by kind; built once by :func:`build_router`."""

    commands: dict[str, CommandHandler]
    choices: dict[str, ChoiceHandler]
    flows: dict[str, Flow]
    items: tuple[MenuItem, ...] = ()
    erasers: tuple[UserEraser, ...] = ()

    @property
    def keeps_flow(self) -> frozenset[str]:
        """Commands that leave a running dialog alone."""
        return frozenset(item.name for item in self.items if item.keeps_flow)

    def menu(self, shown: Shown = Shown.MENU) -> tuple[MenuItem, ...]:
        """The commands a list shows, by section, in declaration order within a section."""
        listed = [item for item in self.items if item.shown & shown]
        return tuple(sorted(listed, key=lambda item: item.section.value))


class DuplicateDeclaration(ValueError):
    """Two features declared the same command, choice prefix or flow kind."""


def _help_spec(items: Callable[[], tuple[MenuItem, ...]]) -> CommandSpec:
    async def help_(ctx: Context) -> AsyncIterator[Action]:
        """Every command the table shows in ``/help``, one line each (so the list cannot drift)."""
        lines = [ctx.tr("help.text")]
        for item in items():
            described = ctx.tr(item.help_key)
            lines.append(f"/{item.name} {described}" if described != item.help_key else f"/{item.name}")
        yield SendText(text="\n".join(lines))

    return CommandSpec(name="help", handler=help_, section=Section.SETTINGS, keeps_flow=True)


async def _nothing_to_cancel(ctx: Context) -> AsyncIterator[Action]:
    """``/cancel`` is the engine's (it ends the running dialog); reached only with none running."""
    yield SendText(text=ctx.tr("common.nothing_to_cancel"))


CANCEL = CommandSpec(name="cancel", handler=_nothing_to_cancel, section=Section.SETTINGS, shown=Shown.HELP)


def build_router(features: Iterable[Feature]) -> Router:
    """Merge the features' declarations (plus ``/help`` and ``/cancel``, which belong to the table)."""
    router = Router(commands={}, choices={}, flows={})
    specs: list[CommandSpec] = []
    erasers: list[UserEraser] = []
    built = [*features, Feature(commands=(_help_spec(lambda: router.menu(Shown.HELP)), CANCEL))]
    for feature in built:
        for spec in feature.commands:
            _claim(router.commands, spec.name, spec.handler, "command")
            specs.append(spec)
        for prefix, choice in feature.choices.items():
            _claim(router.choices, prefix, choice, "choice prefix")
        for flow in feature.flows:
            _claim(router.flows, flow.kind, flow, "flow kind")
        erasers.extend(feature.erasers)
    router.items = tuple(spec.item for spec in specs)
    router.erasers = tuple(erasers)
    return router


def _claim(table: dict[str, _T], name: str, value: _T, what: str) -> None:
    if name in table:
        raise DuplicateDeclaration(f"{what} {name!r} is declared twice")
    table[name] = value


def discord_commands(items: Sequence[MenuItem]) -> dict[str, str]:
    """Discord app command path (``"star create"``) → the core command it invokes."""
    paths: dict[str, str] = {}
    for item in items:
        for path in item.discord:
            _claim(paths, path, item.name, "Discord command")
    return paths
