"""webhook API keys own the endpoints they create; a key's scope (own or admin) and revocation time

Endpoints that exist before this migration get no owner: only admin keys see them
(docs/webhooks.md, "Isolation"). Existing keys get the scope ``own``.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_api_key") as batch:
        # the default fills the rows already there; the model sets the value for new rows
        batch.add_column(sa.Column("scope", sa.String(length=16), nullable=False, server_default="own"))
        batch.add_column(sa.Column("revoked_at", sa.Float(), nullable=True))
    with op.batch_alter_table("webhook_api_key") as batch:
        batch.alter_column("scope", server_default=None)
    with op.batch_alter_table("webhook_endpoint") as batch:
        batch.add_column(sa.Column("owner_key_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_webhook_endpoint_owner_key_id", "webhook_api_key", ["owner_key_id"], ["id"]
        )
        batch.create_index("ix_webhook_endpoint_owner_key_id", ["owner_key_id"])


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoint") as batch:
        batch.drop_index("ix_webhook_endpoint_owner_key_id")
        batch.drop_constraint("fk_webhook_endpoint_owner_key_id", type_="foreignkey")
        batch.drop_column("owner_key_id")
    with op.batch_alter_table("webhook_api_key") as batch:
        batch.drop_column("revoked_at")
        batch.drop_column("scope")
