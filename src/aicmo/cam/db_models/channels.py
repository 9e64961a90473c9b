"""How the engine may reach people: per-channel switches and limits, the sender mailboxes
and the LinkedIn accounts. Their secrets are Fernet tokens, never plain text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aicmo.cam.db_models.base import Base, utcnow, workspace_fk
from aicmo.db.types import JSONType


class ChannelConfigDB(Base):
    """Per-channel switches and limits of a workspace."""

    __tablename__ = "channel_configs"
    __table_args__ = (
        UniqueConstraint("workspace_id", "channel", name="uq_channel_configs_channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
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
    workspace_id: Mapped[int] = workspace_fk()
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


class LinkedInAccountDB(Base):
    """A LinkedIn account reached through a provider's API (Unipile); the key is a Fernet
    token. Caps are per account because LinkedIn counts per member, not per tool."""

    __tablename__ = "linkedin_accounts"
    __table_args__ = (UniqueConstraint("workspace_id", "name", name="uq_linkedin_accounts_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
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
