"""Webhooks out: the endpoints, what each subscribes to, the durable outbox of deliveries
and the log of every attempt. A table group of its own because only the webhook worker
and its settings touch it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aicmo.cam.db_models.base import Base, partial_index, utcnow, workspace_fk
from aicmo.db.types import JSONType


class WebhookEndpointDB(Base):
    """An HTTPS URL of a workspace that receives signed events (webhooks out).

    The signing secret is stored encrypted (invariant 5); after a rotation the previous one
    keeps being used beside the new one until ``previous_secret_until``.
    """

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_workspace_id", "workspace_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
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
    workspace_id: Mapped[int] = workspace_fk()
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
        partial_index("ix_webhook_deliveries_due", "next_attempt_at", where="status = 'PENDING'"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
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
    workspace_id: Mapped[int] = workspace_fk()
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
