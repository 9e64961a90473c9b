"""The audit trail (events): inserted, never rewritten, except that erasure blanks the
personal columns (a trigger allows only those to change)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ScalarResult, func, or_, select, update
from sqlalchemy.orm import Session

from aicmo.cam.db_models import EventDB, WorkspaceDB
from aicmo.cam.domain import rollups
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.grading import Engagement
from aicmo.cam.domain.reply_categories import ReplyCategory
from aicmo.cam.repository.common import rowcount
from aicmo.cam.repository.metrics import bump_metric
from aicmo.cam.repository.replies import reply_category_counts


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
    """Insert one event and bump its daily counters in the same transaction (the changes
    :func:`aicmo.cam.domain.rollups.deltas` gives, the same ones a rebuild recomputes)."""
    detail = dict(event.detail)
    if variant:
        # Kept in the detail too: the webhooks' payloads and older readers look there.
        detail["variant"] = variant
    row = EventDB(
        workspace_id=workspace_id,
        type=event.type.value,
        occurred_at=event.occurred_at,
        channel=str(event.channel) if event.channel else None,
        source=event.source,
        lead_id=lead_id,
        campaign_id=campaign_id,
        message_id=message_id,
        actor=actor,
        step_index=step_index,
        variant=variant,
        mailbox_id=mailbox_id,
        recipient=event.recipient,
        reason=event.reason,
        detail=detail,
        raw=event.raw,
    )
    db.add(row)
    channel = str(event.channel) if event.channel else None
    for column, by in rollups.deltas(event.type.value, channel, event.detail):
        assert channel is not None
        bump_metric(
            db,
            workspace_id=workspace_id,
            day=rollups.day_of(event.occurred_at),
            channel=channel,
            column=column,
            campaign_id=campaign_id,
            step_index=step_index,
            variant=variant,
            mailbox_id=mailbox_id,
            by=by,
        )
    return row


def engagement_for(
    db: Session, workspace_id: int, lead_ids: Sequence[int]
) -> dict[int, Engagement]:
    """Engagement counts per lead (ix_events_workspace_lead_type), with their replies by
    current category (ix_replies_workspace_lead)."""
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
    for lead_id, by_category in reply_category_counts(db, workspace_id, lead_ids).items():
        c = counts.setdefault(lead_id, {})
        for category, field in _CATEGORY_FIELDS.items():
            if by_category.get(category):
                c[field] = c.get(field, 0) + by_category[category]
    return {lead_id: Engagement(**c) for lead_id, c in counts.items()}


#: Reply categories that count in grading, and the Engagement field each one fills.
_CATEGORY_FIELDS = {
    ReplyCategory.INTERESTED.value: "interested",
    ReplyCategory.MEETING_BOOKED.value: "meetings_booked",
    ReplyCategory.NOT_INTERESTED.value: "not_interested",
    ReplyCategory.WRONG_PERSON.value: "wrong_person",
    ReplyCategory.UNSUBSCRIBE.value: "unsubscribed",
}


def first_event_type_since(
    db: Session, workspace_id: int, lead_id: int, types: Sequence[str], since: datetime
) -> str | None:
    """The type of one of ``types`` that happened to the lead since ``since``, or None
    (ix_events_workspace_lead_type, or ix_events_workspace_occurred for a recent
    ``since`` where the planner has no statistics; stops at the first)."""
    return db.scalar(
        select(EventDB.type)
        .where(
            EventDB.workspace_id == workspace_id,
            EventDB.lead_id == lead_id,
            EventDB.type.in_(types),
            EventDB.occurred_at >= since,
        )
        .limit(1)
    )


def count_recent_events(db: Session, type_: str, since: datetime) -> int:
    """Events of one type since ``since``, every workspace: one range of
    ix_events_workspace_occurred per workspace (the IN list keeps the index usable; there
    is no index on type alone), then the type filtered on the few recent rows."""
    stmt = (
        select(func.count())
        .select_from(EventDB)
        .where(
            EventDB.workspace_id.in_(select(WorkspaceDB.id)),
            EventDB.occurred_at >= since,
            EventDB.type == type_,
        )
    )
    return int(db.scalar(stmt) or 0)


def count_lead_events(db: Session, workspace_id: int, lead_id: int, type_: str) -> int:
    """How many events of one type the lead has (ix_events_workspace_lead_type, index-only)."""
    stmt = (
        select(func.count())
        .select_from(EventDB)
        .where(
            EventDB.workspace_id == workspace_id,
            EventDB.lead_id == lead_id,
            EventDB.type == type_,
        )
    )
    return int(db.scalar(stmt) or 0)


def lead_events(db: Session, workspace_id: int, lead_id: int) -> ScalarResult[EventDB]:
    """Every event of one lead, oldest first (ix_events_workspace_lead_type)."""
    return db.scalars(
        select(EventDB)
        .where(EventDB.workspace_id == workspace_id, EventDB.lead_id == lead_id)
        .order_by(EventDB.id)
    )


def blank_personal_events(
    db: Session, workspace_id: int, *, lead_id: int, email: str | None, email_key: str | None
) -> int:
    """Erasure: blank who each event of the person happened to; how many rows.

    Matches the lead's id, or (with an email key) the recipient as written or as its
    key. The OR of the recipient columns has no index: a scan of the workspace's events
    (ix_events_workspace_occurred prefix), once per erasure, then one update by primary
    key for each event that keeps the part of its detail the rollups read
    (``rollups.rollup_detail``: a reply's category). Events keep what happened; the
    trigger allows only these personal columns to change.
    """
    personal = [EventDB.lead_id == lead_id]
    if email_key:
        personal.append(EventDB.recipient == email)
        personal.append(EventDB.recipient == email_key)
    mine = (EventDB.workspace_id == workspace_id, or_(*personal))
    keeping = [t.value for t in EventType if rollups.keeps_detail(t.value)]
    # The few events whose detail the rollups read (a reply's category) keep that part,
    # so a rebuild after the erasure counts what the incremental path counted.
    kept = db.execute(
        select(EventDB.id, EventDB.type, EventDB.detail).where(*mine, EventDB.type.in_(keeping))
    ).all()
    blanked = rowcount(
        db.execute(
            update(EventDB)
            .where(*mine, EventDB.type.not_in(keeping))
            .values(recipient=None, reason=None, detail={}, raw=None)
        )
    )
    for event_id, type_, detail in kept:
        db.execute(
            update(EventDB)
            .where(EventDB.id == event_id)
            .values(
                recipient=None, reason=None, detail=rollups.rollup_detail(type_, detail), raw=None
            )
        )
    return blanked + len(kept)


def event_page(
    db: Session,
    workspace_id: int,
    *,
    lead_id: int | None,
    campaign_id: int | None,
    before_id: int | None,
    limit: int,
) -> list[EventDB]:
    """Events newest first, of one lead (ix_events_workspace_lead_type) or one campaign
    (the workspace's events walked back by id: recent pages are cheap, which is what the
    audit trail is read for)."""
    stmt = select(EventDB).where(EventDB.workspace_id == workspace_id)
    if lead_id is not None:
        stmt = stmt.where(EventDB.lead_id == lead_id)
    if campaign_id is not None:
        stmt = stmt.where(EventDB.campaign_id == campaign_id)
    if before_id is not None:
        stmt = stmt.where(EventDB.id < before_id)
    return list(db.scalars(stmt.order_by(EventDB.id.desc()).limit(limit)))


def workspace_events_since(
    db: Session, workspace_id: int, types: Sequence[str], since: datetime
) -> list[EventDB]:
    """The workspace's events of these types since ``since``, oldest first (a range of
    ix_events_workspace_occurred, the types filtered on its few recent rows)."""
    return list(
        db.scalars(
            select(EventDB)
            .where(
                EventDB.workspace_id == workspace_id,
                EventDB.occurred_at >= since,
                EventDB.type.in_(types),
            )
            .order_by(EventDB.occurred_at, EventDB.id)
        )
    )
