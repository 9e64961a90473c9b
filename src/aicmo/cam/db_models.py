"""SQLAlchemy 2 rows. ``…DB`` names are ORM rows only; services never return them.

Every owned row carries ``workspace_id`` so an agency can run clients apart in one
installation. Each invariant that the database can hold is a constraint here, named
after it. The events table is append-only (triggers in the migration refuse deletes and
rewrites; only personal fields may be blanked, for erasure).
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from aicmo.cam.domain.rollups import SIMPLE_COUNTERS
from aicmo.db.expressions import byte_order, desc_nulls_last
from aicmo.db.types import JSONType, UTCDateTime

DEFAULT_WORKSPACE_ID = 1

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


def _workspace_fk() -> Mapped[int]:
    return mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        default=DEFAULT_WORKSPACE_ID,
        nullable=False,
    )


class WorkspaceDB(Base):
    """A tenant: one client of an agency, or the single default workspace."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    icp: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    #: Salt of the hashes that keep erased people suppressed (lives with the data, so a
    #: rotated secret key never lets an erased person be contacted again).
    hash_salt: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LeadDB(Base):
    """A person in the mini-CRM."""

    __tablename__ = "leads"
    __table_args__ = (
        # Dedupe: one lead per normalised email / LinkedIn profile per workspace.
        UniqueConstraint("workspace_id", "email_key", name="uq_leads_workspace_email"),
        UniqueConstraint("workspace_id", "linkedin_key", name="uq_leads_workspace_linkedin"),
        # The listing indexes (grade, stage, score, search) follow the class: they are
        # expressions of its columns.
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    email: Mapped[str | None] = mapped_column(String(320))
    email_key: Mapped[str | None] = mapped_column(String(320))
    first_name: Mapped[str | None] = mapped_column(String(200))
    last_name: Mapped[str | None] = mapped_column(String(200))
    company: Mapped[str | None] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(300))
    seniority: Mapped[str | None] = mapped_column(String(100))
    industry: Mapped[str | None] = mapped_column(String(200))
    company_size: Mapped[int | None] = mapped_column(Integer)
    linkedin_url: Mapped[str | None] = mapped_column(String(1000))
    linkedin_key: Mapped[str | None] = mapped_column(String(400))
    linkedin_id: Mapped[str | None] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(2000))
    form_url: Mapped[str | None] = mapped_column(String(2000))
    phone: Mapped[str | None] = mapped_column(String(100))
    country: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str | None] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(20), default="NEW", server_default="NEW")
    owner: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str | None] = mapped_column(String(200))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    deal_value: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    grade: Mapped[str | None] = mapped_column(String(1))
    score: Mapped[int | None] = mapped_column(Integer)
    grade_reasons: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    graded_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    tag_rows: Mapped[list[LeadTagDB]] = relationship(
        back_populates="lead", cascade="all, delete-orphan", order_by="LeadTagDB.tag_key"
    )
    note_rows: Mapped[list[LeadNoteDB]] = relationship(
        back_populates="lead", cascade="all, delete-orphan", order_by="LeadNoteDB.id"
    )

    @property
    def tags(self) -> list[str]:
        return [t.tag for t in self.tag_rows]


def _best_first(*columns: Any) -> list[Any]:
    """Index columns that end in the listing's order: best score first, then by id."""
    return [LeadDB.workspace_id, *columns, desc_nulls_last(LeadDB.score), LeadDB.id]


# Listing: every filter the API and `aicmo leads list` offer reads leads in the order it
# returns them, and stops after a page (no sort of the workspace's leads).
Index("ix_leads_workspace_grade", *_best_first(LeadDB.grade))
Index("ix_leads_workspace_stage", *_best_first(LeadDB.stage))
Index("ix_leads_workspace_score", *_best_first())
# Search: a case-insensitive prefix of email, first name, last name or company, each a
# range of its index (repository.leads.search_condition).
for _name in ("email", "first_name", "last_name", "company"):
    Index(
        f"ix_leads_search_{_name}",
        LeadDB.workspace_id,
        byte_order(func.lower(getattr(LeadDB, _name))),
    )


