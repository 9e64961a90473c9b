"""Webhooks out: endpoints, their subscriptions, the delivery outbox and the attempt log.

The outbox rows are inserted by the ``events_webhook_outbox`` trigger (migration 0007), in
the transaction of the event; these statements read them, claim them and record what
each attempt did.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from aicmo.cam.db_models import (
    EventDB,
    LeadDB,
    WebhookAttemptDB,
    WebhookDeliveryDB,
    WebhookEndpointDB,
    WebhookSubscriptionDB,
    WorkspaceDB,
)
from aicmo.cam.repository.common import claim_due_rows, rowcount

#: The lead's fields a delivery carries (``data.lead``).
LEAD_FIELDS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "company",
    "title",
    "linkedin_url",
    "website",
    "stage",
)

# A literal, not a bound parameter: only then can the planner use the partial index
# ix_webhook_deliveries_due (WHERE status = 'PENDING').
_PENDING = text("webhook_deliveries.status = 'PENDING'")


def workspace_endpoints(db: Session, workspace_id: int) -> list[WebhookEndpointDB]:
    """The workspace's endpoints, oldest first (ix_webhook_endpoints_workspace_id)."""
    return list(
        db.scalars(
            select(WebhookEndpointDB)
            .where(WebhookEndpointDB.workspace_id == workspace_id)
            .order_by(WebhookEndpointDB.id)
        )
    )


def workspace_endpoint(
    db: Session, workspace_id: int, endpoint_id: int
) -> WebhookEndpointDB | None:
    """One endpoint, only if it belongs to the workspace (primary key + workspace check)."""
    return db.scalar(
        select(WebhookEndpointDB).where(
            WebhookEndpointDB.id == endpoint_id, WebhookEndpointDB.workspace_id == workspace_id
        )
    )


def replace_subscriptions(
    db: Session, endpoint: WebhookEndpointDB, pairs: Sequence[tuple[str, str]]
) -> None:
    """The ``(event type, channel)`` pairs the outbox trigger matches for this endpoint."""
    db.execute(
        delete(WebhookSubscriptionDB).where(WebhookSubscriptionDB.endpoint_id == endpoint.id)
    )
    if pairs:
        db.execute(
            insert(WebhookSubscriptionDB),
            [
                {
                    "workspace_id": endpoint.workspace_id,
                    "endpoint_id": endpoint.id,
                    "event_type": event_type,
                    "channel": channel,
                }
                for event_type, channel in pairs
            ],
        )


def any_due_delivery(db: Session, *, now: datetime) -> bool:
    """Whether a delivery is due (ix_webhook_deliveries_due; stops at the first row): read
    before the claim so that an idle tick takes no write lock."""
    return (
        db.scalar(
            select(WebhookDeliveryDB.id)
            .where(_PENDING, WebhookDeliveryDB.next_attempt_at <= now)
            .limit(1)
        )
        is not None
    )


def claim_due_deliveries(
    db: Session, *, now: datetime, worker: str, batch: int, lease: timedelta
) -> list[int]:
    """Claim up to ``batch`` due deliveries of enabled endpoints for ``worker`` (see
    claim_due_rows), counting the attempt; their ids.

    ix_webhook_deliveries_due (partial, pending only).
    """
    due = (
        select(WebhookDeliveryDB.id)
        .join(WebhookEndpointDB, WebhookEndpointDB.id == WebhookDeliveryDB.endpoint_id)
        .where(
            _PENDING,
            WebhookDeliveryDB.next_attempt_at <= now,
            WebhookEndpointDB.disabled_at.is_(None),
        )
    )
    return claim_due_rows(
        db,
        WebhookDeliveryDB,
        due,
        order=WebhookDeliveryDB.next_attempt_at,
        now=now,
        worker=worker,
        batch=batch,
        lease=lease,
        also={"attempts": WebhookDeliveryDB.attempts + 1},
    )


def close_interrupted_attempts(
    db: Session, delivery_ids: Sequence[int], *, now: datetime, error: str
) -> int:
    """Finish the attempts a dead worker left open on these (just re-claimed) deliveries
    (ix_webhook_attempts_delivery_id); how many."""
    if not delivery_ids:
        return 0
    return rowcount(
        db.execute(
            update(WebhookAttemptDB)
            .where(
                WebhookAttemptDB.delivery_id.in_(delivery_ids),
                WebhookAttemptDB.finished_at.is_(None),
            )
            .values(finished_at=now, error=error)
        )
    )


def start_attempts(
    db: Session, deliveries: Sequence[WebhookDeliveryDB], *, now: datetime, worker: str
) -> dict[int, int]:
    """One open attempt row per delivery, before anything is sent; delivery id → attempt id."""
    started: dict[int, int] = {}
    for delivery in deliveries:
        row = WebhookAttemptDB(
            workspace_id=delivery.workspace_id,
            delivery_id=delivery.id,
            worker=worker,
            started_at=now,
        )
        db.add(row)
        db.flush()
        started[delivery.id] = row.id
    return started


