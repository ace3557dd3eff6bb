"""The bot's command menu, registered with ``setMyCommands`` in every supported language."""

from __future__ import annotations

from telegram import Bot, BotCommand

from core.domain.identity import Locale
from core.i18n import t

COMMANDS: tuple[str, ...] = (
    "start",
    "new",
    "stars",
    "voice",
    "listen",
    "memories",
    "voicereply",
    "profile",
    "names",
    "reset",
    "meeting",
    "enroll",
    "ask",
    "export",
    "forget",
    "retire",
    "forget_me",
    "about",
    "help",
    "language",
)
"""Command names in menu order; descriptions live under ``telegram.commands.<name>`` in the catalogues."""


def bot_commands(locale: Locale) -> list[BotCommand]:
    """The command menu in one language."""
    return [BotCommand(name, t(locale, f"telegram.commands.{name}")) for name in COMMANDS]


async def register_commands(bot: Bot) -> None:
    """Register the menu for Korean and English clients, with English as the default for the rest."""
    await bot.set_my_commands(bot_commands(Locale.EN))
    for locale in Locale:
        await bot.set_my_commands(bot_commands(locale), language_code=locale.value)
