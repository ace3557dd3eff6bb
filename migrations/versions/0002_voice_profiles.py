"""voice profiles: recordings, profiles and reference clips of a star's voice

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 13:12:25.696465
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | Sequence[str] | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('voice_profiles',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('star_id', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=False),
    sa.Column('engine', sa.String(length=40), nullable=False),
    sa.Column('embedding', sa.JSON(), nullable=False),
    sa.Column('median_f0_hz', sa.Float(), nullable=True),
    sa.Column('words_per_minute', sa.Float(), nullable=True),
    sa.Column('gender_hint', sa.String(length=8), nullable=True),
    sa.Column('total_seconds', sa.Float(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_voice_profiles_owner_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['star_id'], ['stars.id'], name=op.f('fk_voice_profiles_star_id_stars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_profiles')),
    sa.UniqueConstraint('star_id', name=op.f('uq_voice_profiles_star_id'))
    )
    with op.batch_alter_table('voice_profiles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_profiles_owner_id'), ['owner_id'], unique=False)

    op.create_table('voice_recordings',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('owner_id', sa.String(length=32), nullable=False),
    sa.Column('star_id', sa.String(length=32), nullable=False),
    sa.Column('blob_key', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('duration_s', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_voice_recordings_owner_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['star_id'], ['stars.id'], name=op.f('fk_voice_recordings_star_id_stars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_recordings'))
    )
    with op.batch_alter_table('voice_recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_recordings_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_voice_recordings_star_id'), ['star_id'], unique=False)

    op.create_table('voice_clips',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('profile_id', sa.String(length=32), nullable=False),
    sa.Column('recording_id', sa.String(length=32), nullable=True),
    sa.Column('blob_key', sa.String(length=64), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('source_start', sa.Float(), nullable=False),
    sa.Column('source_end', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['voice_profiles.id'], name=op.f('fk_voice_clips_profile_id_voice_profiles'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recording_id'], ['voice_recordings.id'], name=op.f('fk_voice_clips_recording_id_voice_recordings'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_clips'))
    )
    with op.batch_alter_table('voice_clips', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voice_clips_profile_id'), ['profile_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('voice_clips', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voice_clips_profile_id'))

    op.drop_table('voice_clips')
    with op.batch_alter_table('voice_recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voice_recordings_star_id'))
        batch_op.drop_index(batch_op.f('ix_voice_recordings_owner_id'))

    op.drop_table('voice_recordings')
    with op.batch_alter_table('voice_profiles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voice_profiles_owner_id'))

    op.drop_table('voice_profiles')
