"""frozen ticket cohorts per city-day, and the steps' time span on each ticket

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 14:20:00

``ticket_cohort_days`` / ``ticket_cohorts``: the counts of each city-day's closed, settled tickets
(``metrics.cohorts``), so a month's or the league's ticket rates read about 30 rows per city and
district plus the tickets not frozen, instead of every ticket of the window. ``tickets.cohort_frozen``
marks the tickets counted there; the partial index ``ix_tickets_unfrozen_city_created`` finds the
rest. ``tickets.first_step_at`` (the earliest step; ``updated_at`` is the latest) bounds the
``ticket_steps`` months a ticket's timeline reads; filled here from the steps (one grouped pass
over ``ticket_steps``: plan for it on a large history).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

COUNTS = ('created', 'dispatched', 'closed', 'due_for_response', 'responded_in_time', 'valid_callbacks',
          'resolved', 'satisfied', 'closed_with_due', 'closed_on_time', 'ever_closed', 'reopened', 'returned',
          'handoffs_sum', 'auto_dispatched', 'auto_never_returned')


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == 'postgresql'
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('first_step_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('cohort_frozen', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index('ix_tickets_unfrozen_city_created', 'tickets', ['city', 'created_at'],
                    postgresql_where=sa.text('NOT cohort_frozen'), sqlite_where=sa.text('NOT cohort_frozen'))
    op.create_table(
        'ticket_cohort_days',
        sa.Column('city', sa.String(length=32), nullable=False),
        sa.Column('day_start', sa.DateTime(), nullable=False),
        sa.Column('day_end', sa.DateTime(), nullable=False),
        sa.Column('dirty', sa.Boolean(), nullable=False),
        sa.Column('response_deadline_s', sa.Float(), nullable=False),
        sa.Column('count_basic_satisfied', sa.Boolean(), nullable=False),
        sa.Column('unresponded_dispatch_max', sa.DateTime(), nullable=True),
        sa.Column('frozen_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('city', 'day_start', name=op.f('pk_ticket_cohort_days')),
    )
    op.create_index('ix_ticket_cohort_days_dirty', 'ticket_cohort_days', ['city', 'day_start'],
                    postgresql_where=sa.text('dirty'), sqlite_where=sa.text('dirty'))
    op.create_table(
        'ticket_cohorts',
        sa.Column('city', sa.String(length=32), nullable=False),
        sa.Column('day_start', sa.DateTime(), nullable=False),
        sa.Column('district', sa.String(length=32), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTS],
        sa.PrimaryKeyConstraint('city', 'day_start', 'district', name=op.f('pk_ticket_cohorts')),
    )
    if postgres:
        op.execute('UPDATE tickets t SET first_step_at = s.first FROM '
                   '(SELECT ticket_id, min(occurred_at) AS first FROM ticket_steps GROUP BY ticket_id) s '
                   'WHERE t.ticket_id = s.ticket_id')
    else:
        op.execute('UPDATE tickets SET first_step_at = (SELECT min(s.occurred_at) FROM ticket_steps s '
                   'WHERE s.ticket_id = tickets.ticket_id)')


def downgrade() -> None:
    op.drop_table('ticket_cohorts')
    op.drop_index('ix_ticket_cohort_days_dirty', table_name='ticket_cohort_days')
    op.drop_table('ticket_cohort_days')
    op.drop_index('ix_tickets_unfrozen_city_created', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('cohort_frozen')
        batch.drop_column('first_step_at')
