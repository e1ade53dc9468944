"""index documents.kk_number (the family KK half of a citizen's document list)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_documents_kk_number", "documents", ["kk_number"])


def downgrade() -> None:
    op.drop_index("ix_documents_kk_number", table_name="documents")
