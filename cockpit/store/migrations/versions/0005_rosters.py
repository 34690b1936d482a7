"""rosters: saved shift plans (who saved them and when); Redis keeps only a copy

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 11:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('rosters',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('monday', sa.Date(), nullable=False),
    sa.Column('saved_at', sa.DateTime(), nullable=False),
    sa.Column('saved_by', sa.String(length=128), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rosters'))
    )
    with op.batch_alter_table('rosters', schema=None) as batch_op:
        batch_op.create_index('ix_rosters_scope_week', ['scope', 'week', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('rosters', schema=None) as batch_op:
        batch_op.drop_index('ix_rosters_scope_week')
    op.drop_table('rosters')
