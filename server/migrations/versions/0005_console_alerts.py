"""the office console's accounts and sessions, refused certificates, the kiosks' audit
chain pair and office

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kiosks", sa.Column("audit_count", sa.Integer(), nullable=True))
    op.add_column("kiosks", sa.Column("audit_head", sa.String(64), nullable=True))
    op.add_column("kiosks", sa.Column("audit_alert", sa.String(200), nullable=True))
    op.add_column("kiosks", sa.Column("audit_alert_at", sa.DateTime(), nullable=True))
    op.add_column("kiosks", sa.Column("office", sa.String(100), nullable=False, server_default=""))
    op.create_table(
        "cert_refusals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(20), nullable=False),
    )
    op.create_index("ix_cert_refusals_at", "cert_refusals", ["at"])
    op.create_table(
        "console_users",
        sa.Column("username", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "console_sessions",
        sa.Column("token_hash", sa.LargeBinary(32), primary_key=True),
        sa.Column(
            "username", sa.String(64), sa.ForeignKey("console_users.username"), nullable=False
        ),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_console_sessions_username", "console_sessions", ["username"])


def downgrade() -> None:
    op.drop_index("ix_console_sessions_username", "console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("console_users")
    op.drop_index("ix_cert_refusals_at", "cert_refusals")
    op.drop_table("cert_refusals")
    for column in ("office", "audit_alert_at", "audit_alert", "audit_head", "audit_count"):
        with op.batch_alter_table("kiosks") as batch:
            batch.drop_column(column)
