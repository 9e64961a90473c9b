"""Recording facts on the audit trail, and what follows from them.

Every inbound source (IMAP, webhooks) and every channel records through here, so an
engagement event always regrades its lead in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, EventDB, LeadDB, OutreachMessageDB
from aicmo.cam.domain.events import ENGAGEMENT_EVENTS, EventType, OutreachEvent
from aicmo.cam.domain.grading import GradeResult
from aicmo.errors import NotFoundError
from aicmo.operator_services.leads import regrade_lead
from aicmo.operator_services.uow import unit_of_work


@dataclass(frozen=True, slots=True)
class ReplyAttribution:
    """Where an event about an attempt is counted: the attempt (sent, or answered by a
    reply) and that attempt's campaign, step, variant and mailbox. A reply's
    REPLY_RECEIVED event and every REPLY_CATEGORIZED event of it are recorded with these
    same values, so a correction is counted in the row the reply was."""

    message_id: int | None = None
    campaign_id: int | None = None
    step_index: int | None = None
    variant: str | None = None
    mailbox_id: int | None = None

    @classmethod
    def of(cls, attempt: OutreachMessageDB | None) -> ReplyAttribution:
        if attempt is None:
            return cls()
        return cls(
            message_id=attempt.id,
            campaign_id=attempt.campaign_id,
            step_index=attempt.step_index,
            variant=attempt.variant,
            mailbox_id=attempt.mailbox_id,
        )


def add_attributed_event(
    db: Session,
    workspace_id: int,
    event: OutreachEvent,
    lead_id: int | None,
    where: ReplyAttribution,
    *,
    actor: str | None = None,
) -> EventDB:
    """Insert an event tied to its lead and counted where ``where`` says, inside the
    caller's transaction (no regrade: the caller decides when)."""
    return repo.add_event(
        db,
        workspace_id,
        event,
        lead_id=lead_id,
        campaign_id=where.campaign_id,
        message_id=where.message_id,
        actor=actor,
        step_index=where.step_index,
        variant=where.variant,
        mailbox_id=where.mailbox_id,
    )


def event_to_dict(row: EventDB) -> dict[str, Any]:
    """An event as the audit trail shows it (the raw payload stays in the database)."""
    return {
        "id": row.id,
        "type": row.type,
        "occurred_at": row.occurred_at,
        "recorded_at": row.recorded_at,
        "channel": row.channel,
        "source": row.source,
        "lead_id": row.lead_id,
        "campaign_id": row.campaign_id,
        "message_id": row.message_id,
        "step_index": row.step_index,
        "actor": row.actor,
        "recipient": row.recipient,
        "reason": row.reason,
        "detail": dict(row.detail or {}),
    }


def list_events(
    db: Session,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    lead_id: int | None = None,
    campaign_id: int | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """The audit trail, newest first; ``before_id``: the last id of the previous page.

    Raises:
        NotFoundError: ``lead_id`` or ``campaign_id`` names nothing in this workspace (an
            empty trail would not tell a quiet lead from a wrong id).
    """
    if lead_id is not None and repo.get_lead(db, workspace_id, lead_id) is None:
        raise NotFoundError(f"no lead with id {lead_id}")
    if campaign_id is not None and repo.campaign_by_id(db, workspace_id, campaign_id) is None:
        raise NotFoundError(f"no campaign with id {campaign_id}")
    rows = repo.event_page(
        db,
        workspace_id,
        lead_id=lead_id,
        campaign_id=campaign_id,
        before_id=before_id,
        limit=limit,
    )
    return [event_to_dict(r) for r in rows]


def regrade_if_lead(
    db: Session, lead: LeadDB | None, event_type: EventType, now: datetime
) -> GradeResult | None:
    """Regrade inside the caller's transaction when the event is engagement."""
    if lead is None or event_type not in ENGAGEMENT_EVENTS:
        return None
    return regrade_lead(db, lead, now=now)


def record_event(
    db: Session,
    event: OutreachEvent,
    *,
    lead_id: int | None = None,
    campaign_id: int | None = None,
    message_id: int | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    actor: str | None = None,
) -> dict[str, Any]:
    """Append an event (and its rollup); regrade the lead when it is engagement.

    Raises:
        NotFoundError: ``lead_id`` names no lead of this workspace.
    """
    with unit_of_work(db):
        lead = None
        if lead_id is not None:
            lead = repo.get_lead(db, workspace_id, lead_id)
            if lead is None:
                raise NotFoundError(f"no lead with id {lead_id}")
        row = repo.add_event(
            db,
            workspace_id,
            event,
            lead_id=lead_id,
            campaign_id=campaign_id,
            message_id=message_id,
            actor=actor,
        )
        db.flush()
        result = regrade_if_lead(db, lead, event.type, event.occurred_at)
        grade = None if result is None else {"grade": result.grade, "score": result.score}
        event_id = row.id
    return {"event_id": event_id, "type": event.type.value, "lead_id": lead_id, "regraded": grade}


def record_config_change(
    db: Session,
    workspace_id: int,
    detail: dict[str, Any],
    *,
    now: datetime,
    actor: str | None = None,
) -> None:
    """A change to how the workspace sends (a mailbox, its secret, a channel's limits),
    inside the caller's transaction: the audit trail says who changed what, never a
    secret's value."""
    repo.add_event(
        db,
        workspace_id,
        OutreachEvent(type=EventType.CHANNEL_CONFIG_CHANGED, occurred_at=now, detail=detail),
        actor=actor,
    )


def attempt_event(
    db: Session,
    row: OutreachMessageDB,
    type_: EventType,
    now: datetime,
    reason: str | None = None,
    *,
    source: str | None = None,
) -> None:
    """An event about one attempt (attempted, sent, failed, unknown…), inside the
    caller's transaction, tied to its lead, campaign, step and mailbox."""
    add_attributed_event(
        db,
        row.workspace_id,
        OutreachEvent(
            type=type_,
            occurred_at=now,
            channel=row.channel,
            source=source or row.transport or "aicmo",
            recipient=row.recipient,
            reason=reason,
        ),
        row.lead_id,
        ReplyAttribution.of(row),
    )
