"""the claim trigger lets a writer that claimed its ids set-based say so (the bulk path)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 12:20:00

``SET LOCAL cockpit.ids_claimed = 'on'`` in a transaction makes the BEFORE INSERT trigger of
``events`` pass rows through: the bulk path claims a whole stage in ``event_ids`` with one
``INSERT ... ON CONFLICT (event_id) DO NOTHING RETURNING`` and inserts only the claimed rows,
which saves the trigger's per-row insert (a third of the events statement's time, measured).
"""
from typing import Sequence, Union

from alembic import op


revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

BODY = """
CREATE OR REPLACE FUNCTION cockpit_claim_event_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{bypass}    INSERT INTO event_ids (event_id, occurred_at) VALUES (NEW.event_id, NEW.occurred_at)
    ON CONFLICT (event_id) DO NOTHING;
    IF FOUND THEN
        RETURN NEW;
    END IF;
    RETURN NULL;
END
$$
"""
BYPASS = """    IF current_setting('cockpit.ids_claimed', true) = 'on' THEN
        RETURN NEW;
    END IF;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(BODY.format(bypass=BYPASS))


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(BODY.format(bypass=''))