class LeadTagDB(Base):
    """A tag on a lead; a table (not a JSON list) so enrolment by tag uses an index."""

    __tablename__ = "lead_tags"
    # With lead_id, the leads carrying a tag are read from the index alone.
    __table_args__ = (Index("ix_lead_tags_workspace_tag", "workspace_id", "tag_key", "lead_id"),)

    lead_id: Mapped[int] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    tag_key: Mapped[str] = mapped_column(String(100), primary_key=True)
    tag: Mapped[str] = mapped_column(String(100))
    workspace_id: Mapped[int] = _workspace_fk()

    lead: Mapped[LeadDB] = relationship(back_populates="tag_rows")


class LeadNoteDB(Base):
    __tablename__ = "lead_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    lead: Mapped[LeadDB] = relationship(back_populates="note_rows")


class SequenceConfigDB(Base):
    """A named sequence; ``steps`` is a list of step definitions (see domain.sequences)."""

    __tablename__ = "sequence_configs"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_sequence_configs_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    steps: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CampaignDB(Base):
    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_campaigns_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="DRAFT", server_default="DRAFT")
    sequence_id: Mapped[int | None] = mapped_column(
        ForeignKey("sequence_configs.id", ondelete="RESTRICT")
    )
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class EnrollmentDB(Base):
    """One lead in one campaign: where it stands in the sequence and when it is next due."""

    __tablename__ = "enrollments"
    __table_args__ = (
        # A lead is never in two enrollments of the same campaign.
        UniqueConstraint("campaign_id", "lead_id", name="uq_enrollments_campaign_lead"),
        # Due work: only ACTIVE rows are indexed, so the claim's cost follows the number
        # of due enrollments, not the finished ones piling up.
        Index(
            "ix_enrollments_due",
            "next_run_at",
            postgresql_where=text("state = 'ACTIVE'"),
            sqlite_where=text("state = 'ACTIVE'"),
        ),
        Index("ix_enrollments_lead", "workspace_id", "lead_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    step_index: Mapped[int] = mapped_column(Integer, default=0)
    channel_index: Mapped[int] = mapped_column(Integer, default=0)
    retries: Mapped[int] = mapped_column(Integer, default=0)
    next_run_at: Mapped[datetime | None] = mapped_column()
    #: The A/B variants this lead was given, ``"<step>:<name>"`` pairs joined by ``,``
    #: (see aicmo.cam.domain.sequencing.assign_variants); None when no step has variants.
    variant: Mapped[str | None] = mapped_column(String(40))
    stop_reason: Mapped[str | None] = mapped_column(Text)
    last_message_id: Mapped[int | None] = mapped_column(Integer)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class ChannelConfigDB(Base):
    """Per-channel switches and limits of a workspace."""

    __tablename__ = "channel_configs"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel", name="uq_channel_configs_channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    channel: Mapped[str] = mapped_column(String(20))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    rate_limit_per_hour: Mapped[int] = mapped_column(Integer, default=100)
    rate_limit_per_day: Mapped[int] = mapped_column(Integer, default=500)
    #: At most this many touches of one lead on this channel per ``per_lead_period_hours``.
    per_lead_limit: Mapped[int] = mapped_column(Integer, default=3)
    per_lead_period_hours: Mapped[int] = mapped_column(Integer, default=168)
    #: Minimum gap between two touches of one lead, across campaigns.
    min_gap_hours: Mapped[int] = mapped_column(Integer, default=24)
    max_retries: Mapped[int] = mapped_column(Integer, default=2)
    backoff_hours: Mapped[list[Any]] = mapped_column(JSONType, default=lambda: [24, 48])
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MailboxDB(Base):
    """A sender mailbox: SMTP out, IMAP in. Secrets are Fernet tokens, never plain text."""

    __tablename__ = "mailboxes"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_mailboxes_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    name: Mapped[str] = mapped_column(String(100))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    from_name: Mapped[str | None] = mapped_column(String(200))
    from_address: Mapped[str] = mapped_column(String(320))
    reply_to: Mapped[str | None] = mapped_column(String(320))
    daily_cap: Mapped[int] = mapped_column(Integer, default=50)
    hourly_cap: Mapped[int] = mapped_column(Integer, default=20)
    #: Smallest gap between two sends of this mailbox (0: none); humans do not send
    #: a burst of cold emails within a second, and receiving servers notice.
    min_gap_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    smtp_host: Mapped[str | None] = mapped_column(String(255))
    smtp_port: Mapped[int | None] = mapped_column(Integer)
    smtp_security: Mapped[str] = mapped_column(String(10), default="starttls")
    smtp_username: Mapped[str | None] = mapped_column(String(320))
    smtp_auth: Mapped[str] = mapped_column(String(10), default="password")
    smtp_secret: Mapped[str | None] = mapped_column(Text)
    imap_host: Mapped[str | None] = mapped_column(String(255))
    imap_port: Mapped[int | None] = mapped_column(Integer)
    imap_security: Mapped[str] = mapped_column(String(10), default="tls")
    imap_username: Mapped[str | None] = mapped_column(String(320))
    imap_auth: Mapped[str] = mapped_column(String(10), default="password")
    imap_secret: Mapped[str | None] = mapped_column(Text)
    imap_folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    #: IMAP cursor: a restart neither misses nor double-counts mail.
    # 32-bit unsigned on the wire (RFC 3501): above PostgreSQL's INTEGER range.
    imap_uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    imap_last_uid: Mapped[int | None] = mapped_column(BigInteger)
    imap_polled_at: Mapped[datetime | None] = mapped_column()
    dkim_domain: Mapped[str | None] = mapped_column(String(255))
    dkim_selector: Mapped[str | None] = mapped_column(String(100))
    dkim_key: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


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
    workspace_id: Mapped[int] = _workspace_fk()
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


class LinkedInAccountDB(Base):
    """A LinkedIn account reached through a provider's API (Unipile); the key is a Fernet
    token. Caps are per account because LinkedIn counts per member, not per tool."""

    __tablename__ = "linkedin_accounts"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_linkedin_accounts_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    name: Mapped[str] = mapped_column(String(100))
    provider: Mapped[str] = mapped_column(String(30), default="unipile")
    base_url: Mapped[str] = mapped_column(String(500))
    account_ref: Mapped[str] = mapped_column(String(200))
    api_key: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    #: ACTIVE, or PAUSED with the reason (restricted account, bad credentials).
    status: Mapped[str] = mapped_column(String(20), default="ACTIVE")
    status_reason: Mapped[str | None] = mapped_column(Text)
    invites_per_day: Mapped[int] = mapped_column(Integer, default=15)
    invites_per_week: Mapped[int] = mapped_column(Integer, default=80)
    messages_per_day: Mapped[int] = mapped_column(Integer, default=50)
    #: Replies are read from here on (the provider's message time of the last poll).
    polled_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class WorkerDB(Base):
    """A worker's heartbeat: /healthz reports how long ago each one last finished a tick."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column()
    last_tick_at: Mapped[datetime] = mapped_column()
    ticks: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    stopped_at: Mapped[datetime | None] = mapped_column()


class OperatorTaskDB(Base):
    """Work a person does for the engine: a LinkedIn touch, a form a robot must not fill.

    The attempt it belongs to stays QUEUED until the task is done (then SENT) or skipped
    (then FAILED, and the sequence falls back); the enrollment waits in state TASK.
    """

    __tablename__ = "operator_tasks"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_operator_tasks_message"),
        Index(
            "ix_operator_tasks_open",
            "workspace_id",
            "due_at",
            postgresql_where=text("status = 'OPEN'"),
            sqlite_where=text("status = 'OPEN'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    enrollment_id: Mapped[int | None] = mapped_column(
        ForeignKey("enrollments.id", ondelete="SET NULL")
    )
    message_id: Mapped[int] = mapped_column(ForeignKey("outreach_messages.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(20))
    #: connect, message, view_profile, submit_form
    kind: Mapped[str] = mapped_column(String(20))
    #: OPEN, DONE, SKIPPED, CANCELLED
    status: Mapped[str] = mapped_column(String(20), default="OPEN")
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    reason: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
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
    workspace_id: Mapped[int] = _workspace_fk()
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
    workspace_id: Mapped[int] = _workspace_fk()
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
    workspace_id: Mapped[int] = _workspace_fk()
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


class SuppressionDB(Base):
    """Never contact: an address, a whole domain, a LinkedIn profile, or an erased hash."""

    __tablename__ = "suppressions"
    __table_args__ = (
        # Invariant 2 is checked against this table before every send.
        UniqueConstraint("workspace_id", "kind", "value", name="uq_suppressions_entry"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(400))
    reason: Mapped[str] = mapped_column(String(40))
    source: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserDB(Base):
    """A person who signs in: one password (argon2), a role in each workspace they join."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Lower-cased: one account per address however it is typed.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column()


class MembershipDB(Base):
    """A user's role in one workspace; no row, no access."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "workspace_id", name="uq_memberships_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[int] = _workspace_fk()
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKeyDB(Base):
    """A key for scripts and integrations: one workspace, one role, revocable.

    The secret is kept only as a digest (``aicmo.cam.domain.access``); ``public_id``
    finds the row.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_digest: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class UserSessionDB(Base):
    """A signed-in browser: the cookie holds a random token, the row only its digest.

    Server-side rows (not a signed cookie alone) so that signing out, disabling a user or
    removing them from a workspace ends their sessions at once.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[int] = _workspace_fk()
    #: Sent back in X-CSRF-Token (or a form's csrf_token) with every change.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class LoginFailureDB(Base):
    """Failed sign-ins per address and per client address, counted per window, so that
    guessing passwords is throttled across every process serving the app."""

    __tablename__ = "login_failures"
    __table_args__ = (UniqueConstraint("subject", "window_start", name="uq_login_failures_window"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``email:<address>`` or ``ip:<address>``.
    subject: Mapped[str] = mapped_column(String(400))
    window_start: Mapped[datetime] = mapped_column()
    failures: Mapped[int] = mapped_column(Integer, default=0)


class IdempotencyKeyDB(Base):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed on a retry.

    Stripe's rule: the same key with the same body gets the first response again; the
    same key with another body is refused. Kept per workspace, pruned after a day.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("workspace_id", "key", name="uq_idempotency_keys_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    key: Mapped[str] = mapped_column(String(255))
    request_digest: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class WebhookEndpointDB(Base):
    """An HTTPS URL of a workspace that receives signed events (webhooks out).

    The signing secret is stored encrypted (invariant 5); after a rotation the previous one
    keeps being used beside the new one until ``previous_secret_until``.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_workspace_id", "workspace_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str | None] = mapped_column(String(500))
    events: Mapped[list[Any]] = mapped_column(JSONType, default=list)
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set at the first failure after a success; cleared by any 2xx.
    failing_since: Mapped[datetime | None] = mapped_column()
    last_success_at: Mapped[datetime | None] = mapped_column()
    disabled_at: Mapped[datetime | None] = mapped_column()
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookSubscriptionDB(Base):
    """One ``(event type, channel)`` pair an endpoint receives: what the outbox trigger on
    ``events`` matches (``channel`` ``'*'`` matches any). Derived from the endpoint's public
    event names by ``cam.domain.webhooks.subscriptions``."""

    __tablename__ = "webhook_subscriptions"
    __table_args__ = (
        UniqueConstraint(
            "endpoint_id", "event_type", "channel", name="uq_webhook_subscriptions_pair"
        ),
        # The trigger's lookup for every inserted event.
        Index("ix_webhook_subscriptions_match", "workspace_id", "event_type"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    event_type: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))


class WebhookDeliveryDB(Base):
    """The durable outbox: one event for one endpoint, written by a trigger in the same
    transaction as the event, so no event of a subscribed type is missed or lost.

    ``uq_webhook_deliveries_endpoint_event``: at most one delivery per (endpoint, event),
    so an event is never queued twice for one endpoint. A worker claims a due row
    (``claimed_by``/``claimed_until``, SKIP LOCKED on PostgreSQL) before it sends.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id", name="uq_webhook_deliveries_endpoint_event"),
        # The worker's scan for due deliveries: only the pending ones are indexed.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'PENDING'"),
            sqlite_where=text("status = 'PENDING'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False
    )
    #: A plain reference, like the events' own: the trail is never deleted.
    event_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="PENDING")
    #: Attempts in the current round (a replay starts a new round with a new budget).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column()
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claimed_until: Mapped[datetime | None] = mapped_column()
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()


class WebhookAttemptDB(Base):
    """The log of every delivery attempt: written when it starts, completed with the status
    code, duration and error when it ends (an attempt a dead worker left open says so)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
    )
    worker: Mapped[str | None] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(String(500))


