"""Initial schema: workspaces, leads (mini-CRM), campaigns, channels, sequences,
attempts, the append-only events table, suppressions and daily metrics.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 07:15:05.114098
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from aicmo.db.types import JSONType, UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("icp", JSONType, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("slug", name=op.f("uq_workspaces_slug")),
    )
    op.create_table(
        "channel_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("rate_limit_per_hour", sa.Integer(), nullable=False),
        sa.Column("rate_limit_per_day", sa.Integer(), nullable=False),
        sa.Column("per_lead_limit", sa.Integer(), nullable=False),
        sa.Column("per_lead_period_hours", sa.Integer(), nullable=False),
        sa.Column("min_gap_hours", sa.Integer(), nullable=False),
        sa.Column("max_retries", sa.Integer(), nullable=False),
        sa.Column("backoff_hours", JSONType, nullable=False),
        sa.Column("settings", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_channel_configs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_configs")),
        sa.UniqueConstraint("workspace_id", "channel", name="uq_channel_configs_channel"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=True),
        sa.Column("source", sa.String(length=50), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("recipient", sa.String(length=1000), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("detail", JSONType, nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_events_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_message", ["message_id"], unique=False)
        batch_op.create_index(
            "ix_events_workspace_lead_type", ["workspace_id", "lead_id", "type"], unique=False
        )
        batch_op.create_index(
            "ix_events_workspace_occurred", ["workspace_id", "occurred_at"], unique=False
        )

    op.create_table(
        "leads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("email_key", sa.String(length=320), nullable=True),
        sa.Column("first_name", sa.String(length=200), nullable=True),
        sa.Column("last_name", sa.String(length=200), nullable=True),
        sa.Column("company", sa.String(length=300), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=True),
        sa.Column("seniority", sa.String(length=100), nullable=True),
        sa.Column("industry", sa.String(length=200), nullable=True),
        sa.Column("company_size", sa.Integer(), nullable=True),
        sa.Column("linkedin_url", sa.String(length=1000), nullable=True),
        sa.Column("linkedin_key", sa.String(length=400), nullable=True),
        sa.Column("linkedin_id", sa.String(length=200), nullable=True),
        sa.Column("website", sa.String(length=2000), nullable=True),
        sa.Column("form_url", sa.String(length=2000), nullable=True),
        sa.Column("phone", sa.String(length=100), nullable=True),
        sa.Column("country", sa.String(length=100), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("stage", sa.String(length=20), server_default="NEW", nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=True),
        sa.Column("custom_fields", JSONType, nullable=False),
        sa.Column("deal_value", sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column("grade", sa.String(length=1), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("grade_reasons", JSONType, nullable=False),
        sa.Column("graded_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_leads_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leads")),
        sa.UniqueConstraint("workspace_id", "email_key", name="uq_leads_workspace_email"),
        sa.UniqueConstraint("workspace_id", "linkedin_key", name="uq_leads_workspace_linkedin"),
    )
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leads_workspace_grade", ["workspace_id", "grade", "score"], unique=False
        )
        batch_op.create_index("ix_leads_workspace_stage", ["workspace_id", "stage"], unique=False)

    op.create_table(
        "metrics_daily",
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("campaign_key", sa.Integer(), nullable=False),
        sa.Column("step_key", sa.Integer(), nullable=False),
        sa.Column("variant_key", sa.String(length=40), nullable=False),
        sa.Column("mailbox_key", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("attempted", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("sent", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unknown", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("delivered", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("opened", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("clicked", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("replied", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("auto_replied", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("bounced_hard", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("bounced_soft", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("complained", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unsubscribed", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_metrics_daily_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id",
            "day",
            "campaign_key",
            "step_key",
            "variant_key",
            "mailbox_key",
            "channel",
            name=op.f("pk_metrics_daily"),
        ),
    )
    op.create_table(
        "sequence_configs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("steps", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sequence_configs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sequence_configs")),
        sa.UniqueConstraint("workspace_id", "name", name="uq_sequence_configs_name"),
    )
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=400), nullable=False),
        sa.Column("reason", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_suppressions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint("workspace_id", "kind", "value", name="uq_suppressions_entry"),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=20), server_default="DRAFT", nullable=False),
        sa.Column("sequence_id", sa.Integer(), nullable=True),
        sa.Column("settings", JSONType, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sequence_id"],
            ["sequence_configs.id"],
            name=op.f("fk_campaigns_sequence_id_sequence_configs"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_campaigns_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("workspace_id", "name", name="uq_campaigns_name"),
    )
    op.create_table(
        "lead_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_notes_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_lead_notes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_notes")),
    )
    with op.batch_alter_table("lead_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lead_notes_lead_id"), ["lead_id"], unique=False)

    op.create_table(
        "lead_tags",
        sa.Column("lead_id", sa.Integer(), nullable=False),
        sa.Column("tag_key", sa.String(length=100), nullable=False),
        sa.Column("tag", sa.String(length=100), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["leads.id"], name=op.f("fk_lead_tags_lead_id_leads"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_lead_tags_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("lead_id", "tag_key", name=op.f("pk_lead_tags")),
    )
    with op.batch_alter_table("lead_tags", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_tags_workspace_tag", ["workspace_id", "tag_key"], unique=False
        )

    op.create_table(
        "outreach_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.Integer(), nullable=True),
        sa.Column("campaign_id", sa.Integer(), nullable=True),
        sa.Column("step_index", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("message_type", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=1000), nullable=True),
        sa.Column("subject", sa.String(length=1000), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("transport", sa.String(length=50), nullable=True),
        sa.Column("provider_message_id", sa.String(length=500), nullable=True),
        sa.Column("rfc_message_id", sa.String(length=500), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("scheduled_at", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("delivered_at", UTCDateTime(), nullable=True),
        sa.Column("opened_at", UTCDateTime(), nullable=True),
        sa.Column("clicked_at", UTCDateTime(), nullable=True),
        sa.Column("replied_at", UTCDateTime(), nullable=True),
        sa.Column("bounced_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_outreach_messages_campaign_id_campaigns"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"],
            ["leads.id"],
            name=op.f("fk_outreach_messages_lead_id_leads"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_outreach_messages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_messages")),
        sa.UniqueConstraint("idempotency_key", name="uq_attempt_key"),
    )
    with op.batch_alter_table("outreach_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outreach_messages_campaign_channel",
            ["workspace_id", "campaign_id", "channel", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_outreach_messages_lead", ["workspace_id", "lead_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_outreach_messages_rfc_message_id", ["rfc_message_id"], unique=False
        )
        batch_op.create_index(
            "ix_outreach_messages_workspace_created", ["workspace_id", "created_at"], unique=False
        )
    _append_only_events()
    op.bulk_insert(
        sa.table(
            "workspaces",
            sa.column("id", sa.Integer()),
            sa.column("slug", sa.String()),
            sa.column("name", sa.String()),
            sa.column("created_at", UTCDateTime()),
        ),
        [
            {
                "id": 1,
                "slug": "default",
                "name": "Default workspace",
                "created_at": datetime.now(UTC),
            }
        ],
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("SELECT setval(pg_get_serial_sequence('workspaces', 'id'), 1)")


# The audit trail is append-only: no delete, no rewrite of what happened. Only the
# personal fields (recipient, reason, detail, raw) may be blanked, for GDPR erasure.
_IMMUTABLE = (
    "id, workspace_id, type, occurred_at, recorded_at, channel, source,"
    " lead_id, campaign_id, message_id, actor"
)


def _append_only_events() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
            "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
        )
        op.execute(
            f"CREATE TRIGGER events_no_rewrite BEFORE UPDATE OF {_IMMUTABLE} ON events "
            "BEGIN SELECT RAISE(ABORT, 'events are append-only'); END"
        )
    else:
        op.execute(
            "CREATE FUNCTION aicmo_events_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'events are append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER events_no_delete BEFORE DELETE ON events "
            "FOR EACH ROW EXECUTE FUNCTION aicmo_events_append_only()"
        )
        op.execute(
            f"CREATE TRIGGER events_no_rewrite BEFORE UPDATE OF {_IMMUTABLE} ON events "
            "FOR EACH ROW EXECUTE FUNCTION aicmo_events_append_only()"
        )


def _drop_append_only_events() -> None:
    op.execute("DROP TRIGGER IF EXISTS events_no_delete" + _on_events())
    op.execute("DROP TRIGGER IF EXISTS events_no_rewrite" + _on_events())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS aicmo_events_append_only()")


def _on_events() -> str:
    return " ON events" if op.get_bind().dialect.name == "postgresql" else ""


def downgrade() -> None:
    _drop_append_only_events()
    with op.batch_alter_table("outreach_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outreach_messages_workspace_created")
        batch_op.drop_index("ix_outreach_messages_rfc_message_id")
        batch_op.drop_index("ix_outreach_messages_lead")
        batch_op.drop_index("ix_outreach_messages_campaign_channel")

    op.drop_table("outreach_messages")
    with op.batch_alter_table("lead_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_tags_workspace_tag")

    op.drop_table("lead_tags")
    with op.batch_alter_table("lead_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lead_notes_lead_id"))

    op.drop_table("lead_notes")
    op.drop_table("campaigns")
    op.drop_table("suppressions")
    op.drop_table("sequence_configs")
    op.drop_table("metrics_daily")
    with op.batch_alter_table("leads", schema=None) as batch_op:
        batch_op.drop_index("ix_leads_workspace_stage")
        batch_op.drop_index("ix_leads_workspace_grade")

    op.drop_table("leads")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_workspace_occurred")
        batch_op.drop_index("ix_events_workspace_lead_type")
        batch_op.drop_index("ix_events_message")

    op.drop_table("events")
    op.drop_table("channel_configs")
    op.drop_table("workspaces")
