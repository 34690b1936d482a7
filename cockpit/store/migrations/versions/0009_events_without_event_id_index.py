"""events without an index on event_id (PostgreSQL): ids are looked up in event_ids

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 11:40:00

The ingest path looks known ids up in ``event_ids`` (one primary key) instead of probing
``ix_events_event_id`` in every monthly partition, and reads a re-sent event's stored payload
through its claim's ``occurred_at`` (``ix_events_occurred``, one month). The index on every
partition of the largest table only cost writes. SQLite keeps ``UNIQUE (event_id)``.
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX ix_events_event_id')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE INDEX ix_events_event_id ON events (event_id)')
