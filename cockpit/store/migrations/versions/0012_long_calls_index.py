"""the long calls' partial index, for handling time at the edges of a window

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 17:40:00

``ix_calls_long_city_queued``: ``(city, queued_at)`` of the calls lasting over an hour from queueing
to their end. Handling time over a window (``metrics.queries.handling_seconds``) needs the calls in
flight at its edges; those queued more than two hours before an edge are found here (a few rows)
instead of by scanning two days of the city's calls. Built from ``calls`` once (a scan of the table);
on PostgreSQL with statistics on the duration (``st_calls_duration``), so the planner knows how
few they are, and an ``ANALYZE calls`` (a sample).
"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

LONG_CALL_PG = "ended_at - queued_at > interval '1 hour'"
LONG_CALL_SQLITE = "julianday(ended_at) - julianday(queued_at) > 1.0 / 24"


def upgrade() -> None:
    op.create_index('ix_calls_long_city_queued', 'calls', ['city', 'queued_at'],
                    postgresql_where=sa.text(LONG_CALL_PG), sqlite_where=sa.text(LONG_CALL_SQLITE))
    if op.get_bind().dialect.name == 'postgresql':
        # Without statistics on the duration the planner takes a third of the calls as long and
        # prefers scanning two days by ix_calls_queued; with them it sees the few rows they are.
        op.execute('CREATE STATISTICS IF NOT EXISTS st_calls_duration ON (ended_at - queued_at) FROM calls')
        op.execute('ANALYZE calls')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP STATISTICS IF EXISTS st_calls_duration')
    op.drop_index('ix_calls_long_city_queued', table_name='calls')
