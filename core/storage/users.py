"""Users by platform identity, their locale, active star and reply preferences."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.engine import Connection

from core.domain.identity import Locale, User, UserRef
from core.domain.stars import Star
from core.storage.db import Database
from core.storage.ids import new_id, utcnow
from core.storage.mappers import to_star, to_user
from core.storage.models import StarRow, UserRow
from core.storage.stars import VISIBLE

# Statements of every chat turn, built once (building and cache-keying a select costs more than SQLite
# answering it); they run through ``Database.run`` on a Core connection. Columns keep the ORM's names.
_USER_BY_IDENTITY = select(UserRow.__table__).where(
    UserRow.platform == bindparam("platform"), UserRow.platform_user_id == bindparam("platform_user_id")
)
_ACTIVE_STAR_ID = select(UserRow.active_star_id).where(UserRow.id == bindparam("user_id"))
_ACTIVE_STAR = select(StarRow.__table__).where(
    StarRow.id == _ACTIVE_STAR_ID.scalar_subquery(), StarRow.owner_id == bindparam("user_id"), VISIBLE
)


class UserRepository:
    """Users by platform identity, their locale and active star."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_or_create(self, ref: UserRef, *, display_name: str, locale: Locale) -> User:
        """The user for a platform identity, created on first contact."""
        params = {"platform": ref.platform.value, "platform_user_id": ref.platform_user_id}

        def find(conn: Connection) -> User | None:
            row = conn.execute(_USER_BY_IDENTITY, params).first()
            return to_user(row) if row is not None else None

        found = await self.db.run(find)
        if found is not None:
            return found
        async with self.db.write() as s:
            row = await s.scalar(
                select(UserRow).where(
                    UserRow.platform == ref.platform.value, UserRow.platform_user_id == ref.platform_user_id
                )
            )
            if row is None:
                row = UserRow(
                    id=new_id(),
                    platform=ref.platform.value,
                    platform_user_id=ref.platform_user_id,
                    display_name=display_name[:200],
                    locale=locale.value,
                    locale_explicit=False,
                    voice_replies=False,
                    created_at=utcnow(),
                )
                s.add(row)
            return to_user(row)

    async def get(self, user_id: str) -> User | None:
        """A user by id."""
        async with self.db.read() as s:
            row = await s.get(UserRow, user_id)
            return to_user(row) if row else None

    async def set_locale(self, user_id: str, locale: Locale) -> None:
        """Switch the user's language explicitly (it then wins over the platform's hint)."""
        async with self.db.write() as s:
            await s.execute(
                update(UserRow).where(UserRow.id == user_id).values(locale=locale.value, locale_explicit=True)
            )

    async def set_active_star(self, user_id: str, star_id: str | None) -> None:
        """Which star the user's plain messages go to."""
        async with self.db.write() as s:
            await s.execute(update(UserRow).where(UserRow.id == user_id).values(active_star_id=star_id))

    async def active_star_id(self, user_id: str) -> str | None:
        """The user's active star id, if any."""
        return await self.db.run(lambda conn: conn.scalar(_ACTIVE_STAR_ID, {"user_id": user_id}))

    async def active_star(self, user_id: str) -> Star | None:
        """The user's active star, if it is set and the user owns it (one query for the chat path)."""

        def find(conn: Connection) -> Star | None:
            row = conn.execute(_ACTIVE_STAR, {"user_id": user_id}).first()
            return to_star(row) if row is not None else None

        return await self.db.run(find)

    async def voice_replies(self, user_id: str) -> bool:
        """Whether the user wants voice messages answered with a voice note too."""
        async with self.db.read() as s:
            return bool(await s.scalar(select(UserRow.voice_replies).where(UserRow.id == user_id)))

    async def set_voice_replies(self, user_id: str, on: bool) -> None:
        """Turn voice replies on or off (``/voicereply``)."""
        async with self.db.write() as s:
            await s.execute(update(UserRow).where(UserRow.id == user_id).values(voice_replies=on))

    async def delete(self, user_id: str) -> None:
        """Delete a user; every owned row goes with it (foreign keys cascade)."""
        async with self.db.write() as s:
            await s.execute(delete(UserRow).where(UserRow.id == user_id))

    async def count(self) -> int:
        """How many users exist."""
        async with self.db.read() as s:
            return int(await s.scalar(select(func.count()).select_from(UserRow)) or 0)
