"""What happened: every outreach attempt, every inbound email, the human replies and the
append-only audit trail of events.

The events table is append-only (triggers in the migration refuse deletes and rewrites;
only personal fields may be blanked, for erasure).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aicmo.cam.db_models.base import Base, utcnow, workspace_fk
from aicmo.db.types import JSONType


class OutreachMessageDB(Base):
    """One attempt to reach one lead on one channel."""

    __tablename__ = "outreach_messages"
    __table_args__ = (
        # Invariant 1: at most one message per (enrollment, step, channel, try).
        UniqueConstraint("idempotency_key", name="uq_attempt_key"),
        Index("ix_outreach_messages_lead", "workspace_id", "lead_id", "created_at"),
        Index(
            "ix_outreach_messages_campaign_channel",
            "workspace_id",
            "campaign_id",
            "channel",
            "created_at",
        ),
        Index("ix_outreach_messages_rfc_message_id", "rfc_message_id"),
        Index("ix_outreach_messages_workspace_created", "workspace_id", "created_at"),
        # Per-mailbox caps and gap count recent attempts of one mailbox; the status makes
        # the count index-only.
        Index("ix_outreach_messages_mailbox_created", "mailbox_id", "created_at", "status"),
        # Rate windows: recent attempts of one channel (invariant 3), index-only as above.
        Index("ix_outreach_messages_channel", "workspace_id", "channel", "created_at", "status"),
        # Delivery sweep: SENT attempts old enough to count as delivered.
        Index("ix_outreach_messages_status_sent", "status", "sent_at"),
        # Contact forms: one submission per site per campaign, a gap between two per site.
        Index("ix_outreach_messages_target_domain", "workspace_id", "target_domain", "created_at"),
        # LinkedIn account caps count recent invitations and messages of one account.
        Index("ix_outreach_messages_linkedin_account", "linkedin_account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="SET NULL"), index=True
    )
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    linkedin_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("linkedin_accounts.id", ondelete="SET NULL")
    )
    step_index: Mapped[int | None] = mapped_column(Integer)
    #: The A/B variant of the step this attempt sent (its name; None outside a test).
    variant: Mapped[str | None] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))
    message_type: Mapped[str] = mapped_column(String(50), default="cold_outreach")
    status: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str | None] = mapped_column(String(1000))
    subject: Mapped[str | None] = mapped_column(String(1000))
    body: Mapped[str | None] = mapped_column(Text)
    transport: Mapped[str | None] = mapped_column(String(50))
    provider_message_id: Mapped[str | None] = mapped_column(String(500))
    rfc_message_id: Mapped[str | None] = mapped_column(String(500))
    error: Mapped[str | None] = mapped_column(Text)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(200))
    scheduled_at: Mapped[datetime | None] = mapped_column()
    sent_at: Mapped[datetime | None] = mapped_column()
    delivered_at: Mapped[datetime | None] = mapped_column()
    opened_at: Mapped[datetime | None] = mapped_column()
    clicked_at: Mapped[datetime | None] = mapped_column()
    replied_at: Mapped[datetime | None] = mapped_column()
    bounced_at: Mapped[datetime | None] = mapped_column()
    #: The site a contact form was posted to (host without ``www.``).
    target_domain: Mapped[str | None] = mapped_column(String(255))
    #: Evidence of what the channel saw: a form's response status, final URL and snippet;
    #: a provider's chat and invitation ids.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class InboundMessageDB(Base):
    """One message read from a mailbox: what it was, and what it was matched to.

    The unique Message-ID per workspace makes processing idempotent: a mailbox re-read
    after a UIDVALIDITY change, or polled twice, changes nothing the second time.
    """

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("workspace_id", "message_key", name="uq_inbound_messages_key"),
        Index("ix_inbound_messages_lead", "workspace_id", "lead_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    mailbox_id: Mapped[int | None] = mapped_column(ForeignKey("mailboxes.id", ondelete="SET NULL"))
    message_key: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(30))
    received_at: Mapped[datetime] = mapped_column()
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("outreach_messages.id", ondelete="SET NULL")
    )
    # Personal data (blanked on erasure): who wrote, about what, and the new text.
    from_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(1000))
    text: Mapped[str | None] = mapped_column(Text)


class ReplyDB(Base):
    """One human reply, from any mailbox or LinkedIn account, with its current category.

    The unified inbox lists these newest first; the audit trail keeps every categorisation
    and correction as REPLY_CATEGORIZED events, this row only the current one. The
    attribution columns (campaign, step, variant, mailbox) are those the REPLY_RECEIVED
    event was counted under, so a correction's event is counted in the same rollup row.
    """

    __tablename__ = "replies"
    __table_args__ = (
        # One row per REPLY_RECEIVED event: categorising twice is impossible.
        UniqueConstraint("workspace_id", "reply_event_id", name="uq_replies_event"),
        # The inbox: newest first, keyset on (received_at, id).
        Index("ix_replies_workspace_received", "workspace_id", "received_at", "id"),
        # The inbox filtered by category ("interested" first thing in the morning).
        Index("ix_replies_workspace_category", "workspace_id", "category", "received_at", "id"),
        Index("ix_replies_workspace_campaign", "workspace_id", "campaign_id", "received_at"),
        # Grading counts a lead's replies by category; erasure finds them.
        Index("ix_replies_workspace_lead", "workspace_id", "lead_id", "category"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    #: The REPLY_RECEIVED event (a plain reference, as the trail outlives rows).
    reply_event_id: Mapped[int] = mapped_column(Integer)
    inbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_messages.id", ondelete="SET NULL")
    )
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))
    #: The attempt replied to, and the attribution its REPLY_RECEIVED event had.
    message_id: Mapped[int | None] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    step_index: Mapped[int | None] = mapped_column(Integer)
    variant: Mapped[str | None] = mapped_column(String(40))
    mailbox_id: Mapped[int | None] = mapped_column(Integer)
    linkedin_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("linkedin_accounts.id", ondelete="SET NULL")
    )
    received_at: Mapped[datetime] = mapped_column()
    # Personal data (blanked on erasure): who wrote, about what, the opening words.
    sender: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(1000))
    snippet: Mapped[str | None] = mapped_column(String(500))
    category: Mapped[str] = mapped_column(String(20))
    #: The rule that gave the category, or "operator".
    rule: Mapped[str] = mapped_column(String(40))
    categorized_at: Mapped[datetime] = mapped_column()
    #: The user who corrected it last (None: the rules, or an API key).
    categorized_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The stage move the current category made (from, to), so a correction can undo it.
    stage_from: Mapped[str | None] = mapped_column(String(20))
    stage_to: Mapped[str | None] = mapped_column(String(20))


class EventDB(Base):
    """The audit trail: one row per fact, inserted and never rewritten.

    ``lead_id``/``message_id``/``campaign_id`` are plain references, not foreign keys:
    the trail outlives the rows it mentions.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_workspace_lead_type", "workspace_id", "lead_id", "type"),
        Index("ix_events_workspace_occurred", "workspace_id", "occurred_at"),
        Index("ix_events_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    type: Mapped[str] = mapped_column(String(40))
    occurred_at: Mapped[datetime] = mapped_column()
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str | None] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(50), default="aicmo")
    lead_id: Mapped[int | None] = mapped_column(Integer)
    campaign_id: Mapped[int | None] = mapped_column(Integer)
    message_id: Mapped[int | None] = mapped_column(Integer)
    actor: Mapped[str | None] = mapped_column(String(200))
    #: Where in the campaign the event belongs (the attempt's step, the enrollment's
    #: variant, the sending mailbox): the rollup row it counts in, so a rebuild from the
    #: events alone finds the same row as the incremental bump. Immutable like the rest.
    step_index: Mapped[int | None] = mapped_column(Integer)
    variant: Mapped[str | None] = mapped_column(String(40))
    mailbox_id: Mapped[int | None] = mapped_column(Integer)
    # Personal fields: blanked (never the row deleted) when a person is erased.
    recipient: Mapped[str | None] = mapped_column(String(1000))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    raw: Mapped[str | None] = mapped_column(Text)
