"""Data rights: export a star, forget a star, retire a star, forget a user. Deletion leaves nothing behind."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import zipfile
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.blob_release import release_blobs
from core.domain.stars import Star, StarStatus
from core.ports import BlobStore
from core.privacy.star_export import StarExporter
from core.storage.blob_references import BlobReferenceRepository
from core.storage.conversation_items import ConversationItems, ForgottenItem
from core.storage.memory import MemoryStore
from core.storage.outbox import Outbox
from core.storage.repositories import (
    BlobRefRepository,
    StarRepository,
    UserRepository,
)

log = logging.getLogger(__name__)
_WARM = re.compile(r"사랑|고마|보고\s?싶|잘\s?자|건강|love|thank|miss you|take care", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportExtra:
    """More of the user's data in every export, from a feature outside the star (e.g. enrolled voices)."""

    file: str
    """The JSON file's name in the zip."""
    records: Callable[[str], Awaitable[object]]
    """The user's records (JSON-serialisable), given their user id."""


def memory_ref(moment_id: int) -> str:
    """How a conversation memory is named to its user (``/export``, ``/forget m12``)."""
    return f"m{moment_id}"


class DataRightsService:
    """Implements /export, /forget, /retire and /forget_me for one owner at a time."""

    def __init__(
        self,
        *,
        users: UserRepository,
        stars: StarRepository,
        blob_refs: BlobRefRepository,
        references: BlobReferenceRepository,
        memory: MemoryStore,
        blobs: BlobStore,
        outbox: Outbox,
        exporter: StarExporter,
        extras: Sequence[ExportExtra] = (),
    ) -> None:
        self.users = users
        self.stars = stars
        self.blob_refs = blob_refs
        self.references = references
        self.memory = memory
        self.blobs = blobs
        self.outbox = outbox  # the export zips: deleted once delivered, after a TTL, or by /forget(_me)
        self.exporter = exporter
        self.extras = tuple(extras)  # declared by the composition root, fixed once built
        self.items = ConversationItems(stars.db)

    async def export_star(self, owner_id: str, star: Star) -> Path:
        """A zip of everything VOS holds about the star (see ``core.privacy.star_export``), with a README."""
        bundle = await self.exporter.bundle(owner_id, star)
        files = [(await self.blobs.fetch_local(key), arcname) for key, arcname in bundle.files]
        extras = [(extra.file, await extra.records(owner_id)) for extra in self.extras]
        remembered = [
            {"id": memory_ref(m.moment_id), "time": m.time.isoformat(), "text": m.text}
            for m in await self.memory.conversation_memories(owner_id, star.id)
        ]

        def write() -> Path:
            path = self.outbox.new_path(owner_id, star.id, ".zip")
            try:
                with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                    for name, text in bundle.documents:
                        zf.writestr(name, text)
                    zf.writestr(
                        "conversation_memory.json", json.dumps(remembered, ensure_ascii=False, indent=2)
                    )
                    for file, records in extras:
                        zf.writestr(file, json.dumps(records, ensure_ascii=False, indent=2))
                    for src, arcname in files:
                        if src.exists():
                            zf.write(src, arcname)
            except BaseException:
                path.unlink(missing_ok=True)  # never leave a half-written export behind
                raise
            return path

        return await asyncio.to_thread(write)

    async def forget_star(self, owner_id: str, star_id: str) -> bool:
        """Delete a star and every row and file derived from it. False when the user does not own it."""
        keys = [use.key for use in await self.blob_refs.list_for(owner_id, star_id)]
        if not await self.stars.delete_owned(star_id, owner_id):
            return False
        self.memory.forget_star(star_id)  # its moments went with the star's rows
        removed = await release_blobs(self.references, self.blobs, keys)
        exports = await self.outbox.delete_about(star_id)
        await self.stars.db.after_deletion(optimize_fulltext=True)
        log.info("star forgotten: star=%s blobs_removed=%d exports=%d", star_id, len(removed), exports)
        return True

    async def forget_item(self, owner_id: str, ref: str) -> ForgottenItem | None:
        """``/forget ID``: one bubble (its turn id) or one conversation memory (``m`` and its id) of this
        user; ``None`` when the user has no such item (another user's id reads the same as none)."""
        ref = ref.strip().lower()
        number = ref.removeprefix("m")
        if not number.isdigit() or len(number) > 18:
            return None
        if ref.startswith("m"):
            item = await self.items.forget_memory(owner_id, int(number))
        else:
            item = await self.items.forget_turn(owner_id, int(number))
        if item is not None:
            self.memory.vectors.forget_user(owner_id)  # a deleted memory's vector must not be ranked again
            await self.stars.db.after_deletion(optimize_fulltext=True)
            log.info("item forgotten: user=%s kind=%s memories=%d", owner_id, item.kind, item.memories)
        return item

    async def forget_user(self, user_id: str) -> None:
        """Delete everything a user has: stars, chats, consents, flows, jobs, files.

        Every blob the user's rows, flows or jobs name goes, unless another user's data names the same
        content.
        """
        keys = await self.references.held_by(user_id)
        await self.users.delete(user_id)
        self.memory.vectors.forget_user(user_id)  # their conversation memory went with their rows
        removed = await release_blobs(self.references, self.blobs, keys)
        exports = await self.outbox.delete_owned(user_id)
        # A crashed upload's temporary copy names nobody, so it may be this user's: every one no live
        # process is writing goes now.
        incoming = await self.blobs.sweep_incoming()
        await self.users.db.after_deletion(optimize_fulltext=True)
        log.info(
            "user forgotten: user=%s blobs_removed=%d exports=%d incoming=%d",
            user_id,
            len(removed),
            exports,
            incoming,
        )

    async def farewell_lines(self, star: Star) -> list[str]:
        """The star's last message: their own warmest words, never generated."""
        msgs = await self.memory.messages(star.id, star_only=True)
        warm = [m.text for m in msgs if _WARM.search(m.text) and len(m.text) <= 120]
        if warm:
            return [warm[-1]]
        return [msgs[-1].text] if msgs else []

    async def retire(self, owner_id: str, star: Star) -> list[str]:
        """Send the farewell and make the star read-only. Returns the farewell bubbles."""
        lines = await self.farewell_lines(star)
        await self.stars.set_status(star.id, owner_id, StarStatus.RETIRED)
        return lines
