"""remember the analysis time each miner's last run described, so a new day (or a replay) re-mines

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plugin_run") as batch:
        batch.add_column(sa.Column("as_of", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plugin_run") as batch:
        batch.drop_column("as_of")