def claimed_deliveries(
    db: Session, delivery_ids: Sequence[int]
) -> list[tuple[WebhookDeliveryDB, WebhookEndpointDB, EventDB, WorkspaceDB]]:
    """The claimed deliveries with their endpoint, event and workspace (primary keys)."""
    if not delivery_ids:
        return []
    stmt = (
        select(WebhookDeliveryDB, WebhookEndpointDB, EventDB, WorkspaceDB)
        .join(WebhookEndpointDB, WebhookEndpointDB.id == WebhookDeliveryDB.endpoint_id)
        .join(EventDB, EventDB.id == WebhookDeliveryDB.event_id)
        .join(WorkspaceDB, WorkspaceDB.id == WebhookDeliveryDB.workspace_id)
        .where(WebhookDeliveryDB.id.in_(delivery_ids))
        .order_by(WebhookDeliveryDB.next_attempt_at)
    )
    return [(d, e, ev, w) for d, e, ev, w in db.execute(stmt).all()]


def lead_summaries(db: Session, lead_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The fields a delivery carries of each lead that still exists (primary key)."""
    if not lead_ids:
        return {}
    columns = [getattr(LeadDB, name) for name in LEAD_FIELDS]
    rows = db.execute(select(*columns).where(LeadDB.id.in_(sorted(set(lead_ids)))))
    return {row.id: dict(zip(LEAD_FIELDS, row, strict=True)) for row in rows}


def delivery_for_update(db: Session, delivery_id: int) -> WebhookDeliveryDB | None:
    return db.get(WebhookDeliveryDB, delivery_id)


def attempt_row(db: Session, attempt_id: int) -> WebhookAttemptDB | None:
    return db.get(WebhookAttemptDB, attempt_id)


def skip_pending_deliveries(db: Session, endpoint_id: int, *, reason: str) -> int:
    """A disabled endpoint's pending deliveries become SKIPPED (replayable); how many."""
    return rowcount(
        db.execute(
            update(WebhookDeliveryDB)
            .where(WebhookDeliveryDB.endpoint_id == endpoint_id, _PENDING)
            .values(status="SKIPPED", last_error=reason, claimed_by=None, claimed_until=None)
        )
    )


def endpoint_deliveries(
    db: Session,
    workspace_id: int,
    endpoint_id: int,
    *,
    limit: int,
    before_id: int | None = None,
    status: str | None = None,
) -> list[tuple[WebhookDeliveryDB, EventDB]]:
    """An endpoint's deliveries, newest first, with their events (uq_webhook_deliveries_
    endpoint_event's endpoint_id prefix; keyset on the id)."""
    stmt = (
        select(WebhookDeliveryDB, EventDB)
        .join(EventDB, EventDB.id == WebhookDeliveryDB.event_id)
        .where(
            WebhookDeliveryDB.workspace_id == workspace_id,
            WebhookDeliveryDB.endpoint_id == endpoint_id,
        )
        .order_by(WebhookDeliveryDB.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(WebhookDeliveryDB.id < before_id)
    if status is not None:
        stmt = stmt.where(WebhookDeliveryDB.status == status)
    return [(d, e) for d, e in db.execute(stmt).all()]


def endpoint_delivery(
    db: Session, workspace_id: int, endpoint_id: int, delivery_id: int
) -> WebhookDeliveryDB | None:
    """One delivery, only if it is the endpoint's and the workspace's."""
    return db.scalar(
        select(WebhookDeliveryDB).where(
            WebhookDeliveryDB.id == delivery_id,
            WebhookDeliveryDB.endpoint_id == endpoint_id,
            WebhookDeliveryDB.workspace_id == workspace_id,
        )
    )


def delivery_attempts(
    db: Session, delivery_ids: Sequence[int]
) -> dict[int, list[WebhookAttemptDB]]:
    """Each delivery's attempt log, oldest first (ix_webhook_attempts_delivery_id)."""
    if not delivery_ids:
        return {}
    out: dict[int, list[WebhookAttemptDB]] = {i: [] for i in delivery_ids}
    for row in db.scalars(
        select(WebhookAttemptDB)
        .where(WebhookAttemptDB.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttemptDB.id)
    ):
        out[row.delivery_id].append(row)
    return out


def delivery_counts(db: Session, endpoint_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Deliveries per endpoint and status (uq_webhook_deliveries_endpoint_event prefix)."""
    if not endpoint_ids:
        return {}
    stmt = (
        select(WebhookDeliveryDB.endpoint_id, WebhookDeliveryDB.status, func.count())
        .where(WebhookDeliveryDB.endpoint_id.in_(endpoint_ids))
        .group_by(WebhookDeliveryDB.endpoint_id, WebhookDeliveryDB.status)
    )
    out: dict[int, dict[str, int]] = {int(i): {} for i in endpoint_ids}
    for endpoint_id, status, n in db.execute(stmt):
        out[int(endpoint_id)][str(status)] = int(n)
    return out
