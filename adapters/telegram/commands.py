"""The bot's command menu, registered with ``setMyCommands`` in every supported language.

The menu is the engine's declared command table (``Router.menu()``), handed over in the adapter's config:
a command added to a feature shows here without a second list to keep in step.
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram import Bot, BotCommand

from core.command_table import MenuItem
from core.domain.identity import Locale
from core.i18n import t


def bot_commands(locale: Locale, menu: Sequence[MenuItem]) -> list[BotCommand]:
    """The command menu in one language (descriptions from ``telegram.commands.<name>``)."""
    return [BotCommand(item.name, t(locale, item.menu_key)) for item in menu]


async def register_commands(bot: Bot, menu: Sequence[MenuItem]) -> None:
    """Register the menu for Korean and English clients, with English as the default for the rest (nothing
    when the menu is empty)."""
    if not menu:
        return
    await bot.set_my_commands(bot_commands(Locale.EN, menu))
    for locale in Locale:
        await bot.set_my_commands(bot_commands(locale, menu), language_code=locale.value)
