"""event flags: accepted events that contradict another event of their call or ticket

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 08:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('event_flags',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('city', sa.String(length=32), nullable=False),
    sa.Column('entity_id', sa.String(length=128), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('flagged_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_flags'))
    )
    with op.batch_alter_table('event_flags', schema=None) as batch_op:
        batch_op.create_index('ix_event_flags_event_rule', ['event_id', 'rule'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('event_flags', schema=None) as batch_op:
        batch_op.drop_index('ix_event_flags_event_rule')
    op.drop_table('event_flags')
