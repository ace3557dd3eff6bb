"""Consents with their wording and time, and which user (and star) uses which stored file."""

from __future__ import annotations

from sqlalchemy import select

from core.domain.records import BlobUse, Consent
from core.storage.db import Database
from core.storage.ids import aware, new_id, utcnow
from core.storage.models import BlobRefRow, ConsentRow


class ConsentRepository:
    """Consents with their wording and time."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, user_id: str, kind: str, text: str, star_id: str | None = None) -> None:
        """Store one consent."""
        async with self.db.write() as s:
            s.add(
                ConsentRow(
                    id=new_id(), user_id=user_id, star_id=star_id, kind=kind, text=text, given_at=utcnow()
                )
            )

    async def list_for(self, user_id: str, star_id: str | None = None) -> list[Consent]:
        """Consents of a user (and star), oldest first."""
        q = select(ConsentRow).where(ConsentRow.user_id == user_id)
        if star_id is not None:
            q = q.where((ConsentRow.star_id == star_id) | ConsentRow.star_id.is_(None))
        async with self.db.read() as s:
            rows = await s.scalars(q.order_by(ConsentRow.given_at))
            return [
                Consent(kind=r.kind, text=r.text, given_at=aware(r.given_at), star_id=r.star_id) for r in rows
            ]

    async def has(self, user_id: str, kind: str, star_id: str | None = None) -> bool:
        """Whether the user gave this consent."""
        q = select(ConsentRow.id).where(ConsentRow.user_id == user_id, ConsentRow.kind == kind)
        if star_id is not None:
            q = q.where(ConsentRow.star_id == star_id)
        async with self.db.read() as s:
            return (await s.scalar(q.limit(1))) is not None


class BlobRefRepository:
    """Which user (and star) uses which blob (whether a blob may go: ``BlobReferenceRepository``)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self,
        key: str,
        *,
        owner_id: str,
        purpose: str,
        star_id: str | None = None,
        filename: str = "",
        size: int = 0,
    ) -> None:
        """Reference a stored blob."""
        async with self.db.write() as s:
            s.add(
                BlobRefRow(
                    blob_key=key,
                    owner_id=owner_id,
                    star_id=star_id,
                    purpose=purpose,
                    filename=filename[:255],
                    size=size,
                    created_at=utcnow(),
                )
            )

    async def list_for(self, owner_id: str, star_id: str | None = None) -> list[BlobUse]:
        """A user's stored files, optionally only one star's."""
        q = select(BlobRefRow).where(BlobRefRow.owner_id == owner_id)
        if star_id is not None:
            q = q.where(BlobRefRow.star_id == star_id)
        async with self.db.read() as s:
            rows = await s.scalars(q.order_by(BlobRefRow.id))
            return [BlobUse(key=r.blob_key, purpose=r.purpose, filename=r.filename) for r in rows]
