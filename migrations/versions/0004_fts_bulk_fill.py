"""faster memory import: time-ordered message fingerprints, FTS5 filled in bulk

1. ``star_messages.fingerprint`` becomes time-ordered (10 hex digits of seconds since 1970, then 30 of
   the SHA-1 of time, author, text and occurrence): the unique index on (star_id, fingerprint) then grows
   at its right edge during an import instead of taking a million random keys. Existing rows are
   rewritten here, so re-importing an export imported before still finds its duplicates.
2. SQLite: the per-row FTS5 insert trigger is dropped. ``MemoryStore.import_messages`` indexes its new
   rows with one ``INSERT INTO star_messages_fts ... SELECT`` after the bulk insert, about four times
   faster. The delete and update triggers stay, so /forget and cascades keep the index exact.
   PostgreSQL's pg_trgm index is maintained by the database itself.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21 13:30:00
"""

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSERT_TRIGGER = (
    "CREATE TRIGGER star_messages_fts_ai AFTER INSERT ON star_messages BEGIN "
    "INSERT INTO star_messages_fts(rowid, text) VALUES (new.id, new.text); END"
)
_MESSAGES = sa.table(
    "star_messages",
    sa.column("id", sa.Integer),
    sa.column("star_id", sa.String),
    sa.column("seq", sa.Integer),
    sa.column("sent_at", sa.DateTime),
    sa.column("author", sa.String),
    sa.column("text", sa.Text),
    sa.column("fingerprint", sa.String),
)


def _old(key: str) -> str:
    return hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()


def _new(when: datetime, key: str) -> str:
    seconds = max(0, (when - datetime(1970, 1, 1)) // timedelta(seconds=1))
    return f"{seconds:010x}" + _old(key)[:30]


def _rewrite(fingerprint: Callable[[datetime, str], str]) -> None:
    """Recompute every fingerprint the way the importer does (occurrences counted per timestamp)."""
    bind = op.get_bind()
    m = _MESSAGES.c
    query = sa.select(m.id, m.star_id, m.sent_at, m.author, m.text).order_by(m.star_id, m.seq)
    updates = []
    star, current, seen = None, None, {}
    for row_id, star_id, sent_at, author, text in bind.execute(query).all():
        if star_id != star or sent_at != current:
            star, current, seen = star_id, sent_at, {}
        ident = (author, text)
        seen[ident] = seen.get(ident, 0) + 1
        key = f"{sent_at.isoformat()}\x1f{author}\x1f{text}\x1f{seen[ident]}"
        updates.append({"row_id": row_id, "fp": fingerprint(sent_at, key)})
    # One pass is safe: an old (random) and a new (time-prefixed) fingerprint do not collide in practice.
    statement = (
        sa.update(_MESSAGES).where(m.id == sa.bindparam("row_id")).values(fingerprint=sa.bindparam("fp"))
    )
    for start in range(0, len(updates), 10_000):
        bind.execute(statement, updates[start : start + 10_000])


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS star_messages_fts_ai")
    _rewrite(_new)


def downgrade() -> None:
    _rewrite(lambda _when, key: _old(key))
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_INSERT_TRIGGER)
