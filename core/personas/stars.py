"""Creating stars from KakaoTalk exports: parse, choose the participant, import in one transaction."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from core.domain.stars import Star, StarStatus
from core.personas.kakao import KakaoExport, parse_export
from core.personas.style import StyleProfile, build_style_profile
from core.personas.style_traits import extract_traits
from core.ports import BlobStore, ChatModel
from core.storage.db import Database
from core.storage.ids import new_id, utcnow
from core.storage.memory import MemoryStore
from core.storage.models import BlobRefRow, ConsentRow, StarRow, StyleProfileRow
from core.storage.repositories import _star

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class NewStar:
    """What the user told us about the star."""

    owner_id: str
    name: str
    relation: str
    participant: str
    notes: str = ""
    birth_date: date | None = None
    death_date: date | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ImportResult:
    """The created star and what was imported."""

    star: Star
    imported: int
    profile: StyleProfile


class ExportTooLarge(ValueError):
    """The export is over the configured size limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes > {limit}")
        self.size = size
        self.limit = limit


class StarService:
    """Parses exports and creates stars with their memories and style profile."""

    def __init__(
        self,
        db: Database,
        memory: MemoryStore,
        blobs: BlobStore,
        *,
        max_export_bytes: int,
        chat_model: ChatModel | None = None,
    ) -> None:
        self.chat_model = chat_model
        self.db = db
        self.memory = memory
        self.blobs = blobs
        self.max_export_bytes = max_export_bytes

    def check_size(self, size: int) -> None:
        """Raise :class:`ExportTooLarge` past the limit."""
        if size > self.max_export_bytes:
            raise ExportTooLarge(size, self.max_export_bytes)

    async def parse(self, path: Path) -> KakaoExport:
        """Parse an export off the event loop (raises ``KakaoParseError``)."""
        self.check_size(path.stat().st_size)
        return await asyncio.to_thread(parse_export, path)

    async def create(
        self, new: NewStar, export_blob: str, *, consent_text: str, consent_kind: str = "star_creation"
    ) -> ImportResult:
        """Create the star from a stored export. One transaction: a failure leaves no half-made star."""
        path = self.blobs.local_path(export_blob)
        export = await self.parse(path)
        if new.participant not in export.participants():
            raise ValueError(f"participant {new.participant!r} is not in the export")
        star_msgs = [m for m in export.messages if m.author == new.participant]
        others = [m for m in export.messages if m.author != new.participant]
        profile = await asyncio.to_thread(build_style_profile, star_msgs, others)
        star_id = new_id()
        now = utcnow()
        async with self.db.write() as s:
            row = StarRow(
                id=star_id,
                owner_id=new.owner_id,
                name=new.name,
                relation=new.relation,
                participant_name=new.participant,
                notes=new.notes,
                birth_date=new.birth_date,
                death_date=new.death_date,
                status=StarStatus.ACTIVE.value,
                created_at=now,
            )
            s.add(row)
            await s.flush()
            imported = await self.memory.import_messages(s, star_id, export.messages, new.participant)
            s.add(
                StyleProfileRow(
                    star_id=star_id, profile=json.loads(profile.to_json()), traits=[], updated_at=now
                )
            )
            s.add(
                ConsentRow(
                    id=new_id(),
                    user_id=new.owner_id,
                    star_id=star_id,
                    kind=consent_kind,
                    text=consent_text,
                    given_at=now,
                )
            )
            s.add(
                BlobRefRow(
                    blob_key=export_blob,
                    owner_id=new.owner_id,
                    star_id=star_id,
                    purpose="kakao_export",
                    filename="kakao_export" + path.suffix,
                    size=path.stat().st_size,
                    created_at=now,
                )
            )
            star = _star(row)
        log.info("star created: star=%s messages=%d", star_id, imported)
        if self.chat_model is not None:
            # The seed's extraction step: ~10 traits from the star's own messages (data, never instructions).
            traits = await extract_traits(self.chat_model, star_msgs, "ko", name=new.name)
            if traits:
                profile = profile.with_traits(traits)
                async with self.db.write() as s:
                    stored = await s.get(StyleProfileRow, star_id)
                    if stored is not None:
                        stored.traits = list(traits)
                        stored.profile = json.loads(profile.to_json())
        return ImportResult(star=star, imported=imported, profile=profile)

    async def add_export(self, star: Star, export_blob: str) -> int:
        """Import another export of the same conversation; duplicates are skipped. Returns new messages."""
        export = await self.parse(self.blobs.local_path(export_blob))
        async with self.db.write() as s:
            return await self.memory.import_messages(s, star.id, export.messages, star.participant_name)

    async def profile(self, star_id: str) -> StyleProfile | None:
        """The star's stored style profile."""
        from sqlalchemy import select

        async with self.db.read() as s:
            data: Any = await s.scalar(
                select(StyleProfileRow.profile).where(StyleProfileRow.star_id == star_id)
            )
        return StyleProfile.from_json(json.dumps(data)) if data else None