class MetricsDailyDB(Base):
    """Counters per day, kept up to date as events land (no scan of the events table).

    ``*_key`` columns use 0 / -1 / '' for "none" so they can sit in the primary key.
    """

    __tablename__ = "metrics_daily"

    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    campaign_key: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    step_key: Mapped[int] = mapped_column(Integer, primary_key=True, default=-1)
    variant_key: Mapped[str] = mapped_column(String(40), primary_key=True, default="")
    mailbox_key: Mapped[int] = mapped_column(Integer, primary_key=True, default=0)
    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    attempted: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    sent: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    failed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    unknown: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    delivered: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    opened: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    clicked: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    replied: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    auto_replied: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    bounced_hard: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    bounced_soft: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    complained: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    unsubscribed: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: Human replies whose current category is positive (interested or meeting booked); a
    #: correction moves a reply out of or into this count.
    positive_replied: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: Human replies whose current category is meeting booked.
    meetings: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: Operator tasks done (a LinkedIn touch, a form filled by hand).
    tasks_done: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: Contact forms submitted (by the engine or by an operator's task).
    forms_submitted: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class CostRateDB(Base):
    """What sending costs: a monthly fee and/or a price per send, for a whole channel, one
    mailbox or one LinkedIn provider account (``aicmo.cam.domain.costs``).

    ``uq_cost_rates_scope``: one rate per (workspace, scope, channel, target); ``target_id``
    is 0 for a channel's rate. A mailbox's or account's rate goes with it when it is
    deleted (the foreign keys cascade). Amounts are kept to the millionth: a price per send
    is often a fraction of a cent.
    """

    __tablename__ = "cost_rates"
    __table_args__ = (
        UniqueConstraint(
            "workspace_id", "scope", "channel", "target_id", name="uq_cost_rates_scope"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = _workspace_fk()
    #: CHANNEL, MAILBOX or LINKEDIN_ACCOUNT.
    scope: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    mailbox_id: Mapped[int | None] = mapped_column(
        ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=True
    )
    linkedin_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("linkedin_accounts.id", ondelete="CASCADE"), nullable=True
    )
    monthly: Mapped[Decimal] = mapped_column(Numeric(18, 6), default=Decimal(0))
    per_action: Mapped[Decimal] = mapped_column(Numeric(18, 6), default=Decimal(0))
    #: ISO 4217 code; one currency per workspace (the service refuses a second one).
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MaintenanceRunDB(Base):
    """When a periodic housekeeping job (the retention prune) last ran: the row a worker
    claims with a conditional UPDATE, so that among all workers the job runs at most once
    per period."""

    __tablename__ = "maintenance_runs"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column()


#: Which rollup counter each event type bumps by one (the outcome counters that depend on
#: an event's channel or detail are in ``cam.domain.rollups.deltas``).
METRIC_COLUMNS: dict[str, str] = SIMPLE_COUNTERS

__all__ = [
    "DEFAULT_WORKSPACE_ID",
    "METRIC_COLUMNS",
    "ApiKeyDB",
    "Base",
    "CampaignDB",
    "ChannelConfigDB",
    "CostRateDB",
    "EnrollmentDB",
    "EventDB",
    "IdempotencyKeyDB",
    "InboundMessageDB",
    "LeadDB",
    "LeadNoteDB",
    "LeadTagDB",
    "LoginFailureDB",
    "MailboxDB",
    "MaintenanceRunDB",
    "MembershipDB",
    "MetricsDailyDB",
    "OutreachMessageDB",
    "ReplyDB",
    "SequenceConfigDB",
    "SuppressionDB",
    "UserDB",
    "UserSessionDB",
    "WebhookAttemptDB",
    "WebhookDeliveryDB",
    "WebhookEndpointDB",
    "WebhookSubscriptionDB",
    "WorkspaceDB",
]
