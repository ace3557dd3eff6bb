"""Repositories: the only code that touches ORM rows. They take and return domain objects."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from core.domain.identity import Locale, Platform, User, UserRef
from core.domain.stars import ChatTurn, Star, StarStatus, TurnRole
from core.storage.db import Database
from core.storage.ids import aware, new_id, utcnow
from core.storage.models import (
    BlobRefRow,
    ChatTurnRow,
    ConsentRow,
    CrisisReferralRow,
    FlowRow,
    SafetyEventRow,
    StarMessageRow,
    StarRow,
    StyleProfileRow,
    UserRow,
)

# Statements of every chat turn, built once (building and cache-keying a select costs more than SQLite
# answering it); they run through ``Database.run`` on a Core connection. Columns keep the ORM's names.
_USER_BY_IDENTITY = select(UserRow.__table__).where(
    UserRow.platform == bindparam("platform"), UserRow.platform_user_id == bindparam("platform_user_id")
)
_ACTIVE_STAR_ID = select(UserRow.active_star_id).where(UserRow.id == bindparam("user_id"))
# A star being imported is nobody's yet: every read of stars leaves it out.
_VISIBLE = StarRow.status != StarStatus.IMPORTING.value
_STAR_OWNED = select(StarRow.__table__).where(
    StarRow.id == bindparam("star_id"), StarRow.owner_id == bindparam("owner_id"), _VISIBLE
)
_ACTIVE_STAR = select(StarRow.__table__).where(
    StarRow.id == _ACTIVE_STAR_ID.scalar_subquery(), StarRow.owner_id == bindparam("user_id"), _VISIBLE
)
_TURNS_OF = (ChatTurnRow.user_id == bindparam("user_id"), ChatTurnRow.star_id == bindparam("star_id"))
_RECENT = (
    select(ChatTurnRow.__table__).where(*_TURNS_OF).order_by(ChatTurnRow.id.desc()).limit(bindparam("limit"))
)
_RECENT_IN_CONTEXT = (
    select(ChatTurnRow.__table__)
    .where(*_TURNS_OF, ChatTurnRow.in_context.is_(True))
    .order_by(ChatTurnRow.id.desc())
    .limit(bindparam("limit"))
)
_ANY_TURN = select(ChatTurnRow.id).where(*_TURNS_OF).limit(1)
# The ids come back in the bubbles' order (SQLAlchemy's "insertmanyvalues", SQLite and PostgreSQL alike).
_INSERT_TURN = insert(ChatTurnRow).returning(ChatTurnRow.id, sort_by_parameter_order=True)
_FLOW = select(FlowRow.kind, FlowRow.step, FlowRow.data).where(FlowRow.user_id == bindparam("user_id"))
# Deletes the flow and hands back what it held in the same statement (SQLite >= 3.35 and PostgreSQL).
_CLEAR_FLOW = delete(FlowRow).where(FlowRow.user_id == bindparam("user_id")).returning(FlowRow.data)


# Plain dict lookups: calling an Enum class by value is several times slower, once per row (hot path).
_PLATFORMS = {p.value: p for p in Platform}
_LOCALES = {loc.value: loc for loc in Locale}
_ROLES = {r.value: r for r in TurnRole}
_STATUSES = {s.value: s for s in StarStatus}


def _user(row: UserRow | Row[Any] | Any) -> User:
    """A user from anything with ``UserRow``'s attribute names (a model, a Core row, a named tuple)."""
    return User(
        id=row.id,
        platform=_PLATFORMS[row.platform],
        platform_user_id=row.platform_user_id,
        display_name=row.display_name,
        locale=_LOCALES[row.locale],
        locale_is_explicit=row.locale_explicit,
        created_at=aware(row.created_at),
    )


def _star(row: StarRow | Row[Any] | Any) -> Star:
    """A star from anything with ``StarRow``'s attribute names."""
    return Star(
        id=row.id,
        owner_id=row.owner_id,
        name=row.name,
        relation=row.relation,
        participant_name=row.participant_name,
        notes=row.notes,
        birth_date=row.birth_date,
        death_date=row.death_date,
        photo_blob=row.photo_blob,
        status=_STATUSES[row.status],
        created_at=aware(row.created_at),
        user_address=row.user_address or "",
        user_name=row.user_name or "",
    )


