"""alert groups: size/oldest/assignee/suppression columns, alert items, silences

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 08:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('size', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('oldest_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('assignee', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('assignee_kind', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('suppressed_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('notified_at', sa.DateTime(), nullable=True))
    op.create_table('alert_items',
    sa.Column('alert_id', sa.BigInteger(), nullable=False),
    sa.Column('ticket_id', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_items_alert_id_alerts')),
    sa.PrimaryKeyConstraint('alert_id', 'ticket_id', name=op.f('pk_alert_items'))
    )
    with op.batch_alter_table('alert_items', schema=None) as batch_op:
        batch_op.create_index('ix_alert_items_ticket_id', ['ticket_id'], unique=False)
    op.create_table('alert_silences',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('rule', sa.String(length=32), nullable=True),
    sa.Column('city', sa.String(length=32), nullable=True),
    sa.Column('district', sa.String(length=32), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_silences'))
    )
    with op.batch_alter_table('alert_silences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_silences_ends_at'), ['ends_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('alert_silences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_silences_ends_at'))
    op.drop_table('alert_silences')
    with op.batch_alter_table('alert_items', schema=None) as batch_op:
        batch_op.drop_index('ix_alert_items_ticket_id')
    op.drop_table('alert_items')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        for name in ('notified_at', 'suppressed_by', 'assignee_kind', 'assignee', 'oldest_at', 'size'):
            batch_op.drop_column(name)
