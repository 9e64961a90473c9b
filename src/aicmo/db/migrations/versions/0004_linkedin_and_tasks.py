"""LinkedIn provider accounts, operator tasks, worker heartbeats, a minimum gap per
mailbox, 64-bit IMAP cursors, and on each attempt: the LinkedIn account, the target site
of a contact form, and the evidence the channel saw.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:57:10.741321
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aicmo.db.types import JSONType, UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "linkedin_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=30), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("account_ref", sa.String(length=200), nullable=False),
        sa.Column("api_key", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("invites_per_day", sa.Integer(), nullable=False),
        sa.Column("invites_per_week", sa.Integer(), nullable=False),
        sa.Column("messages_per_day", sa.Integer(), nullable=False),
        sa.Column("polled_until", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_linkedin_accounts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_linkedin_accounts")),
        sa.UniqueConstraint("workspace_id", "name", name="uq_linkedin_accounts_name"),
    )
    op.create_table(
        "workers",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("last_tick_at", UTCDateTime(), nullable=False),
        sa.Column("ticks", sa.Integer(), nullable=False),
        sa.Column("processed", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("stopped_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_workers")),
    )
    op.create_table(
        "operator_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("enrollment_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_operator_tasks_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["enrollment_id"],
            ["enrollments.id"],
            name=op.f("fk_operator_tasks_enrollment_id_enrollments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_operator_tasks_lead_id_leads"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["outreach_messages.id"],
            name=op.f("fk_operator_tasks_message_id_outreach_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_operator_tasks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_tasks")),
        sa.UniqueConstraint("message_id", name="uq_operator_tasks_message"),
    )
    op.create_index(
        "ix_operator_tasks_open",
        "operator_tasks",
        ["workspace_id", "due_at"],
        unique=False,
        postgresql_where=sa.text("status = 'OPEN'"),
        sqlite_where=sa.text("status = 'OPEN'"),
    )

    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("min_gap_seconds", sa.Integer(), server_default="0", nullable=False)
        )
        # IMAP UIDVALIDITY and UIDs are 32-bit unsigned: past PostgreSQL's INTEGER.
        for column in ("imap_uidvalidity", "imap_last_uid"):
            batch_op.alter_column(
                column, existing_type=sa.Integer(), type_=sa.BigInteger(), existing_nullable=True
            )

    with op.batch_alter_table("outreach_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("linkedin_account_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("target_domain", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("details", JSONType, nullable=True))
        # Mailbox windows count by created_at (when the slot was taken), not sent_at.
        batch_op.drop_index("ix_outreach_messages_mailbox_sent")
        batch_op.create_index(
            "ix_outreach_messages_mailbox_created", ["mailbox_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_outreach_messages_linkedin_account",
            ["linkedin_account_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_outreach_messages_target_domain",
            ["workspace_id", "target_domain", "created_at"],
            unique=False,
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outreach_messages_linkedin_account_id_linkedin_accounts"),
            "linkedin_accounts",
            ["linkedin_account_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("outreach_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outreach_messages_linkedin_account_id_linkedin_accounts"),
            type_="foreignkey",
        )
        batch_op.drop_index("ix_outreach_messages_target_domain")
        batch_op.drop_index("ix_outreach_messages_linkedin_account")
        batch_op.drop_index("ix_outreach_messages_mailbox_created")
        batch_op.create_index(
            "ix_outreach_messages_mailbox_sent", ["mailbox_id", "sent_at"], unique=False
        )
        batch_op.drop_column("details")
        batch_op.drop_column("target_domain")
        batch_op.drop_column("linkedin_account_id")

    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.drop_column("min_gap_seconds")
        for column in ("imap_uidvalidity", "imap_last_uid"):
            batch_op.alter_column(
                column, existing_type=sa.BigInteger(), type_=sa.Integer(), existing_nullable=True
            )

    op.drop_index(
        "ix_operator_tasks_open",
        table_name="operator_tasks",
        postgresql_where=sa.text("status = 'OPEN'"),
        sqlite_where=sa.text("status = 'OPEN'"),
    )
    op.drop_table("operator_tasks")
    op.drop_table("workers")
    op.drop_table("linkedin_accounts")
