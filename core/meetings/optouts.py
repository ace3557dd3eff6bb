"""Meeting opt-outs (``/optout``, ``/optin``): who must never be captured in a guild, and forgetting them.

The register is persisted (``meeting_optouts``) and mirrored in memory, because live capture asks
:meth:`MeetingOptOuts.is_opted_out` for every voice packet, from the receive thread. The in-memory set is
replaced, never mutated, so that thread always reads a consistent snapshot.

Opting out also deletes the member's enrolled voice in the guild, and what the guild's archive already
holds of the member: every transcript segment whose speaker is labelled or shown as one of the member's
names, in every meeting of the guild, whether it is still processing or finished. Summaries written
before the opt-out are not rewritten (see the README), and a capture still running is the adapter's to
trim (it deletes the member's track).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from core.storage.optout_repository import DeletedSpeech, MeetingOptOutRepository

log = logging.getLogger(__name__)


class MeetingOptOuts:
    """The opt-out register of guild meetings; ids are strings (a guild id, a platform user id)."""

    def __init__(
        self,
        repo: MeetingOptOutRepository,
        *,
        forget_voice: Callable[[str, str], Awaitable[int]] | None = None,
    ) -> None:
        self.repo = repo
        # Deletes the member's enrolled voice in the guild (guild id, platform user id).
        self.forget_voice = forget_voice
        self._pairs: frozenset[tuple[str, str]] = frozenset()
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Read the register from the database (before the first capture)."""
        self._pairs = frozenset(await self.repo.all())

    def is_opted_out(self, guild_id: str, user_id: str) -> bool:
        """Whether ``user_id`` must not be captured in ``guild_id`` (safe to call from any thread)."""
        return (guild_id, user_id) in self._pairs

    async def opt_out(self, guild_id: str, user_id: str, names: Sequence[str] = ()) -> DeletedSpeech:
        """Record the opt-out, then delete the guild's transcript segments spoken under ``names``."""
        async with self._lock:
            await self.repo.add(guild_id, user_id)
            self._pairs = self._pairs | {(guild_id, user_id)}
        if self.forget_voice is not None and await self.forget_voice(guild_id, user_id):
            log.info("meeting opt-out: the enrolled voice deleted in guild %s", guild_id)
        return await self.forget_speakers(guild_id, names)

    async def opt_in(self, guild_id: str, user_id: str) -> None:
        """Undo an opt-out (nothing deleted comes back)."""
        async with self._lock:
            await self.repo.remove(guild_id, user_id)
            self._pairs = self._pairs - {(guild_id, user_id)}

    async def forget_speakers(self, guild_id: str, names: Sequence[str]) -> DeletedSpeech:
        """Delete the guild's segments spoken under ``names`` (also after a meeting that was processing)."""
        deleted = await self.repo.delete_speaker_segments(guild_id, names)
        if deleted.segments:
            await self.repo.db.after_deletion()  # their words gone from the WAL too
            log.info(
                "meeting opt-out: %d segment(s) deleted in %d meeting(s) of guild %s",
                deleted.segments,
                deleted.meetings,
                guild_id,
            )
        return deleted
