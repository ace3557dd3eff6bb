"""family: what the star called the user and the user's own name; speech rate in syllables per second

Revision ID: 0010
Revises: 0012
Create Date: 2026-12-04 06:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stars") as batch:
        batch.add_column(sa.Column("user_address", sa.String(length=100), nullable=False, server_default=""))
        batch.add_column(sa.Column("user_name", sa.String(length=100), nullable=False, server_default=""))
    with op.batch_alter_table("voice_profiles") as batch:
        batch.add_column(sa.Column("syllables_per_second", sa.Float(), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))
    # Earlier profiles stored syllable nuclei / 1.5 per minute as "words per minute": the same measure in
    # syllables per second is that / 40 (core.voice.syllables.LEGACY_WPM_PER_SPS).
    # A new revision, so voice notes cached at the old pace are spoken again.
    op.execute(
        "UPDATE voice_profiles SET syllables_per_second = words_per_minute / 40.0, revision = revision + 1 "
        "WHERE words_per_minute IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("voice_profiles") as batch:
        batch.drop_column("language")
        batch.drop_column("syllables_per_second")
    with op.batch_alter_table("stars") as batch:
        batch.drop_column("user_name")
        batch.drop_column("user_address")
