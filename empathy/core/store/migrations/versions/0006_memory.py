"""memory: the memory agent's short- and long-term items

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "memory_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("layer", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.BigInteger(), nullable=False),
        sa.Column("last_at", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["repo_id"], ["repository.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repo_id", "layer", "kind", "key", name="uq_memory_item"),
    )
    with op.batch_alter_table("memory_item", schema=None) as batch_op:
        batch_op.create_index("ix_memory_item_recent", ["repo_id", "layer", "last_at"], unique=False)
        batch_op.create_index("ix_memory_item_path", ["repo_id", "path"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("memory_item", schema=None) as batch_op:
        batch_op.drop_index("ix_memory_item_path")
        batch_op.drop_index("ix_memory_item_recent")

    op.drop_table("memory_item")
