"""lifetimes: abandoned flows expire by their last update, so the expiry query reads an index

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-04 06:30:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("flows") as batch:
        batch.create_index(batch.f("ix_flows_updated_at"), ["updated_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("flows") as batch:
        batch.drop_index(batch.f("ix_flows_updated_at"))
