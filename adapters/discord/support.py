"""Small pieces of the adapter's plumbing: the gateway intents."""

from __future__ import annotations

import discord


def intents() -> discord.Intents:
    """The gateway intents VOS needs, and no more (see :mod:`adapters.discord.adapter`)."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.voice_states = True
    chosen.dm_messages = True
    return chosen
