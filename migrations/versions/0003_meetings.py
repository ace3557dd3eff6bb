"""meetings archive: meetings, speakers, segments and their full-text index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meetings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_user_id", sa.String(length=32), nullable=True),
        sa.Column("guild_id", sa.String(length=64), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("progress_text", sa.String(length=200), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("audio_blob", sa.String(length=64), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_user_id"], ["users.id"], name=op.f("fk_meetings_owner_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meetings")),
    )
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.create_index("ix_meetings_guild_id", ["guild_id"], unique=False)
        batch_op.create_index("ix_meetings_owner_user_id", ["owner_user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_meetings_status"), ["status"], unique=False)

    op.create_table(
        "meeting_speakers",
        sa.Column("meeting_id", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_speakers_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("meeting_id", "label", name=op.f("pk_meeting_speakers")),
    )
    op.create_table(
        "meeting_segments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("meeting_id", sa.String(length=32), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("start", sa.Float(), nullable=False),
        sa.Column("end", sa.Float(), nullable=False),
        sa.Column("speaker", sa.String(length=100), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meetings.id"],
            name=op.f("fk_meeting_segments_meeting_id_meetings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_segments")),
    )
    with op.batch_alter_table("meeting_segments", schema=None) as batch_op:
        batch_op.create_index("ix_meeting_segments_meeting_seq", ["meeting_id", "seq"], unique=False)

    _create_segment_index()


# The same pattern as the star memory index of 0001: FTS5 trigram kept in sync by triggers on SQLite.
_FTS_SQLITE = [
    "CREATE VIRTUAL TABLE meeting_segments_fts USING fts5(text, content='meeting_segments', "
    "content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER meeting_segments_fts_ai AFTER INSERT ON meeting_segments BEGIN "
    "INSERT INTO meeting_segments_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER meeting_segments_fts_ad AFTER DELETE ON meeting_segments BEGIN "
    "INSERT INTO meeting_segments_fts(meeting_segments_fts, rowid, text) "
    "VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER meeting_segments_fts_au AFTER UPDATE OF text ON meeting_segments BEGIN "
    "INSERT INTO meeting_segments_fts(meeting_segments_fts, rowid, text) "
    "VALUES ('delete', old.id, old.text); "
    "INSERT INTO meeting_segments_fts(rowid, text) VALUES (new.id, new.text); END",
]


def _create_segment_index() -> None:
    """Full-text segment index: FTS5 trigram on SQLite, pg_trgm GIN on PostgreSQL."""
    if op.get_bind().dialect.name == "sqlite":
        for stmt in _FTS_SQLITE:
            op.execute(stmt)
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE INDEX trgm_meeting_segments_text ON meeting_segments USING gin (text gin_trgm_ops)"
        )


def _drop_segment_index() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("meeting_segments_fts_ai", "meeting_segments_fts_ad", "meeting_segments_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS meeting_segments_fts")
    else:
        op.execute("DROP INDEX IF EXISTS trgm_meeting_segments_text")


def downgrade() -> None:
    _drop_segment_index()
    with op.batch_alter_table("meeting_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_segments_meeting_seq")
    op.drop_table("meeting_segments")
    op.drop_table("meeting_speakers")
    with op.batch_alter_table("meetings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meetings_status"))
        batch_op.drop_index("ix_meetings_owner_user_id")
        batch_op.drop_index("ix_meetings_guild_id")
    op.drop_table("meetings")
