"""What sending costs (cost_rates): a monthly fee and a price per send for a channel, a
mailbox or a LinkedIn provider account, read by the attribution report's ROI.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aicmo.db.types import UTCDateTime

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cost_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("linkedin_account_id", sa.Integer(), nullable=True),
        sa.Column("monthly", sa.Numeric(18, 6), nullable=False),
        sa.Column("per_action", sa.Numeric(18, 6), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_cost_rates"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name="fk_cost_rates_workspace_id_workspaces",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name="fk_cost_rates_mailbox_id_mailboxes",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["linkedin_account_id"],
            ["linkedin_accounts.id"],
            name="fk_cost_rates_linkedin_account_id_linkedin_accounts",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "workspace_id", "scope", "channel", "target_id", name="uq_cost_rates_scope"
        ),
    )


def downgrade() -> None:
    op.drop_table("cost_rates")
