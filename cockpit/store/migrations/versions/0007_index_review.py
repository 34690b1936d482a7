"""index review: every index of the big tables is used by a query (docs/scaling.md, tests/test_indexes.py)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 11:25:00

- ``ix_tickets_city`` dropped: its one column leads four other indexes of ``tickets``
  (``ix_tickets_city_created`` and the rest), which serve every ``city = ...`` query; it only cost writes.
- ``ix_events_city_occurred`` replaced by ``ix_events_city_entity``: nothing reads events by city and
  time (the rebuild reads by time alone, through ``ix_events_occurred``), while the contradiction flags
  look a call's outcome events up by city and call id, which scanned a city's whole history before.
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_city')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_city_occurred')
        batch_op.create_index('ix_events_city_entity', ['city', 'entity_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index('ix_events_city_entity')
        batch_op.create_index('ix_events_city_occurred', ['city', 'occurred_at'], unique=False)
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_city', ['city'], unique=False)
