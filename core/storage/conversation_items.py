"""One item of a user's conversation with a star, deleted by its id (``/forget ID``).

An item is a chat bubble (its turn id, a number) or a conversation memory (``m`` and the moment's id). Only
the user's own items are found: another user's id reads exactly like one that does not exist. A bubble
goes with the conversation memory written in the same turn (the moment holding that line, written at the
time of the reply), so a forgotten sentence is not recalled later either.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from core.storage.db import Database
from core.storage.models import ChatTurnRow, MemoryMomentRow
from core.storage.moments import MomentLine, decode_body

_M = MemoryMomentRow
_SAME_TURN = timedelta(minutes=15)
"""How long after a bubble its turn's memory may be written (a message waits for its reply, up to a
model's timeout)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ForgottenItem:
    """What ``/forget ID`` deleted: a bubble (and the memories made with it) or one memory."""

    kind: Literal["turn", "memory"]
    star_id: str
    text: str
    """The bubble's text, or the memory's lines joined (what the user is told was deleted)."""
    memories: int = 0
    """Conversation memories deleted with a bubble."""


def _naive_utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at


def _turn_memory(conn: Connection, user_id: str, star_id: str, line: MomentLine, at: datetime) -> int | None:
    """The id of the conversation memory written with this bubble: the first one after it holding its line."""
    rows = conn.execute(
        select(_M.id, _M.body)
        .where(
            _M.user_id == user_id,
            _M.star_id == star_id,
            _M.started_at >= at - timedelta(seconds=5),
            _M.started_at <= at + _SAME_TURN,
        )
        .order_by(_M.started_at, _M.id)
    ).all()
    for moment_id, body in rows:
        if any(said.text == line.text and said.is_star == line.is_star for said in decode_body(body)):
            return int(moment_id)
    return None


class ConversationItems:
    """Deletes a single bubble or memory of one user, by id."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def forget_turn(self, user_id: str, turn_id: int) -> ForgottenItem | None:
        """Delete the user's bubble ``turn_id`` (theirs or the star's to them) and its turn's memory."""

        def write(conn: Connection) -> ForgottenItem | None:
            row = conn.execute(
                select(ChatTurnRow.star_id, ChatTurnRow.role, ChatTurnRow.text, ChatTurnRow.created_at).where(
                    ChatTurnRow.id == turn_id, ChatTurnRow.user_id == user_id
                )
            ).first()
            if row is None:
                return None
            star_id, role, text, created_at = row
            conn.execute(delete(ChatTurnRow).where(ChatTurnRow.id == turn_id, ChatTurnRow.user_id == user_id))
            line = MomentLine(author="", is_star=role == "star", text=text.strip())
            moment = _turn_memory(conn, user_id, star_id, line, _naive_utc(created_at))
            if moment is not None:
                conn.execute(delete(_M).where(_M.id == moment, _M.user_id == user_id))
            return ForgottenItem(kind="turn", star_id=star_id, text=text, memories=int(moment is not None))

        return await self.db.run(write, write=True)

    async def forget_memory(self, user_id: str, moment_id: int) -> ForgottenItem | None:
        """Delete the user's conversation memory ``moment_id`` (never a moment of the star's export)."""

        def write(conn: Connection) -> ForgottenItem | None:
            row = conn.execute(
                select(_M.star_id, _M.body).where(_M.id == moment_id, _M.user_id == user_id)
            ).first()
            if row is None:
                return None
            conn.execute(delete(_M).where(_M.id == moment_id, _M.user_id == user_id))
            text = " / ".join(line.text for line in decode_body(row[1]))
            return ForgottenItem(kind="memory", star_id=row[0], text=text)

        return await self.db.run(write, write=True)
