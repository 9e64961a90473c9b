"""Sender mailboxes (SMTP out, IMAP in, encrypted secrets, IMAP cursor), the mailbox of
each attempt, inbound messages (idempotent processing, the inbox), and a per-workspace
salt for the hashes that keep erased people suppressed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 07:50:19.052005
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from aicmo.db.types import UTCDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("from_name", sa.String(length=200), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=False),
        sa.Column("reply_to", sa.String(length=320), nullable=True),
        sa.Column("daily_cap", sa.Integer(), nullable=False),
        sa.Column("hourly_cap", sa.Integer(), nullable=False),
        sa.Column("smtp_host", sa.String(length=255), nullable=True),
        sa.Column("smtp_port", sa.Integer(), nullable=True),
        sa.Column("smtp_security", sa.String(length=10), nullable=False),
        sa.Column("smtp_username", sa.String(length=320), nullable=True),
        sa.Column("smtp_auth", sa.String(length=10), nullable=False),
        sa.Column("smtp_secret", sa.Text(), nullable=True),
        sa.Column("imap_host", sa.String(length=255), nullable=True),
        sa.Column("imap_port", sa.Integer(), nullable=True),
        sa.Column("imap_security", sa.String(length=10), nullable=False),
        sa.Column("imap_username", sa.String(length=320), nullable=True),
        sa.Column("imap_auth", sa.String(length=10), nullable=False),
        sa.Column("imap_secret", sa.Text(), nullable=True),
        sa.Column("imap_folder", sa.String(length=200), nullable=False),
        sa.Column("imap_uidvalidity", sa.Integer(), nullable=True),
        sa.Column("imap_last_uid", sa.Integer(), nullable=True),
        sa.Column("imap_polled_at", UTCDateTime(), nullable=True),
        sa.Column("dkim_domain", sa.String(length=255), nullable=True),
        sa.Column("dkim_selector", sa.String(length=100), nullable=True),
        sa.Column("dkim_key", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_mailboxes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        sa.UniqueConstraint("workspace_id", "name", name="uq_mailboxes_name"),
    )
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("message_key", sa.String(length=500), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("attempt_id", sa.Integer(), nullable=True),
        sa.Column("from_address", sa.String(length=320), nullable=True),
        sa.Column("subject", sa.String(length=1000), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["outreach_messages.id"],
            name=op.f("fk_inbound_messages_attempt_id_outreach_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_inbound_messages_lead_id_leads"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_inbound_messages_mailbox_id_mailboxes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_inbound_messages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_messages")),
        sa.UniqueConstraint("workspace_id", "message_key", name="uq_inbound_messages_key"),
    )
    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_inbound_messages_lead", ["workspace_id", "lead_id", "received_at"], unique=False
        )

    with op.batch_alter_table("outreach_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("mailbox_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            "ix_outreach_messages_mailbox_sent", ["mailbox_id", "sent_at"], unique=False
        )
        batch_op.create_index(
            "ix_outreach_messages_status_sent", ["status", "sent_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outreach_messages_mailbox_id_mailboxes"),
            "mailboxes",
            ["mailbox_id"],
            ["id"],
            ondelete="SET NULL",
        )

    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hash_salt", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    workspaces = sa.table(
        "workspaces", sa.column("id", sa.Integer()), sa.column("hash_salt", sa.String())
    )
    for (ws_id,) in bind.execute(sa.select(workspaces.c.id)).all():
        bind.execute(
            workspaces.update()
            .where(workspaces.c.id == ws_id)
            .values(hash_salt=secrets.token_hex(16))
        )
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.alter_column("hash_salt", existing_type=sa.String(length=64), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("workspaces", schema=None) as batch_op:
        batch_op.drop_column("hash_salt")

    with op.batch_alter_table("outreach_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outreach_messages_mailbox_id_mailboxes"), type_="foreignkey"
        )
        batch_op.drop_index("ix_outreach_messages_status_sent")
        batch_op.drop_index("ix_outreach_messages_mailbox_sent")
        batch_op.drop_column("mailbox_id")

    with op.batch_alter_table("inbound_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_messages_lead")

    op.drop_table("inbound_messages")
    op.drop_table("mailboxes")
