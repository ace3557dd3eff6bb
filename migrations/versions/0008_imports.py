"""imports in batches: a star stays invisible while it imports, and says when its import last moved

``stars.import_seen_at`` is the heartbeat of an import in progress: every committed batch of messages
moves it. A star whose status is ``importing`` and whose heartbeat is older than a few minutes belongs to
an import that failed or was killed; the sweep at start (and the jobs' recovery) removes it whole.
``stars.import_indexed_to`` (SQLite) marks how far its messages have full-text entries (filled every few
thousand rows), so the clean-up can index the rest before deleting them.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 06:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stars") as batch:
        batch.add_column(sa.Column("import_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("import_indexed_to", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_stars_status"), ["status"])


def downgrade() -> None:
    with op.batch_alter_table("stars") as batch:
        batch.drop_index(batch.f("ix_stars_status"))
        batch.drop_column("import_indexed_to")
        batch.drop_column("import_seen_at")
