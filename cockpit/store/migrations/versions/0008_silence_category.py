"""alert_silences.category: a silence may match the alert's ticket category (volume anomalies)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 11:30:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('alert_silences', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('alert_silences', schema=None) as batch_op:
        batch_op.drop_column('category')
