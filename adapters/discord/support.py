"""Small pieces of the adapter's plumbing: the gateway intents, per-user ordering, the token log filter."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import discord


def intents() -> discord.Intents:
    """The gateway intents VOS needs, and no more (see :mod:`adapters.discord.adapter`)."""
    chosen = discord.Intents.none()
    chosen.guilds = True
    chosen.voice_states = True
    chosen.dm_messages = True
    return chosen


class UserLocks:
    """One lock per user, so a user's events reach the engine in order while users run concurrently."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[None]:
        """Hold the user's lock (created on first use, dropped when nobody waits for it)."""
        lock, users = self._locks.get(user_id, (asyncio.Lock(), 0))
        self._locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[user_id]
            if users == 1:
                del self._locks[user_id]
            else:
                self._locks[user_id] = (lock, users - 1)


class TokenFilter(logging.Filter):
    """A last line of defence: the token never reaches a log line."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        """Replace the token in the formatted message."""
        message = record.getMessage()
        if self._token in message:
            record.msg, record.args = message.replace(self._token, "<token>"), None
        return True
