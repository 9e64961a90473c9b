"""The audit trail (events): inserted, never rewritten, except that erasure blanks the
personal columns (a trigger allows only those to change)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import METRIC_COLUMNS, EventDB
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.grading import Engagement
from aicmo.cam.repository.metrics import bump_metric


def add_event(
    db: Session,
    workspace_id: int,
    event: OutreachEvent,
    *,
    lead_id: int | None = None,
    campaign_id: int | None = None,
    message_id: int | None = None,
    actor: str | None = None,
    step_index: int | None = None,
    variant: str | None = None,
    mailbox_id: int | None = None,
) -> EventDB:
    """Insert one event and bump its daily counter in the same transaction."""
    row = EventDB(
        workspace_id=workspace_id,
        type=event.type.value,
        occurred_at=event.occurred_at,
        channel=event.channel.value if event.channel else None,
        source=event.source,
        lead_id=lead_id,
        campaign_id=campaign_id,
        message_id=message_id,
        actor=actor,
        recipient=event.recipient,
        reason=event.reason,
        detail=dict(event.detail),
        raw=event.raw,
    )
    db.add(row)
    column = METRIC_COLUMNS.get(event.type.value)
    if column is not None and event.channel is not None:
        bump_metric(
            db,
            workspace_id=workspace_id,
            day=event.occurred_at.date(),
            channel=event.channel.value,
            column=column,
            campaign_id=campaign_id,
            step_index=step_index,
            variant=variant,
            mailbox_id=mailbox_id,
        )
    return row


def engagement_for(
    db: Session, workspace_id: int, lead_ids: Sequence[int]
) -> dict[int, Engagement]:
    """Engagement counts per lead (ix_events_workspace_lead_type)."""
    if not lead_ids:
        return {}
    wanted = {
        EventType.REPLY_RECEIVED.value: "replied",
        EventType.MESSAGE_CLICKED.value: "clicked",
        EventType.MESSAGE_OPENED.value: "opened",
        EventType.BOUNCED_SOFT.value: "soft_bounces",
        EventType.BOUNCED_HARD.value: "hard_bounces",
        EventType.COMPLAINED.value: "complained",
        EventType.UNSUBSCRIBED.value: "unsubscribed",
    }
    stmt = (
        select(EventDB.lead_id, EventDB.type, func.count())
        .where(
            EventDB.workspace_id == workspace_id,
            EventDB.lead_id.in_(lead_ids),
            EventDB.type.in_(list(wanted)),
        )
        .group_by(EventDB.lead_id, EventDB.type)
    )
    counts: dict[int, dict[str, int]] = {}
    for lead_id, type_, n in db.execute(stmt):
        if lead_id is not None:
            counts.setdefault(int(lead_id), {})[wanted[type_]] = int(n)
    return {lead_id: Engagement(**c) for lead_id, c in counts.items()}
