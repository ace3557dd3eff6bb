"""Stars as their owners see them, their style profile, and the transactions that import a star."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Connection

from core.domain.stars import Star, StarStatus, StoredStyle
from core.storage.db import Database
from core.storage.mappers import to_star
from core.storage.models import StarMessageRow, StarRow, StyleProfileRow, UserRow

# A star being imported is nobody's yet: every read of stars leaves it out.
VISIBLE = StarRow.status != StarStatus.IMPORTING.value
_STAR_OWNED = select(StarRow.__table__).where(
    StarRow.id == bindparam("star_id"), StarRow.owner_id == bindparam("owner_id"), VISIBLE
)


class StarRepository:
    """Stars, always read through their owner."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_owned(self, star_id: str, owner_id: str) -> Star | None:
        """The star if ``owner_id`` owns it, else ``None`` (never another user's star)."""

        def find(conn: Connection) -> Star | None:
            row = conn.execute(_STAR_OWNED, {"star_id": star_id, "owner_id": owner_id}).first()
            return to_star(row) if row is not None else None

        return await self.db.run(find)

    async def list_owned(self, owner_id: str) -> list[Star]:
        """The user's stars, oldest first."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(StarRow)
                .where(StarRow.owner_id == owner_id, VISIBLE)
                .order_by(StarRow.created_at, StarRow.id)
            )
            return [to_star(r) for r in rows]

    async def set_status(self, star_id: str, owner_id: str, status: StarStatus) -> bool:
        """Change a star's status; False when the user does not own it."""
        async with self.db.write() as s:
            res = await s.execute(
                update(StarRow)
                .where(StarRow.id == star_id, StarRow.owner_id == owner_id)
                .values(status=status.value)
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    async def set_names(
        self, star_id: str, owner_id: str, *, user_address: str | None = None, user_name: str | None = None
    ) -> bool:
        """Store what the star called the user and/or the user's own name; False when not the owner's."""
        values = {
            k: v for k, v in (("user_address", user_address), ("user_name", user_name)) if v is not None
        }
        if not values:
            return False
        async with self.db.write() as s:
            res = await s.execute(
                update(StarRow).where(StarRow.id == star_id, StarRow.owner_id == owner_id).values(**values)
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    async def other_authors(self, star_id: str, limit: int = 3) -> list[str]:
        """The other participants of the star's export, most messages first (the user is among them)."""
        async with self.db.read() as s:
            rows = await s.execute(
                select(StarMessageRow.author)
                .where(StarMessageRow.star_id == star_id, StarMessageRow.is_star.is_(False))
                .group_by(StarMessageRow.author)
                .order_by(func.count().desc(), StarMessageRow.author)
                .limit(limit)
            )
            return [str(r[0]) for r in rows]

    async def delete_owned(self, star_id: str, owner_id: str) -> bool:
        """Delete a star and every row derived from it; False when the user does not own it."""
        async with self.db.write() as s:
            res = await s.execute(delete(StarRow).where(StarRow.id == star_id, StarRow.owner_id == owner_id))
            await s.execute(
                update(UserRow).where(UserRow.active_star_id == star_id).values(active_star_id=None)
            )
            return bool(res.rowcount)  # type: ignore[attr-defined]

    async def style_profile(self, star_id: str) -> StoredStyle | None:
        """The stored style profile (its JSON fields) and extracted traits."""
        async with self.db.read() as s:
            row = await s.get(StyleProfileRow, star_id)
            return StoredStyle(profile=dict(row.profile), traits=tuple(row.traits)) if row else None

    async def set_traits(self, star_id: str, traits: Sequence[str]) -> None:
        """Store LLM-extracted traits beside the profile."""
        async with self.db.write() as s:
            await s.execute(
                update(StyleProfileRow).where(StyleProfileRow.star_id == star_id).values(traits=list(traits))
            )
