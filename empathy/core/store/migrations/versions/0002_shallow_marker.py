"""remember the shallow boundary, so a deepened clone is re-read

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("repository") as batch:
        batch.add_column(sa.Column("shallow_marker", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("repository") as batch:
        batch.drop_column("shallow_marker")
