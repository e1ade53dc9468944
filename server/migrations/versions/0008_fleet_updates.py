"""the fleet's updates: releases, rollouts, and each kiosk's version and update state;
the office's remote actions (kiosk_commands)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("version", sa.String(40), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("url", sa.String(300), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("published_by", sa.String(64), nullable=False),
    )
    op.create_table(
        "rollouts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("version", sa.String(40), sa.ForeignKey("releases.version"), nullable=False),
        sa.Column("office", sa.String(100), nullable=False),
        sa.Column("canary", sa.JSON(), nullable=False),
        sa.Column("canary_percent", sa.Integer(), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.String(5), nullable=True),
        sa.Column("window_end", sa.String(5), nullable=True),
        sa.Column("max_failures", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("paused_reason", sa.String(200), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("changed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "kiosk_commands",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("kiosk_id", sa.String(64), sa.ForeignKey("kiosks.id"), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("text", sa.String(200), nullable=False),
        sa.Column("force", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_kiosk_commands_kiosk_id", "kiosk_commands", ["kiosk_id"])
    op.add_column("kiosks", sa.Column("version", sa.String(40), nullable=False, server_default=""))
    op.add_column("kiosks", sa.Column("update_target", sa.String(40), nullable=True))
    op.add_column(
        "kiosks", sa.Column("update_state", sa.String(20), nullable=False, server_default="idle")
    )
    op.add_column(
        "kiosks", sa.Column("update_why", sa.String(200), nullable=False, server_default="")
    )
    op.add_column("kiosks", sa.Column("update_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kiosks") as batch:
        for column in ("update_at", "update_why", "update_state", "update_target", "version"):
            batch.drop_column(column)
    op.drop_index("ix_kiosk_commands_kiosk_id", "kiosk_commands")
    op.drop_table("kiosk_commands")
    op.drop_table("rollouts")
    op.drop_table("releases")
