"""What the engine reads before it routes an event, in one database round trip.

Every chat turn used to cost a hop per question (who is the user, is a dialog running, which star is
active, what was said lately, was anything ever said); each hop is a worker-thread round trip on SQLite
that costs more CPU than SQLite answering. :meth:`TurnRepository.read` answers them all in one hop with
two statements: the user joined with their flow, active star, the star's export version and whether they
ever talked, then the recent history. Nothing here is cached: several bot processes may share the
database, so every turn reads the current state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, exists, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from core.domain.flows import RunningFlow
from core.domain.identity import Locale, UserRef
from core.domain.stars import ChatTurn, StarStatus
from core.ports.storage import StarChat, TurnState
from core.storage.db import Database
from core.storage.ids import aware, new_id, utcnow
from core.storage.mappers import to_star, to_turn, to_user
from core.storage.memory import MemoryQuery, MemoryStore, Recollection
from core.storage.models import ChatTurnRow, FlowRow, SafetyEventRow, StarMessageRow, StarRow, UserRow

log = logging.getLogger(__name__)

_USER_COLUMNS = (
    UserRow.id,
    UserRow.platform,
    UserRow.platform_user_id,
    UserRow.display_name,
    UserRow.locale,
    UserRow.locale_explicit,
    UserRow.created_at,
)
_FLOW_COLUMNS = (FlowRow.kind, FlowRow.step, FlowRow.data)


class _UserValues(NamedTuple):
    """The user's part of the joined row, under ``UserRow``'s names (for the repositories' row mapper)."""

    id: str
    platform: str
    platform_user_id: str
    display_name: str
    locale: str
    locale_explicit: bool
    created_at: datetime


assert _UserValues._fields == tuple(c.key for c in _USER_COLUMNS)
_STAR_COLUMNS = (
    StarRow.id,
    StarRow.name,
    StarRow.relation,
    StarRow.participant_name,
    StarRow.notes,
    StarRow.birth_date,
    StarRow.death_date,
    StarRow.photo_blob,
    StarRow.status,
    StarRow.created_at,
    StarRow.user_address,
    StarRow.user_name,
)


class _StarValues(NamedTuple):
    """The star's part of the joined row (and its owner), under ``StarRow``'s names."""

    owner_id: str
    id: str
    name: str
    relation: str
    participant_name: str
    notes: str
    birth_date: Any
    death_date: Any
    photo_blob: str | None
    status: str
    created_at: datetime
    user_address: str
    user_name: str


assert _StarValues._fields[1:] == tuple(c.key for c in _STAR_COLUMNS)
# The export's version: the last sequence number of the star's imported messages. Every import that adds a
# message raises it and messages are only ever deleted with their star, so anything derived from the
# export alone may be cached under (star id, version). One index lookup (star_id, seq).
_EXPORT_VERSION = (
    select(func.max(StarMessageRow.seq)).where(StarMessageRow.star_id == StarRow.id).scalar_subquery()
)
_TALKED = exists().where(ChatTurnRow.user_id == UserRow.id, ChatTurnRow.star_id == StarRow.id)
_WITH_FLOW = select(*_USER_COLUMNS, *_FLOW_COLUMNS).outerjoin(FlowRow, FlowRow.user_id == UserRow.id)
_BY_IDENTITY = (
    UserRow.platform == bindparam("platform"),
    UserRow.platform_user_id == bindparam("platform_user_id"),
)
# Statements built once (building and cache-keying a select costs more than SQLite answering it).
_USER_AND_FLOW = _WITH_FLOW.where(*_BY_IDENTITY)
_USER_FLOW_STAR = (
    select(*_USER_COLUMNS, *_FLOW_COLUMNS, *_STAR_COLUMNS, _EXPORT_VERSION, _TALKED)
    .select_from(UserRow)
    .outerjoin(FlowRow, FlowRow.user_id == UserRow.id)
    # Only the user's own star: an active star id pointing elsewhere reads as no active star.
    .outerjoin(StarRow, and_(StarRow.id == UserRow.active_star_id, StarRow.owner_id == UserRow.id))
    .where(*_BY_IDENTITY)
)
_ACTIVE_STAR = (
    select(*_STAR_COLUMNS, _EXPORT_VERSION, _TALKED)
    .select_from(UserRow)
    .join(StarRow, and_(StarRow.id == UserRow.active_star_id, StarRow.owner_id == UserRow.id))
    .where(UserRow.id == bindparam("user_id"))
)
_HISTORY = (
    select(
        ChatTurnRow.id,
        ChatTurnRow.user_id,
        ChatTurnRow.star_id,
        ChatTurnRow.role,
        ChatTurnRow.text,
        ChatTurnRow.engine,
        ChatTurnRow.created_at,
    )
    .where(
        ChatTurnRow.user_id == bindparam("user_id"),
        ChatTurnRow.star_id == bindparam("star_id"),
        ChatTurnRow.in_context.is_(True),
    )
    .order_by(ChatTurnRow.id.desc())
    .limit(bindparam("limit"))
)
# The care events after a crisis hand-off (core.safety.care reads the conversation's latest).
CARE_VERDICTS = ("crisis", "safe", "checkin")
_LAST_CARE = (
    select(SafetyEventRow.verdict, SafetyEventRow.created_at)
    .where(
        SafetyEventRow.user_id == bindparam("user_id"),
        SafetyEventRow.star_id == bindparam("star_id"),
        SafetyEventRow.verdict.in_(CARE_VERDICTS),
    )
    .order_by(SafetyEventRow.created_at.desc(), SafetyEventRow.id.desc())
    .limit(1)
)
_INSERT_USER = insert(UserRow)
_NUSER, _NFLOW = len(_USER_COLUMNS), len(_FLOW_COLUMNS)


def _flow(values: tuple[Any, ...]) -> RunningFlow | None:
    kind, step, data = values
    return None if kind is None else RunningFlow(kind=kind, step=step, data=dict(data))


def _history(conn: Connection, user_id: str, star_id: str, limit: int) -> tuple[ChatTurn, ...]:
    rows = conn.execute(_HISTORY, {"user_id": user_id, "star_id": star_id, "limit": limit}).all()
    return tuple(to_turn(row) for row in reversed(rows))


# Searches the star's memory inside the read's hop: (connection, star id, user id, export version) ->
# moments, or None when the search needs hops of its own (a cold star's vectors).
Recall = Callable[[Connection, str, str, int], Sequence[Recollection] | None]


def _star_chat(
    conn: Connection, owner_id: str, values: tuple[Any, ...], history_turns: int, recall: Recall | None
) -> StarChat:
    """``values``: the star's columns, its export version and the talked flag (all ``None``: no star)."""
    if values[0] is None:
        return StarChat(star=None)
    *columns, version, talked = values
    star = to_star(_StarValues(owner_id, *columns))
    sid = star.id
    version = -1 if version is None else int(version)
    if star.status is not StarStatus.ACTIVE:
        return StarChat(star=star, export_version=version, talked=bool(talked))
    history = _history(conn, owner_id, sid, history_turns) if talked else ()
    care = conn.execute(_LAST_CARE, {"user_id": owner_id, "star_id": sid}).first()
    return StarChat(
        star=star,
        export_version=version,
        history=history,
        talked=bool(talked),
        memories=_recalled(conn, sid, owner_id, version, recall),
        care_read=True,
        last_care=None if care is None else (str(care[0]), aware(care[1])),
    )


def _recalled(
    conn: Connection, star_id: str, user_id: str, version: int, recall: Recall | None
) -> tuple[Recollection, ...] | None:
    """The memories ``recall`` finds, or ``None`` (the chat searches itself) when it fails.

    The search runs before the safety check has seen the text; a failure here must not fail the turn, or a
    crisis message would get an apology instead of its help lines. It is the read's last statement, so on
    PostgreSQL the aborted transaction only has to roll back.
    """
    if recall is None:
        return None
    try:
        found = recall(conn, star_id, user_id, version)
        return None if found is None else tuple(found)
    except Exception:
        log.warning("memory recall in the turn read failed; the chat turn searches again", exc_info=True)
        return None


def _read(
    conn: Connection, ref: UserRef, history_turns: int | None, recall: Recall | None = None
) -> TurnState | None:
    params = {"platform": ref.platform.value, "platform_user_id": ref.platform_user_id}
    statement = _USER_AND_FLOW if history_turns is None else _USER_FLOW_STAR
    row = conn.execute(statement, params).first()
    if row is None:
        return None
    values = tuple(row)
    user = to_user(_UserValues(*values[:_NUSER]))
    flow = _flow(values[_NUSER : _NUSER + _NFLOW])
    if history_turns is None or flow is not None:
        return TurnState(user=user, flow=flow, chat=None)
    chat = _star_chat(conn, user.id, values[_NUSER + _NFLOW :], history_turns, recall)
    return TurnState(user=user, flow=None, chat=chat)


class TurnRepository:
    """Reads the state one event needs; creates the user on first contact.

    With a ``MemoryStore`` it can also recall the active star's memories of a message in the same hop.
    """

    def __init__(self, db: Database, memory: MemoryStore | None = None) -> None:
        self.db = db
        self.memory = memory

    async def read(
        self,
        ref: UserRef,
        *,
        display_name: str,
        locale: Locale,
        history_turns: int | None = None,
        recall: MemoryQuery | None = None,
        recall_limit: int = 6,
    ) -> TurnState:
        """The user behind ``ref`` (created on first contact with ``display_name`` and ``locale``) and
        their running flow; with ``history_turns``, also their active star's chat (unless a flow runs),
        and with ``recall`` (a prepared message) the star's ``recall_limit`` moments most like it
        (``MemoryStore.search``).

        One hop when the user exists; first contact adds one write hop.
        """
        searcher = self._recall(recall, recall_limit)
        state = await self.db.run(lambda conn: _read(conn, ref, history_turns, searcher))
        if state is not None:
            if state.chat is not None and recall is not None:
                return replace(state, chat=replace(state.chat, query=recall))
            return state
        new = {
            "id": new_id(),
            "platform": ref.platform.value,
            "platform_user_id": ref.platform_user_id,
            "display_name": display_name[:200],
            "locale": locale.value,
            "locale_explicit": False,
            "voice_replies": False,
            "created_at": utcnow(),
        }

        def create(conn: Connection) -> TurnState:
            # Another process may create the same user meanwhile: the unique identity keeps one row.
            conn.execute(_INSERT_USER_IF_MISSING.get(conn.dialect.name, _INSERT_USER), new)
            # No recall: a new user has no star, and a failed search must not abort this write.
            created = _read(conn, ref, history_turns)
            assert created is not None
            return created

        return await self.db.run(create, write=True)

    async def star_chat(self, user_id: str, history_turns: int) -> StarChat:
        """The user's active star chat alone (for text that came later: a transcribed voice note)."""

        def read(conn: Connection) -> StarChat:
            row = conn.execute(_ACTIVE_STAR, {"user_id": user_id}).first()
            if row is None:
                return StarChat(star=None)
            return _star_chat(conn, user_id, tuple(row), history_turns, None)

        return await self.db.run(read)

    def _recall(self, query: MemoryQuery | None, limit: int) -> Recall | None:
        memory = self.memory
        if query is None or memory is None or (query.vector is not None and not self.db.is_sqlite):
            # PostgreSQL's hops run on the event loop: with vectors the chat searches itself, off the loop.
            return None

        def recall(
            conn: Connection, star_id: str, user_id: str, export_version: int
        ) -> Sequence[Recollection] | None:
            return memory.search_on(
                conn, star_id, query, user_id=user_id, limit=limit, export_version=export_version
            )

        return recall


_IDENTITY = ["platform", "platform_user_id"]
_INSERT_USER_IF_MISSING = {
    "postgresql": pg_insert(UserRow).on_conflict_do_nothing(index_elements=_IDENTITY),
    "sqlite": sqlite_insert(UserRow).on_conflict_do_nothing(index_elements=_IDENTITY),
}
