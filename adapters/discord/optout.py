"""Who opted out of meeting capture, per (guild, user): in memory, persisted to one JSON file.

Interim store until the meetings repository has a table for it. Opting out is per guild (the commands
are guild-only), like the meeting data it protects. Writes go through a temporary file and a rename, so
a crash never leaves a half-written file.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)


class OptOutStore:
    """``is_opted_out(guild_id, user_id)``; ``opt_out``/``opt_in`` persist immediately."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._pairs: set[tuple[int, int]] = set()
        self._lock = asyncio.Lock()
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            # A damaged file must not silently record people who opted out: refuse to start.
            raise RuntimeError(
                f"discord: the opt-out file {self.path} is unreadable; fix or remove it"
            ) from None
        self._pairs = {(int(g), int(u)) for g, u in data.get("opted_out", [])}

    def is_opted_out(self, guild_id: int, user_id: int) -> bool:
        """Whether ``user_id`` must not be captured in ``guild_id``."""
        return (guild_id, user_id) in self._pairs

    async def opt_out(self, guild_id: int, user_id: int) -> None:
        """Record an opt-out."""
        async with self._lock:
            self._pairs.add((guild_id, user_id))
            await asyncio.to_thread(self._save, sorted(self._pairs))

    async def opt_in(self, guild_id: int, user_id: int) -> None:
        """Undo an opt-out."""
        async with self._lock:
            self._pairs.discard((guild_id, user_id))
            await asyncio.to_thread(self._save, sorted(self._pairs))

    def _save(self, pairs: list[tuple[int, int]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"opted_out": pairs}), encoding="utf-8")
        os.replace(tmp, self.path)
