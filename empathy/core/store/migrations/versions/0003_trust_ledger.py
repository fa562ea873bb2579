"""trust ledger: raw outcomes per subject and feedback-moved rule thresholds

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trust_outcome",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("subject_kind", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("success", sa.Boolean(), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["repo_id"], ["repository.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("trust_outcome", schema=None) as batch_op:
        batch_op.create_index(
            "ix_trust_outcome_subject", ["repo_id", "subject_kind", "subject", "at"], unique=False
        )

    op.create_table(
        "trust_threshold",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repo_id", sa.Integer(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["repo_id"], ["repository.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repo_id", "rule", name="uq_trust_threshold_repo_rule"),
    )


def downgrade() -> None:
    op.drop_table("trust_threshold")
    with op.batch_alter_table("trust_outcome", schema=None) as batch_op:
        batch_op.drop_index("ix_trust_outcome_subject")

    op.drop_table("trust_outcome")
