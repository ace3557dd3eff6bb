"""The opt-out register the adapter uses (a port), and the import of the old JSON opt-out file.

The register is persisted by the composition root's service (``core.meetings.optouts.MeetingOptOuts`` over
the ``meeting_optouts`` table); the adapter only needs the calls below. Ids are strings: the guild id and
the member's Discord user id. Opting out is per guild (the commands are guild-only), like the meeting data
it protects.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class OptOutRegister(Protocol):
    """Who must not be captured; opting out also deletes the member's already transcribed speech."""

    async def load(self) -> None:
        """Read the register before the first capture."""
        ...

    def is_opted_out(self, guild_id: str, user_id: str) -> bool:
        """Whether the member must not be captured (called from the voice receive thread)."""
        ...

    async def opt_out(self, guild_id: str, user_id: str, names: Sequence[str] = ()) -> object:
        """Record an opt-out and delete the guild's transcript segments spoken under ``names``."""
        ...

    async def opt_in(self, guild_id: str, user_id: str) -> None:
        """Undo an opt-out."""
        ...

    async def forget_speakers(self, guild_id: str, names: Sequence[str]) -> object:
        """Delete the guild's transcript segments spoken under ``names``."""
        ...


async def import_legacy_file(path: Path, register: OptOutRegister) -> int:
    """Move the opt-outs of the JSON file earlier versions kept into ``register``; rename it ``.migrated``.

    Returns how many pairs were imported (0 when there is no file). A damaged file stops the start: it
    must not silently capture people who opted out.
    """
    try:
        text = await asyncio.to_thread(path.read_text, encoding="utf-8")
    except FileNotFoundError:
        return 0
    try:
        pairs = [(str(int(g)), str(int(u))) for g, u in json.loads(text).get("opted_out", [])]
    except (ValueError, TypeError, AttributeError):
        raise RuntimeError(f"discord: the opt-out file {path} is unreadable; fix or remove it") from None
    for guild_id, user_id in pairs:
        await register.opt_out(guild_id, user_id)
    await asyncio.to_thread(path.rename, path.with_name(path.name + ".migrated"))
    log.info("discord: %d opt-out(s) moved from %s into the database", len(pairs), path)
    return len(pairs)
