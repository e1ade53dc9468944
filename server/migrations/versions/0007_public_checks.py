"""the public check of printed documents: when and why a document was revoked, and how
many times its seal was checked

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("revoked_at", sa.DateTime(), nullable=True))
    op.add_column("documents", sa.Column("revoked_reason", sa.String(200), nullable=True))
    op.add_column(
        "documents", sa.Column("checks", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    with op.batch_alter_table("documents") as batch:
        batch.drop_column("checks")
        batch.drop_column("revoked_reason")
        batch.drop_column("revoked_at")
