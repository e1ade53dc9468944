"""reservation leases, session scope of a job id, e-KTP evidence, compact heartbeat history

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("documents", sa.Column("reserved_until", sa.DateTime(), nullable=True))
    op.add_column("reservations", sa.Column("expires_at", sa.DateTime(), nullable=True))
    op.add_column("reservations", sa.Column("session_hash", sa.LargeBinary(32), nullable=True))
    op.add_column("kiosk_sessions", sa.Column("evidence", sa.JSON(), nullable=True))
    op.add_column("kiosks", sa.Column("history_at", sa.DateTime(), nullable=True))
    op.add_column("kiosks", sa.Column("history_digest", sa.String(64), nullable=True))


def downgrade() -> None:
    for table, column in (
        ("kiosks", "history_digest"),
        ("kiosks", "history_at"),
        ("kiosk_sessions", "evidence"),
        ("reservations", "session_hash"),
        ("reservations", "expires_at"),
        ("documents", "reserved_until"),
    ):
        with op.batch_alter_table(table) as batch:
            batch.drop_column(column)
