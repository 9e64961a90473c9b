"""Replies: every human reply (email or LinkedIn) with its current category and the rule
that gave it, for the unified inbox and the operator's corrections.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aicmo.db.types import UTCDateTime

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fk(column: str, table: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{table}.id"], name=f"fk_replies_{column}_{table}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("reply_event_id", sa.Integer(), nullable=False),
        sa.Column("inbound_message_id", sa.Integer(), nullable=True),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("step_index", sa.Integer(), nullable=True),
        sa.Column("variant", sa.String(40), nullable=True),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("linkedin_account_id", sa.Integer(), nullable=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("sender", sa.String(320), nullable=True),
        sa.Column("subject", sa.String(1000), nullable=True),
        sa.Column("snippet", sa.String(500), nullable=True),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("categorized_at", UTCDateTime(), nullable=False),
        sa.Column("categorized_by", sa.Integer(), nullable=True),
        sa.Column("stage_from", sa.String(20), nullable=True),
        sa.Column("stage_to", sa.String(20), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_replies"),
        _fk("workspace_id", "workspaces", "CASCADE"),
        _fk("inbound_message_id", "inbound_messages", "SET NULL"),
        _fk("lead_id", "leads", "SET NULL"),
        _fk("linkedin_account_id", "linkedin_accounts", "SET NULL"),
        _fk("categorized_by", "users", "SET NULL"),
        sa.UniqueConstraint("workspace_id", "reply_event_id", name="uq_replies_event"),
    )
    op.create_index(
        "ix_replies_workspace_received", "replies", ["workspace_id", "received_at", "id"]
    )
    op.create_index(
        "ix_replies_workspace_category",
        "replies",
        ["workspace_id", "category", "received_at", "id"],
    )
    op.create_index(
        "ix_replies_workspace_campaign", "replies", ["workspace_id", "campaign_id", "received_at"]
    )
    op.create_index("ix_replies_workspace_lead", "replies", ["workspace_id", "lead_id", "category"])


def downgrade() -> None:
    op.drop_table("replies")
