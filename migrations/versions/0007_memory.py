"""memory by meaning: moments with morpheme tokens and embedding vectors

``memory_moments`` holds the star's memory cut into moments (turns and time gaps), from the export and
from what a user told the star in VOS. Its lexical index is over Korean morphemes: SQLite FTS5 (unicode61
over the space-separated ``tokens``, narrowed by the ``scope`` column), PostgreSQL a GIN index over
``string_to_array(tokens, ' ')``. Vectors are float32 blobs; ``vos memory index`` builds moments for stars
imported before this revision.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 06:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SQLITE_FTS = (
    "CREATE VIRTUAL TABLE memory_moments_fts USING fts5(scope, tokens, content='memory_moments', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 0')",
    "CREATE TRIGGER memory_moments_fts_ai AFTER INSERT ON memory_moments BEGIN "
    "INSERT INTO memory_moments_fts(rowid, scope, tokens) VALUES (new.id, new.scope, new.tokens); END",
    "CREATE TRIGGER memory_moments_fts_ad AFTER DELETE ON memory_moments BEGIN "
    "INSERT INTO memory_moments_fts(memory_moments_fts, rowid, scope, tokens) "
    "VALUES ('delete', old.id, old.scope, old.tokens); END",
    "CREATE TRIGGER memory_moments_fts_au AFTER UPDATE OF scope, tokens ON memory_moments BEGIN "
    "INSERT INTO memory_moments_fts(memory_moments_fts, rowid, scope, tokens) "
    "VALUES ('delete', old.id, old.scope, old.tokens); "
    "INSERT INTO memory_moments_fts(rowid, scope, tokens) VALUES (new.id, new.scope, new.tokens); END",
)


def upgrade() -> None:
    op.create_table(
        "memory_moments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("star_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=False), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.Column("scope", sa.String(length=80), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("embedder", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["star_id"], ["stars.id"], name=op.f("fk_memory_moments_star_id_stars"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_memory_moments_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memory_moments")),
    )
    op.create_index(
        "ix_memory_moments_star_user_id", "memory_moments", ["star_id", "user_id", "id"], unique=False
    )
    if op.get_bind().dialect.name == "sqlite":
        for statement in _SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(
            "CREATE INDEX gin_memory_moments_tokens ON memory_moments "
            "USING gin (string_to_array(tokens, ' '))"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("memory_moments_fts_ai", "memory_moments_fts_ad", "memory_moments_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS memory_moments_fts")
    else:
        op.execute("DROP INDEX IF EXISTS gin_memory_moments_tokens")
    op.drop_index("ix_memory_moments_star_user_id", table_name="memory_moments")
    op.drop_table("memory_moments")
