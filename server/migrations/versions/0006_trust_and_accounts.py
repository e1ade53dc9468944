"""what the server refuses to believe and the console's accounts as banks run them: a
kiosk's trust alert (simulated parts, an unreported build), a TOTP step used once, a
console session's last activity (idle timeout), console login failures per source,
kiosks' certificate requests (keys born on the kiosk)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("kiosks", sa.Column("trust_alert", sa.String(200), nullable=True))
    op.add_column("kiosks", sa.Column("trust_alert_at", sa.DateTime(), nullable=True))
    op.add_column("console_users", sa.Column("totp_last_step", sa.Integer(), nullable=True))
    op.add_column("console_sessions", sa.Column("active_at", sa.DateTime(), nullable=True))
    op.create_table(
        "console_login_failures",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
    )
    op.create_index("ix_console_login_failures_source", "console_login_failures", ["source", "at"])
    op.create_index(
        "ix_console_login_failures_username", "console_login_failures", ["username", "at"]
    )

    op.create_table(
        "kiosk_requests",
        sa.Column("id", sa.String(43), primary_key=True),
        sa.Column("kiosk_id", sa.String(64), nullable=False),
        sa.Column("csr", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("cert", sa.Text(), nullable=True),
        sa.Column("serial", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_kiosk_requests_kiosk_id", "kiosk_requests", ["kiosk_id"])
    op.create_index("ix_kiosk_requests_status", "kiosk_requests", ["status"])


def downgrade() -> None:
    op.drop_index("ix_kiosk_requests_status", "kiosk_requests")
    op.drop_index("ix_kiosk_requests_kiosk_id", "kiosk_requests")
    op.drop_table("kiosk_requests")
    op.drop_index("ix_console_login_failures_username", "console_login_failures")
    op.drop_index("ix_console_login_failures_source", "console_login_failures")
    op.drop_table("console_login_failures")
    with op.batch_alter_table("console_sessions") as batch:
        batch.drop_column("active_at")
    with op.batch_alter_table("console_users") as batch:
        batch.drop_column("totp_last_step")
    for column in ("trust_alert_at", "trust_alert"):
        with op.batch_alter_table("kiosks") as batch:
            batch.drop_column(column)
