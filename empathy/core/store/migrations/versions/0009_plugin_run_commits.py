"""remember how much history each plugin's last run saw, so staleness is one rule per miner

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("plugin_run") as batch:
        batch.add_column(sa.Column("commits", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plugin_run") as batch:
        batch.drop_column("commits")
