"""Data rights: export a star, forget a star, retire a star, forget a user. Deletion leaves nothing behind."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from core.domain.stars import Star, StarStatus
from core.ports import BlobStore
from core.storage.blob_references import BlobReferenceRepository, release_blobs
from core.storage.memory import MemoryStore
from core.storage.repositories import (
    BlobRefRepository,
    ChatRepository,
    ConsentRepository,
    SafetyEventRepository,
    StarRepository,
    UserRepository,
)

log = logging.getLogger(__name__)
_WARM = re.compile(r"사랑|고마|보고\s?싶|잘\s?자|건강|love|thank|miss you|take care", re.IGNORECASE)
_SAFE_NAME = re.compile(r"[^\w.\-가-힣]+")


class DataRightsService:
    """Implements /export, /forget, /retire and /forget_me for one owner at a time."""

    def __init__(
        self,
        *,
        users: UserRepository,
        stars: StarRepository,
        chats: ChatRepository,
        consents: ConsentRepository,
        blob_refs: BlobRefRepository,
        references: BlobReferenceRepository,
        safety_events: SafetyEventRepository,
        memory: MemoryStore,
        blobs: BlobStore,
        export_dir: Path,
    ) -> None:
        self.users = users
        self.stars = stars
        self.chats = chats
        self.consents = consents
        self.blob_refs = blob_refs
        self.references = references
        self.safety_events = safety_events
        self.memory = memory
        self.blobs = blobs
        self.export_dir = export_dir

    async def export_star(self, owner_id: str, star: Star) -> Path:
        """A zip with the star's profile, chat history, consents, imported messages and the user's uploads."""
        profile = await self.stars.style_profile(star.id)
        turns = await self.chats.all_turns(owner_id, star.id)
        consents = await self.consents.list_for(owner_id, star.id)
        messages = await self.memory.messages(star.id, kinds=("text", "media", "deleted"))
        refs = await self.blob_refs.list_for(owner_id, star.id)
        doc: dict[str, Any] = {
            "star": {
                "id": star.id,
                "name": star.name,
                "relation": star.relation,
                "participant": star.participant_name,
                "notes": star.notes,
                "birth_date": star.birth_date.isoformat() if star.birth_date else None,
                "death_date": star.death_date.isoformat() if star.death_date else None,
                "status": star.status.value,
                "created_at": star.created_at.isoformat(),
            },
            "style_profile": profile[0] if profile else None,
            "traits": profile[1] if profile else [],
        }
        history = [
            {"role": t.role.value, "text": t.text, "at": t.created_at.isoformat(), "engine": t.engine}
            for t in turns
        ]
        imported = [
            {"time": m.sent_at.isoformat(), "author": m.author, "kind": m.kind, "text": m.text}
            for m in messages
        ]
        remembered = [
            {"time": m.time.isoformat(), "text": m.text}
            for m in await self.memory.conversation_memories(owner_id, star.id)
        ]
        blobs = [(await self.blobs.fetch_local(k), purpose, name) for k, purpose, name in refs]

        def write() -> Path:
            self.export_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.export_dir, prefix="export-", suffix=".zip")
            os.close(fd)
            path = Path(tmp)
            try:
                with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                    zf.writestr("profile.json", json.dumps(doc, ensure_ascii=False, indent=2))
                    zf.writestr("chat_history.json", json.dumps(history, ensure_ascii=False, indent=2))
                    zf.writestr("consents.json", json.dumps(consents, ensure_ascii=False, indent=2))
                    zf.writestr("imported_messages.json", json.dumps(imported, ensure_ascii=False))
                    zf.writestr(
                        "conversation_memory.json", json.dumps(remembered, ensure_ascii=False, indent=2)
                    )
                    for i, (src, purpose, name) in enumerate(blobs):
                        if src.exists():
                            safe = _SAFE_NAME.sub("_", name) or "file"
                            zf.write(src, f"uploads/{i:02d}-{purpose}-{safe}")
            except BaseException:
                path.unlink(missing_ok=True)  # never leave a half-written export behind
                raise
            return path

        return await asyncio.to_thread(write)

    async def forget_star(self, owner_id: str, star_id: str) -> bool:
        """Delete a star and every row and file derived from it. False when the user does not own it."""
        keys = [k for k, _, _ in await self.blob_refs.list_for(owner_id, star_id)]
        if not await self.stars.delete_owned(star_id, owner_id):
            return False
        self.memory.forget_star(star_id)  # its moments went with the star's rows
        removed = await release_blobs(self.references, self.blobs, keys)
        log.info("star forgotten: star=%s blobs_removed=%d", star_id, len(removed))
        return True

    async def forget_user(self, user_id: str) -> None:
        """Delete everything a user has: stars, chats, consents, flows, jobs, files.

        Every blob the user's rows, flows or jobs name goes, unless another user's data names the same
        content.
        """
        keys = await self.references.held_by(user_id)
        await self.users.delete(user_id)
        self.memory.vectors.forget_user(user_id)  # their conversation memory went with their rows
        removed = await release_blobs(self.references, self.blobs, keys)
        log.info("user forgotten: user=%s blobs_removed=%d", user_id, len(removed))

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
