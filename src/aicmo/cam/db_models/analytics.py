"""What outreach achieved and what it cost: the daily rollup counters, kept up to date as
events land, and the cost rates the reports price sends with.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, Numeric, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from aicmo.cam.db_models.base import Base, utcnow, workspace_fk
from aicmo.cam.domain.rollups import SIMPLE_COUNTERS


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
    workspace_id: Mapped[int] = workspace_fk()
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


#: Which rollup counter each event type bumps by one (the outcome counters that depend on
#: an event's channel or detail are in ``cam.domain.rollups.deltas``).
METRIC_COLUMNS: dict[str, str] = SIMPLE_COUNTERS
