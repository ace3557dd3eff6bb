"""The transactions that create an imported star: an invisible star first, then what makes it whole.

``StarService.create`` (``core.personas.stars``) streams the export between the two: ``begin`` writes the
star ``importing`` (invisible to every read), the message batches follow (``MemoryStore.write_batches``),
and ``finish`` writes the style profile, the consent and the uploaded files' references and makes the
star ``active`` in one transaction. ``StarImports`` removes an import that failed or died.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import update

from core.domain.records import BlobUse
from core.domain.stars import NewStar, Star, StarStatus
from core.storage.db import Database
from core.storage.ids import new_id, utcnow
from core.storage.mappers import to_star
from core.storage.models import BlobRefRow, ConsentRow, StarRow, StyleProfileRow
from core.storage.star_imports import StarImports


class StarCreation:
    """Writes a new star around its streamed import."""

    def __init__(self, db: Database, imports: StarImports | None = None) -> None:
        self.db = db
        self.imports = imports or StarImports(db)

    async def begin(self, new: NewStar) -> Star:
        """Store the star as ``importing`` (invisible until ``finish``); returns it as stored."""
        now = utcnow()
        row = StarRow(
            id=new_id(),
            owner_id=new.owner_id,
            name=new.name,
            relation=new.relation,
            participant_name=new.participant,
            notes=new.notes,
            birth_date=new.birth_date,
            death_date=new.death_date,
            photo_blob=new.photo_blob,
            status=StarStatus.IMPORTING.value,
            created_at=now,
            import_seen_at=now,
        )
        async with self.db.write() as s:
            s.add(row)
        return to_star(row)

    async def finish(
        self,
        star: Star,
        *,
        profile: Mapping[str, Any],
        consent_kind: str,
        consent_text: str,
        files: Sequence[BlobUse],
    ) -> Star:
        """In one transaction: the style profile, the consent, the files' references, and the star made
        ``active``. Returns the star as it now is."""
        now = utcnow()
        async with self.db.write() as s:
            s.add(StyleProfileRow(star_id=star.id, profile=dict(profile), traits=[], updated_at=now))
            s.add(
                ConsentRow(
                    id=new_id(),
                    user_id=star.owner_id,
                    star_id=star.id,
                    kind=consent_kind,
                    text=consent_text,
                    given_at=now,
                )
            )
            for file in files:
                s.add(
                    BlobRefRow(
                        blob_key=file.key,
                        owner_id=star.owner_id,
                        star_id=star.id,
                        purpose=file.purpose,
                        filename=file.filename[:255],
                        size=file.size,
                        created_at=now,
                    )
                )
            await self.imports.activate(s, star.id)
        return replace(star, status=StarStatus.ACTIVE)

    async def store_profile(self, star_id: str, profile: Mapping[str, Any], traits: Sequence[str]) -> None:
        """Replace the star's stored profile and its extracted traits."""
        async with self.db.write() as s:
            await s.execute(
                update(StyleProfileRow)
                .where(StyleProfileRow.star_id == star_id)
                .values(profile=dict(profile), traits=list(traits))
            )
