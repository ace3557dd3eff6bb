"""drop the full-text index of the star's imported messages, which nothing reads any more

Since 0007, memory is searched by moments (``memory_moments``: FTS5 or GIN over their morphemes, and
vectors); no query reads ``star_messages_fts`` (SQLite, FTS5 trigram) or ``trgm_star_messages_text``
(PostgreSQL, pg_trgm GIN). Both were still written: a trigram entry for every character triple of every
imported message, a third of a million-message import's time on PostgreSQL and the FTS fills of a batched
import on SQLite, and their delete triggers on every /forget and star deletion.
``stars.import_indexed_to`` (0008) only tracked that index during an import; it goes with it (kept on SQLite
before 3.35.5, which has no safe native DROP COLUMN).

Revision ID: 0014
Revises: 0008
Create Date: 2026-12-04 22:10:00.000000
"""

import sqlite3
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_TRIGGERS = ("star_messages_fts_ai", "star_messages_fts_ad", "star_messages_fts_au")
_SQLITE_RESTORE = (
    "CREATE VIRTUAL TABLE star_messages_fts USING fts5(text, content='star_messages', content_rowid='id', "
    "tokenize='trigram')",
    "INSERT INTO star_messages_fts(star_messages_fts) VALUES ('rebuild')",
    "CREATE TRIGGER star_messages_fts_ad AFTER DELETE ON star_messages BEGIN "
    "INSERT INTO star_messages_fts(star_messages_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER star_messages_fts_au AFTER UPDATE ON star_messages BEGIN "
    "INSERT INTO star_messages_fts(star_messages_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO star_messages_fts(rowid, text) VALUES (new.id, new.text); END",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS star_messages_fts")
    else:
        op.execute("DROP INDEX IF EXISTS trgm_star_messages_text")
    # Native DROP COLUMN only (SQLite fixed its last corruption bug in it in 3.35.5): a batch rebuild would
    # drop and re-create ``stars``, which every star's rows reference, for the sake of one unused column.
    # Where it is missing the nullable column stays (``vos db check`` knows: migrations/env.py).
    if op.get_bind().dialect.name != "sqlite" or sqlite3.sqlite_version_info >= (3, 35, 5):
        op.execute("ALTER TABLE stars DROP COLUMN import_indexed_to")


def downgrade() -> None:
    if "import_indexed_to" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("stars")}:
        op.add_column("stars", sa.Column("import_indexed_to", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_RESTORE:
            op.execute(statement)
    else:
        op.execute("CREATE INDEX trgm_star_messages_text ON star_messages USING gin (text gin_trgm_ops)")
