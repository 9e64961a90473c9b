"""Enrollments (one lead in one campaign, with a partial index on due work), the
enrollment of each attempt, and an index for the rate windows of a channel.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 08:45:54.646688
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aicmo.db.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "enrollments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("step_index", sa.Integer(), nullable=False),
        sa.Column("channel_index", sa.Integer(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("next_run_at", UTCDateTime(), nullable=True),
        sa.Column("variant", sa.String(length=40), nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.Column("last_message_id", sa.Integer(), nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_enrollments_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_enrollments_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_enrollments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollments")),
        sa.UniqueConstraint("campaign_id", "lead_id", name="uq_enrollments_campaign_lead"),
    )
    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_enrollments_due",
            ["next_run_at"],
            unique=False,
            postgresql_where=sa.text("state = 'ACTIVE'"),
            sqlite_where=sa.text("state = 'ACTIVE'"),
        )
        batch_op.create_index("ix_enrollments_lead", ["workspace_id", "lead_id"], unique=False)

    with op.batch_alter_table("outreach_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrollment_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_outreach_messages_enrollment_id"), ["enrollment_id"], unique=False
        )
        batch_op.create_index(
            "ix_outreach_messages_channel", ["workspace_id", "channel", "created_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outreach_messages_enrollment_id_enrollments"),
            "enrollments",
            ["enrollment_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("outreach_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outreach_messages_enrollment_id_enrollments"), type_="foreignkey"
        )
        batch_op.drop_index("ix_outreach_messages_channel")
        batch_op.drop_index(batch_op.f("ix_outreach_messages_enrollment_id"))
        batch_op.drop_column("enrollment_id")

    with op.batch_alter_table("enrollments", schema=None) as batch_op:
        batch_op.drop_index("ix_enrollments_lead")
        batch_op.drop_index(
            "ix_enrollments_due",
            postgresql_where=sa.text("state = 'ACTIVE'"),
            sqlite_where=sa.text("state = 'ACTIVE'"),
        )

    op.drop_table("enrollments")
