"""Commands are declared once: the router, Telegram's menu, Discord's tree and /help all read one table.

These fail when a command is added to only one place: a Discord node nobody declares, a declared Discord
command without a node, a menu line without its catalogue text, a routed command missing from the table.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from core.command_table import (
    CommandSpec,
    DuplicateDeclaration,
    Feature,
    MenuItem,
    Section,
    Shown,
    build_router,
    discord_commands,
)
from core.domain.identity import Locale
from core.i18n import catalogue
from tests.support.app import declared_router
from tests.support.extras import need


def _discord() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # discord.py imports audioop (see its conftest)
        need("discord")
        from adapters.discord import commands

    return commands


def test_the_router_routes_exactly_the_declared_commands() -> None:
    router = declared_router()
    declared = [item.name for item in router.items]
    assert len(declared) == len(set(declared))
    assert set(router.commands) == set(declared)
    assert {"new", "voice", "meeting", "enroll", "verify", "memories", "names", "help", "cancel"} <= set(
        declared
    )


def test_telegram_menu_is_the_declared_menu_with_text_in_both_languages() -> None:
    need("telegram")
    from adapters.telegram.commands import bot_commands

    router = declared_router()
    wanted = [item.name for item in router.items if item.shown & Shown.MENU]
    for locale in Locale:
        menu = bot_commands(locale, router.menu())
        assert sorted(c.command for c in menu) == sorted(wanted)
        for command, item in zip(menu, router.menu(), strict=True):
            assert catalogue(locale).get(item.menu_key), (locale, item.name)
            assert command.description == catalogue(locale)[item.menu_key]
    assert [c.command for c in bot_commands(Locale.KO, router.menu())][:2] == ["start", "new"]


def test_help_lines_exist_in_both_languages() -> None:
    for item in declared_router().menu(Shown.HELP):
        for locale in Locale:
            assert catalogue(locale).get(item.help_key), (locale, item.name)


def test_discord_tree_is_the_declared_commands_plus_discords_own() -> None:
    commands = _discord()
    from tests.adapters.discord.fakes import make_client

    router = declared_router()
    tree = commands.build_tree(make_client(), object(), router.items)
    declared = discord_commands(router.items)
    assert commands.command_paths(tree) == set(declared) | set(commands.NATIVE)
    # A node no command declares would be dead code offering something the engine does not route.
    assert set(commands.NODES) == set(declared)
    assert set(declared.values()) <= set(router.commands)


def test_a_discord_command_without_a_declaration_is_not_offered() -> None:
    commands = _discord()
    from tests.adapters.discord.fakes import make_client

    items = tuple(item for item in declared_router().items if item.name != "ask")
    paths = commands.command_paths(commands.build_tree(make_client(), object(), items))
    assert "meeting ask" not in paths
    assert "meeting list" in paths


def test_a_declared_discord_command_without_a_node_fails_the_build() -> None:
    commands = _discord()
    from tests.adapters.discord.fakes import make_client

    stray = MenuItem(
        name="remind", section=Section.STARS, shown=Shown.HELP, discord=("star remind",), keeps_flow=False
    )
    with pytest.raises(commands.UndeclaredDiscordCommand, match="star remind"):
        commands.build_tree(make_client(), object(), (*declared_router().items, stray))


async def _noop(ctx: Any) -> Any:  # pragma: no cover - never called
    yield None


def test_a_command_declared_twice_is_refused() -> None:
    spec = CommandSpec(name="stars", handler=_noop, section=Section.START)
    with pytest.raises(DuplicateDeclaration, match="stars"):
        build_router([Feature(commands=(spec,)), Feature(commands=(spec,))])
    with pytest.raises(DuplicateDeclaration, match="help"):
        build_router([Feature(commands=(CommandSpec(name="help", handler=_noop, section=Section.START),))])


def test_menus_list_sections_in_order() -> None:
    sections = [item.section.value for item in declared_router().menu(Shown.HELP)]
    assert sections == sorted(sections)


def test_no_feature_holds_the_engine() -> None:
    """Flows start through ``ctx.start_flow`` (the engine's port), never a back-reference set after build."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    holders = [
        str(path.relative_to(root))
        for folder in ("core", "bot")
        for path in (root / folder).rglob("*.py")
        if "self.engine: Engine" in (text := path.read_text(encoding="utf-8")) or "forget_me_hooks" in text
    ]
    assert holders == []