def _turn(row: ChatTurnRow | Row[Any] | Any) -> ChatTurn:
    """A chat turn from anything with ``ChatTurnRow``'s attribute names."""
    return ChatTurn(
        id=str(row.id),
        user_id=row.user_id,
        star_id=row.star_id,
        role=_ROLES[row.role],
        text=row.text,
        engine=row.engine,
        created_at=aware(row.created_at),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTurns:
    """Bubbles to append to a conversation; ``at`` defaults to the time of the write."""

    role: TurnRole
    texts: tuple[str, ...]
    engine: str = ""
    at: datetime | None = None


class UserRepository:
    """Users by platform identity, their locale and active star."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_or_create(self, ref: UserRef, *, display_name: str, locale: Locale) -> User:
        """The user for a platform identity, created on first contact."""
        params = {"platform": ref.platform.value, "platform_user_id": ref.platform_user_id}

        def find(conn: Connection) -> User | None:
            row = conn.execute(_USER_BY_IDENTITY, params).first()
            return _user(row) if row is not None else None

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
            return _user(row)

    async def get(self, user_id: str) -> User | None:
        """A user by id."""
        async with self.db.read() as s:
            row = await s.get(UserRow, user_id)
            return _user(row) if row else None

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
            return _star(row) if row is not None else None

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


class StarRepository:
    """Stars, always read through their owner."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get_owned(self, star_id: str, owner_id: str) -> Star | None:
        """The star if ``owner_id`` owns it, else ``None`` (never another user's star)."""

        def find(conn: Connection) -> Star | None:
            row = conn.execute(_STAR_OWNED, {"star_id": star_id, "owner_id": owner_id}).first()
            return _star(row) if row is not None else None

        return await self.db.run(find)

    async def list_owned(self, owner_id: str) -> list[Star]:
        """The user's stars, oldest first."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(StarRow)
                .where(StarRow.owner_id == owner_id, _VISIBLE)
                .order_by(StarRow.created_at, StarRow.id)
            )
            return [_star(r) for r in rows]

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

    async def style_profile(self, star_id: str) -> tuple[dict[str, Any], list[str]] | None:
        """The stored style profile JSON and extracted traits."""
        async with self.db.read() as s:
            row = await s.get(StyleProfileRow, star_id)
            return (dict(row.profile), list(row.traits)) if row else None

    async def set_traits(self, star_id: str, traits: Sequence[str]) -> None:
        """Store LLM-extracted traits beside the profile."""
        async with self.db.write() as s:
            await s.execute(
                update(StyleProfileRow).where(StyleProfileRow.star_id == star_id).values(traits=list(traits))
            )


class ChatRepository:
    """Chat history per (user, star)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(
        self, user_id: str, star_id: str, role: TurnRole, texts: Sequence[str], engine: str = ""
    ) -> None:
        """Append bubbles in one transaction."""
        await self.add_many(user_id, star_id, [NewTurns(role=role, texts=tuple(texts), engine=engine)])

    async def add_many(
        self,
        user_id: str,
        star_id: str,
        groups: Sequence[NewTurns],
        *,
        also: Callable[[Connection], None] | None = None,
    ) -> list[str]:
        """Append several groups of bubbles (a message and its reply), in order, in one transaction.

        ``also`` writes more in the same transaction (the turn's conversation memory). Returns the new
        turns' ids, one per bubble in order (a star bubble's id is its ``turn_id``: the listen key).
        """
        now = utcnow()
        rows = [
            {
                "user_id": user_id,
                "star_id": star_id,
                "role": group.role.value,
                "text": text,
                "engine": group.engine,
                "in_context": True,
                "created_at": group.at or now,
            }
            for group in groups
            for text in group.texts
        ]
        if not rows:
            return []

        def write(conn: Connection) -> list[str]:
            if also is not None:
                also(conn)
            return [str(turn_id) for turn_id in conn.execute(_INSERT_TURN, rows).scalars()]

        return await self.db.run(write, write=True)

    async def recent(
        self, user_id: str, star_id: str, limit: int = 20, *, in_context_only: bool = True
    ) -> list[ChatTurn]:
        """The last ``limit`` turns, oldest first."""
        history, _ = await self.recent_and_any(user_id, star_id, limit, in_context_only=in_context_only)
        return history

    async def recent_and_any(
        self, user_id: str, star_id: str, limit: int = 20, *, in_context_only: bool = True
    ) -> tuple[list[ChatTurn], bool]:
        """:meth:`recent` and :meth:`has_turns` in one round trip (the history answers both, unless
        ``/reset`` took every turn out of the context)."""
        params = {"user_id": user_id, "star_id": star_id, "limit": limit}

        def read(conn: Connection) -> tuple[list[ChatTurn], bool]:
            rows = conn.execute(_RECENT_IN_CONTEXT if in_context_only else _RECENT, params).all()
            any_turn = bool(rows) or conn.scalar(_ANY_TURN, params) is not None
            return [_turn(r) for r in reversed(rows)], any_turn

        return await self.db.run(read)

    async def last_turns(self, user_id: str, star_ids: Sequence[str]) -> dict[str, ChatTurn]:
        """The last turn of each star's conversation with the user (for the chat list)."""
        if not star_ids:
            return {}
        async with self.db.read() as s:
            last_ids = (
                select(func.max(ChatTurnRow.id))
                .where(ChatTurnRow.user_id == user_id, ChatTurnRow.star_id.in_(star_ids))
                .group_by(ChatTurnRow.star_id)
            )
            rows = await s.scalars(select(ChatTurnRow).where(ChatTurnRow.id.in_(last_ids)))
            return {r.star_id: _turn(r) for r in rows}

    async def reset_context(self, user_id: str, star_id: str) -> None:
        """Forget the conversation context (history stays for export, but the model no longer sees it)."""
        async with self.db.write() as s:
            await s.execute(
                update(ChatTurnRow)
                .where(ChatTurnRow.user_id == user_id, ChatTurnRow.star_id == star_id)
                .values(in_context=False)
            )

    async def all_turns(self, user_id: str, star_id: str) -> list[ChatTurn]:
        """Every turn, for export."""
        async with self.db.read() as s:
            rows = await s.scalars(
                select(ChatTurnRow)
                .where(ChatTurnRow.user_id == user_id, ChatTurnRow.star_id == star_id)
                .order_by(ChatTurnRow.id)
            )
            return [_turn(r) for r in rows]

    async def star_turn(self, user_id: str, turn_id: str) -> ChatTurn | None:
        """The star bubble ``turn_id`` if a star sent it to this user (what a listen button may speak)."""
        if not turn_id.isdigit() or len(turn_id) > 18:
            return None
        async with self.db.read() as s:
            row = await s.scalar(
                select(ChatTurnRow).where(
                    ChatTurnRow.id == int(turn_id),
                    ChatTurnRow.user_id == user_id,
                    ChatTurnRow.role == TurnRole.STAR.value,
                )
            )
            return _turn(row) if row else None

    async def last_star_turn(self, user_id: str, star_id: str) -> ChatTurn | None:
        """The star's latest bubble to this user."""
        async with self.db.read() as s:
            row = await s.scalar(
                select(ChatTurnRow)
                .where(
                    ChatTurnRow.user_id == user_id, ChatTurnRow.star_id == star_id, ChatTurnRow.role == "star"
                )
                .order_by(ChatTurnRow.id.desc())
                .limit(1)
            )
            return _turn(row) if row else None

    async def has_turns(self, user_id: str, star_id: str) -> bool:
        """Whether the user ever talked with the star."""
        params = {"user_id": user_id, "star_id": star_id}
        return await self.db.run(lambda conn: conn.scalar(_ANY_TURN, params) is not None)


class FlowRepository:
    """The persisted state of each user's current multi-step dialog."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, user_id: str) -> tuple[str, str, dict[str, Any]] | None:
        """(kind, step, data) of the user's flow, if one is running."""

        def find(conn: Connection) -> tuple[str, str, dict[str, Any]] | None:
            row = conn.execute(_FLOW, {"user_id": user_id}).first()
            return (row.kind, row.step, dict(row.data)) if row is not None else None

        return await self.db.run(find)

    async def save(self, user_id: str, kind: str, step: str, data: dict[str, Any]) -> None:
        """Create or replace the user's flow state."""
        async with self.db.write() as s:
            row = await s.get(FlowRow, user_id)
            if row is None:
                s.add(FlowRow(user_id=user_id, kind=kind, step=step, data=data, updated_at=utcnow()))
            else:
                row.kind, row.step, row.data, row.updated_at = kind, step, data, utcnow()

    async def clear(self, user_id: str) -> dict[str, Any] | None:
        """End the user's flow; returns the data it held (``None``: there was none), read by the same
        statement that deletes it, so the caller can release the uploads only that state named."""

        def clear(conn: Connection) -> dict[str, Any] | None:
            data = conn.execute(_CLEAR_FLOW, {"user_id": user_id}).scalar()
            return dict(data) if data is not None else None

        return await self.db.run(clear, write=True)

    async def expire(
        self, older_than: datetime, *, limit: int = 500
    ) -> list[tuple[str, str, str, dict[str, Any]]]:
        """End the flows nobody touched since ``older_than``; returns (user_id, kind, step, data) of each,
        read by the statement that deletes them, so a flow the user continues meanwhile is not taken."""
        stale = (
            select(FlowRow.user_id)
            .where(FlowRow.updated_at < bindparam("cutoff"))
            .order_by(FlowRow.updated_at)
            .limit(limit)
        )
        expire = (
            delete(FlowRow)
            .where(FlowRow.user_id.in_(stale.scalar_subquery()), FlowRow.updated_at < bindparam("cutoff"))
            .returning(FlowRow.user_id, FlowRow.kind, FlowRow.step, FlowRow.data)
        )

        def run(conn: Connection) -> list[tuple[str, str, str, dict[str, Any]]]:
            rows = conn.execute(expire, {"cutoff": older_than}).all()
            return [(r.user_id, r.kind, r.step, dict(r.data)) for r in rows]

        return await self.db.run(run, write=True)


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

    async def list_for(self, user_id: str, star_id: str | None = None) -> list[dict[str, str]]:
        """Consents of a user (and star), as plain records for export."""
        q = select(ConsentRow).where(ConsentRow.user_id == user_id)
        if star_id is not None:
            q = q.where((ConsentRow.star_id == star_id) | ConsentRow.star_id.is_(None))
        async with self.db.read() as s:
            rows = await s.scalars(q.order_by(ConsentRow.given_at))
            return [
                {
                    "kind": r.kind,
                    "text": r.text,
                    "given_at": aware(r.given_at).isoformat(),
                    "star_id": r.star_id or "",
                }
                for r in rows
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

    async def list_for(self, owner_id: str, star_id: str | None = None) -> list[tuple[str, str, str]]:
        """(key, purpose, filename) of a user's blobs, optionally only one star's."""
        q = select(BlobRefRow).where(BlobRefRow.owner_id == owner_id)
        if star_id is not None:
            q = q.where(BlobRefRow.star_id == star_id)
        async with self.db.read() as s:
            return [(r.blob_key, r.purpose, r.filename) for r in await s.scalars(q.order_by(BlobRefRow.id))]


class SafetyEventRepository:
    """Safety events (never with the blocked content)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def log(
        self,
        user_id: str,
        star_id: str | None,
        direction: str,
        verdict: str,
        reasons: Sequence[str],
        *,
        referral: bool = False,
    ) -> None:
        """Record that something was blocked or handed off; ``referral`` also counts a crisis hand-off for
        operators (in the same write)."""
        async with self.db.write() as s:
            if referral:
                s.add(CrisisReferralRow(created_at=utcnow()))
            s.add(
                SafetyEventRow(
                    user_id=user_id,
                    star_id=star_id,
                    direction=direction,
                    verdict=verdict,
                    reasons=list(reasons),
                    created_at=utcnow(),
                )
            )

    async def referral(self) -> None:
        """Count one crisis hand-off for operators (no user, no content)."""
        async with self.db.write() as s:
            s.add(CrisisReferralRow(created_at=utcnow()))

    async def referral_counts(self, since: datetime | None = None) -> int:
        """How many crisis hand-offs happened (since ``since``)."""
        query = select(func.count()).select_from(CrisisReferralRow)
        if since is not None:
            query = query.where(CrisisReferralRow.created_at >= since)
        async with self.db.read() as s:
            return int(await s.scalar(query) or 0)

    async def last_of(
        self, user_id: str, star_id: str, verdicts: Sequence[str]
    ) -> tuple[str, datetime] | None:
        """The latest of a conversation's events with one of ``verdicts``: ``(verdict, when)``."""
        query = (
            select(SafetyEventRow.verdict, SafetyEventRow.created_at)
            .where(
                SafetyEventRow.user_id == user_id,
                SafetyEventRow.star_id == star_id,
                SafetyEventRow.verdict.in_(list(verdicts)),
            )
            .order_by(SafetyEventRow.created_at.desc(), SafetyEventRow.id.desc())
            .limit(1)
        )
        async with self.db.read() as s:
            row = (await s.execute(query)).first()
        return None if row is None else (str(row[0]), aware(row[1]))

    async def list_for(self, user_id: str) -> list[dict[str, Any]]:
        """A user's safety events."""
        async with self.db.read() as s:
            rows = await s.scalars(select(SafetyEventRow).where(SafetyEventRow.user_id == user_id))
            return [
                {
                    "direction": r.direction,
                    "verdict": r.verdict,
                    "reasons": r.reasons,
                    "at": aware(r.created_at).isoformat(),
                    "star_id": r.star_id,
                }
                for r in rows
            ]


def as_naive(value: datetime) -> datetime:
    """Export times are local wall-clock times: store them naive."""
    return value.replace(tzinfo=None)
