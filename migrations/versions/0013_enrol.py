"""enrolled meeting voices, and the recognised words of each meeting segment

Revision ID: 0013
Revises: 0009
Create Date: 2026-12-04 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meeting_voices",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner_user_id", sa.String(length=32), nullable=False),
        sa.Column("guild_id", sa.String(length=64), nullable=True),
        sa.Column("platform_user_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=False),
        sa.Column("engine", sa.String(length=32), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("consented_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_user_id"],
            ["users.id"],
            name=op.f("fk_meeting_voices_owner_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_voices")),
    )
    op.create_index("ix_meeting_voices_owner_user_id", "meeting_voices", ["owner_user_id"])
    op.create_index("ix_meeting_voices_guild_id", "meeting_voices", ["guild_id"])
    with op.batch_alter_table("meeting_segments") as batch:
        batch.add_column(sa.Column("words", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meeting_segments") as batch:
        batch.drop_column("words")
    op.drop_index("ix_meeting_voices_guild_id", table_name="meeting_voices")
    op.drop_index("ix_meeting_voices_owner_user_id", table_name="meeting_voices")
    op.drop_table("meeting_voices")
