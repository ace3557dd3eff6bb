"""crisis referrals: a count of crisis hand-offs for operators (a time per hand-off, nothing else)

Revision ID: 0011
Revises: 0006
Create Date: 2026-12-04 06:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "crisis_referrals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crisis_referrals")),
    )
    with op.batch_alter_table("crisis_referrals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_crisis_referrals_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("crisis_referrals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crisis_referrals_created_at"))
    op.drop_table("crisis_referrals")
