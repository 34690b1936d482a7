"""monthly partitions: events, ticket_steps and seat_state_changes by month on PostgreSQL

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 11:20:00

PostgreSQL: each table is rebuilt as ``PARTITION BY RANGE (occurred_at)`` with a partition per month
from its oldest row to three months ahead and a DEFAULT partition; every row and row id is kept
(the id sequence moves to the new table). ``events`` loses ``UNIQUE (event_id)`` (a partitioned
table's unique keys must contain the partition key) and gains the unpartitioned ``event_ids``
with the claim trigger instead (cockpit/store/partitions.py). The copy holds an exclusive lock on
each table while it runs: plan downtime proportional to the history (docs/scaling.md).
SQLite: only the (unused) ``event_ids`` table is added.
"""
from datetime import UTC, date, datetime
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

AHEAD = 3
# table -> (indexes of the unpartitioned table to drop, indexes of the partitioned one, unique kept on SQLite)
TABLES = {
    'events': (
        ['ix_events_city_occurred', 'ix_events_occurred'],
        {'ix_events_event_id': 'event_id', 'ix_events_city_occurred': 'city, occurred_at',
         'ix_events_occurred': 'occurred_at'},
        'uq_events_event_id'),
    'ticket_steps': (
        ['ix_ticket_steps_ticket_occurred'],
        {'ix_ticket_steps_ticket_occurred': 'ticket_id, occurred_at'},
        'uq_ticket_steps_event_id'),
    'seat_state_changes': (
        ['ix_seat_state_changes_city_seat_occurred'],
        {'ix_seat_state_changes_city_seat_occurred': 'city, seat_id, occurred_at'},
        'uq_seat_state_changes_event_id'),
}

CLAIM_FUNCTION = """
CREATE OR REPLACE FUNCTION cockpit_claim_event_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO event_ids (event_id, occurred_at) VALUES (NEW.event_id, NEW.occurred_at)
    ON CONFLICT (event_id) DO NOTHING;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    RETURN NULL;
END
$$
"""
RELEASE_FUNCTION = """
CREATE OR REPLACE FUNCTION cockpit_release_event_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM event_ids WHERE event_id = OLD.event_id;
    RETURN NULL;
END
$$
"""


def _add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _partition(table: str) -> None:
    conn = op.get_bind()
    old = f'{table}_unpartitioned'
    drop_indexes, new_indexes, unique = TABLES[table]
    op.execute(f'ALTER TABLE {table} RENAME TO {old}')
    op.execute(f'ALTER TABLE {old} RENAME CONSTRAINT pk_{table} TO pk_{old}')
    op.execute(f'ALTER TABLE {old} DROP CONSTRAINT {unique}')
    for name in drop_indexes:
        op.execute(f'DROP INDEX {name}')
    op.execute(f'CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS) PARTITION BY RANGE (occurred_at)')
    op.execute(f'ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id')
    op.execute(f'ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id, occurred_at)')
    op.execute(f'CREATE TABLE {table}_default PARTITION OF {table} DEFAULT')
    oldest = conn.execute(sa.text(f'SELECT min(occurred_at) FROM {old}')).scalar()
    now = datetime.now(UTC)
    month = date((oldest or now).year, (oldest or now).month, 1)
    last = _add_months(date(now.year, now.month, 1), AHEAD)
    newest = conn.execute(sa.text(f'SELECT max(occurred_at) FROM {old}')).scalar()
    if newest is not None:
        last = max(last, date(newest.year, newest.month, 1))
    while month <= last:
        upper = _add_months(month, 1)
        op.execute(f"CREATE TABLE {table}_p{month.year:04d}_{month.month:02d} PARTITION OF {table} "
                   f"FOR VALUES FROM ('{month.isoformat()}') TO ('{upper.isoformat()}')")
        month = upper
    op.execute(f'INSERT INTO {table} SELECT * FROM {old}')
    op.execute(f'DROP TABLE {old}')
    for name, columns in new_indexes.items():
        op.execute(f'CREATE INDEX {name} ON {table} ({columns})')
    op.execute(f'ANALYZE {table}')


def _unpartition(table: str) -> None:
    old = f'{table}_partitioned'
    drop_indexes, new_indexes, unique = TABLES[table]
    op.execute(f'ALTER TABLE {table} RENAME TO {old}')
    for name in new_indexes:
        op.execute(f'DROP INDEX {name}')
    op.execute(f'ALTER TABLE {old} DROP CONSTRAINT pk_{table}')
    op.execute(f'CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS)')
    op.execute(f'ALTER SEQUENCE {table}_id_seq OWNED BY {table}.id')
    op.execute(f'INSERT INTO {table} SELECT * FROM {old}')
    op.execute(f'DROP TABLE {old}')
    op.execute(f'ALTER TABLE {table} ADD CONSTRAINT pk_{table} PRIMARY KEY (id)')
    op.execute(f'ALTER TABLE {table} ADD CONSTRAINT {unique} UNIQUE (event_id)')
    for name in drop_indexes:
        op.execute(f'CREATE INDEX {name} ON {table} ({new_indexes[name]})')


def upgrade() -> None:
    op.create_table('event_ids',
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('occurred_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_event_ids'))
    )
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in TABLES:
        _partition(table)
    op.execute('INSERT INTO event_ids (event_id, occurred_at) SELECT event_id, occurred_at FROM events')
    op.execute(CLAIM_FUNCTION)
    op.execute(RELEASE_FUNCTION)
    op.execute('CREATE TRIGGER events_claim_event_id BEFORE INSERT ON events '
               'FOR EACH ROW EXECUTE FUNCTION cockpit_claim_event_id()')
    op.execute('CREATE TRIGGER events_release_event_id AFTER DELETE ON events '
               'FOR EACH ROW EXECUTE FUNCTION cockpit_release_event_id()')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        for table in TABLES:
            _unpartition(table)  # the triggers go with the partitioned events
        op.execute('DROP FUNCTION cockpit_claim_event_id()')
        op.execute('DROP FUNCTION cockpit_release_event_id()')
    op.drop_table('event_ids')
