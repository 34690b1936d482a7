"""day rollups of calls and tickets, kept by every write

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 20:30:00

``call_days`` (calls per city and local day: the connection rate's counts) and ``ticket_days``
(tickets per city, local day and district: every ``TicketCounts`` column over all of the day's
tickets) are kept by every write of ``calls`` and ``tickets`` in its transaction (``store.days``),
so a month's KPI and the league read a row per city-day instead of the unsettled tickets and the
15-minute call rollups one by one. ``day_rollup_shape`` says what they were counted with; it is
empty after this migration (the settings are not known here), so writers keep nothing and readers
take the other paths until the first rebuild (the worker's ``ticket_cohorts`` job or ``cockpit
rollup`` fills every day from ``calls`` and ``tickets``). ``ix_tickets_unresponded_city_created``:
the dispatched tickets without a response, whose "due for response" depends on the reader's now.
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CALL_COUNTS = ('offered', 'answered', 'abandoned', 'short_abandoned')
TICKET_COUNTS = ('created', 'dispatched', 'closed', 'due_for_response', 'responded_in_time', 'valid_callbacks',
                 'resolved', 'satisfied', 'closed_with_due', 'closed_on_time', 'ever_closed', 'reopened', 'returned',
                 'handoffs_sum', 'auto_dispatched', 'auto_never_returned')
UNRESPONDED = 'first_dispatched_at IS NOT NULL AND responded_at IS NULL'


def upgrade() -> None:
    op.create_table(
        'day_rollup_shape',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tz_offset_s', sa.Integer(), nullable=False),
        sa.Column('short_abandon_s', sa.Float(), nullable=False),
        sa.Column('response_deadline_s', sa.Float(), nullable=False),
        sa.Column('count_basic_satisfied', sa.Boolean(), nullable=False),
        sa.Column('built_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_day_rollup_shape')),
    )
    op.create_table(
        'call_days',
        sa.Column('city', sa.String(length=32), nullable=False),
        sa.Column('day_start', sa.DateTime(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in CALL_COUNTS],
        sa.PrimaryKeyConstraint('city', 'day_start', name=op.f('pk_call_days')),
    )
    op.create_table(
        'ticket_days',
        sa.Column('city', sa.String(length=32), nullable=False),
        sa.Column('day_start', sa.DateTime(), nullable=False),
        sa.Column('district', sa.String(length=32), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in TICKET_COUNTS],
        sa.PrimaryKeyConstraint('city', 'day_start', 'district', name=op.f('pk_ticket_days')),
    )
    op.create_index('ix_tickets_unresponded_city_created', 'tickets', ['city', 'created_at'],
                    postgresql_where=sa.text(UNRESPONDED), sqlite_where=sa.text(UNRESPONDED))


def downgrade() -> None:
    op.drop_index('ix_tickets_unresponded_city_created', table_name='tickets')
    op.drop_table('ticket_days')
    op.drop_table('call_days')
    op.drop_table('day_rollup_shape')
