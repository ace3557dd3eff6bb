"""Chat history per (user, star): the bubbles of each conversation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import Connection

from core.domain.stars import ChatTurn, TurnRole
from core.storage.db import Database
from core.storage.ids import utcnow
from core.storage.mappers import to_turn
from core.storage.models import ChatTurnRow

AlsoWrite = Callable[[Connection], None]
"""More to write in a chat turn's transaction (``ChatRepository.add_many``'s ``also``)."""

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


@dataclass(frozen=True, slots=True, kw_only=True)
class NewTurns:
    """Bubbles to append to a conversation; ``at`` defaults to the time of the write."""

    role: TurnRole
    texts: tuple[str, ...]
    engine: str = ""
    at: datetime | None = None


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
        also: AlsoWrite | None = None,
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
            return [to_turn(r) for r in reversed(rows)], any_turn

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
            return {r.star_id: to_turn(r) for r in rows}

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
            return [to_turn(r) for r in rows]

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
            return to_turn(row) if row else None

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
            return to_turn(row) if row else None

    async def has_turns(self, user_id: str, star_id: str) -> bool:
        """Whether the user ever talked with the star."""
        params = {"user_id": user_id, "star_id": star_id}
        return await self.db.run(lambda conn: conn.scalar(_ANY_TURN, params) is not None)
