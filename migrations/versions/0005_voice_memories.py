"""voice memories: transcribed clips of a star's real voice and their full-text index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_memories",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("star_id", sa.String(length=32), nullable=False),
        sa.Column("recording_id", sa.String(length=32), nullable=True),
        sa.Column("source_start", sa.Float(), nullable=False),
        sa.Column("source_end", sa.Float(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("blob_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_voice_memories_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["recording_id"],
            ["voice_recordings.id"],
            name=op.f("fk_voice_memories_recording_id_voice_recordings"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["star_id"], ["stars.id"], name=op.f("fk_voice_memories_star_id_stars"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_voice_memories")),
    )
    with op.batch_alter_table("voice_memories", schema=None) as batch_op:
        batch_op.create_index("ix_voice_memories_owner_star", ["owner_id", "star_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_voice_memories_star_id"), ["star_id"], unique=False)
    _create_text_index()


# The pattern of 0001 and 0003: FTS5 trigram kept in sync by triggers on SQLite (cascaded deletes from
# /forget fire them too), pg_trgm GIN on PostgreSQL. Names start with prefixes migrations/env.py ignores.
_FTS_SQLITE = [
    "CREATE VIRTUAL TABLE fts_voice_memories USING fts5(text, content='voice_memories', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER fts_voice_memories_ai AFTER INSERT ON voice_memories BEGIN "
    "INSERT INTO fts_voice_memories(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER fts_voice_memories_ad AFTER DELETE ON voice_memories BEGIN "
    "INSERT INTO fts_voice_memories(fts_voice_memories, rowid, text) "
    "VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER fts_voice_memories_au AFTER UPDATE OF text ON voice_memories BEGIN "
    "INSERT INTO fts_voice_memories(fts_voice_memories, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO fts_voice_memories(rowid, text) VALUES (new.id, new.text); END",
]
_TRIGGERS = ("fts_voice_memories_ai", "fts_voice_memories_ad", "fts_voice_memories_au")


def _create_text_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for stmt in _FTS_SQLITE:
            op.execute(stmt)
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX trgm_voice_memories_text ON voice_memories USING gin (text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in _TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS fts_voice_memories")
    else:
        op.execute("DROP INDEX IF EXISTS trgm_voice_memories_text")
    with op.batch_alter_table("voice_memories", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_memories_star_id"))
        batch_op.drop_index("ix_voice_memories_owner_star")
    op.drop_table("voice_memories")
