"""The reads of ``core.storage.vectors``: a star's moment vectors after an id, on either database."""

from __future__ import annotations

from sqlalchemy import bindparam, literal, select, text, union_all

from core.storage.models import MemoryMomentRow

_M = MemoryMomentRow
NEW_EXPORT = (
    select(_M.id, _M.vector)
    .where(
        _M.star_id == bindparam("sid"),
        _M.user_id.is_(None),
        _M.id > bindparam("after"),
        _M.embedder == bindparam("embedder"),
        _M.vector.is_not(None),
    )
    .order_by(_M.id)
    .limit(bindparam("n"))
)
NEW_CONVERSATION = (
    select(_M.id, _M.vector)
    .where(
        _M.star_id == bindparam("sid"),
        _M.user_id == bindparam("uid"),
        _M.id > bindparam("after"),
        _M.embedder == bindparam("embedder"),
        _M.vector.is_not(None),
    )
    .order_by(_M.id)
    .limit(bindparam("n"))
)

_EXPORT_AFTER = (
    select(literal(0).label("k"), _M.id, _M.vector)
    .where(
        _M.star_id == bindparam("sid"),
        _M.user_id.is_(None),
        _M.id > bindparam("after_e"),
        _M.embedder == bindparam("embedder"),
        _M.vector.is_not(None),
    )
    .order_by(_M.id)
    .limit(bindparam("n"))
    .subquery("e")
)
_CONVERSATION_AFTER = (
    select(literal(1).label("k"), _M.id, _M.vector)
    .where(
        _M.star_id == bindparam("sid"),
        _M.user_id == bindparam("uid"),
        _M.id > bindparam("after_c"),
        _M.embedder == bindparam("embedder"),
        _M.vector.is_not(None),
    )
    .order_by(_M.id)
    .limit(bindparam("n"))
    .subquery("c")
)
# PostgreSQL: a hop's rows come back joined by the server into one row (their ids, their vectors end to
# end), so the event loop, on which the driver decodes, handles three values instead of thousands of rows.
_JOINED = (
    "SELECT count(*), array_agg(id ORDER BY id), string_agg(vector, ''::bytea ORDER BY id) FROM ("
    "SELECT id, vector FROM memory_moments WHERE star_id = :sid AND {who} AND id > :after "
    "AND embedder = :embedder AND vector IS NOT NULL ORDER BY id LIMIT :n) AS s"
)
JOINED_EXPORT = text(_JOINED.format(who="user_id IS NULL"))
JOINED_CONVERSATION = text(_JOINED.format(who="user_id = :uid"))
# A turn's check of both entries (the export's and the user's conversation) in one statement.
NEW_BOTH = union_all(select(_EXPORT_AFTER), select(_CONVERSATION_AFTER))
