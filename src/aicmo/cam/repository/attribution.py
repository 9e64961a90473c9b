"""What the attribution report reads: leads in keyset chunks, each chunk's outcome events
and touches, and the period's sends per cost scope.

Nothing here reads a whole table into memory: the report walks the workspace's leads by
primary key, a chunk at a time, and asks for that chunk's rows only; the sends are
counted by the database (GROUP BY), not fetched.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import CampaignDB, EnrollmentDB, EventDB, LeadDB, OutreachMessageDB
from aicmo.cam.domain.messages import SENT_STATUSES, MessageStatus

#: Attempts that reached the lead: sent, whatever happened next, except a bounce (the
#: message never arrived).
TOUCH_STATUSES = sorted(s.value for s in SENT_STATUSES - {MessageStatus.BOUNCED})
#: Attempts that left through a transport, bounced or not: what a price per send is paid for.
SEND_STATUSES = sorted(s.value for s in SENT_STATUSES)


def lead_chunk(
    db: Session, workspace_id: int, *, after_id: int, limit: int
) -> Sequence[Row[int, str, Decimal | None]]:
    """(id, stage, deal_value) of the next ``limit`` leads after ``after_id``, by id
    (pk_leads range, the workspace filtered on the way): one keyset page."""
    return db.execute(
        select(LeadDB.id, LeadDB.stage, LeadDB.deal_value)
        .where(LeadDB.workspace_id == workspace_id, LeadDB.id > after_id)
        .order_by(LeadDB.id)
        .limit(limit)
    ).all()


def lead_outcome_events(
    db: Session, workspace_id: int, lead_ids: Sequence[int], types: Sequence[str]
) -> Sequence[Row[int, int | None, str, datetime, dict[str, Any]]]:
    """(id, lead_id, type, occurred_at, detail) of these leads' events of ``types``, by
    lead then id (ix_events_workspace_lead_type: one probe per lead and type)."""
    if not lead_ids:
        return []
    return db.execute(
        select(EventDB.id, EventDB.lead_id, EventDB.type, EventDB.occurred_at, EventDB.detail)
        .where(
            EventDB.workspace_id == workspace_id,
            EventDB.lead_id.in_(list(lead_ids)),
            EventDB.type.in_(list(types)),
        )
        .order_by(EventDB.lead_id, EventDB.id)
    ).all()


def lead_touches(
    db: Session, workspace_id: int, lead_ids: Sequence[int], *, since: datetime, until: datetime
) -> Sequence[Row[int | None, int | None, int | None, str, str | None, datetime | None]]:
    """(lead_id, campaign_id, step_index, channel, variant, sent_at) of these leads'
    attempts that reached them between ``since`` and ``until`` (both included), oldest
    first per lead (ix_outreach_messages_lead: the lead's attempts created up to
    ``until``, as nothing is sent before it is created; the enrollment, for the variant,
    by primary key).

    A task a person did is here too: completing it marks its attempt SENT at that time.
    """
    if not lead_ids:
        return []
    msg, enr = OutreachMessageDB, EnrollmentDB
    return db.execute(
        select(msg.lead_id, msg.campaign_id, msg.step_index, msg.channel, enr.variant, msg.sent_at)
        .outerjoin(enr, enr.id == msg.enrollment_id)
        .where(
            msg.workspace_id == workspace_id,
            msg.lead_id.in_(list(lead_ids)),
            msg.created_at <= until,
            msg.status.in_(TOUCH_STATUSES),
            msg.sent_at >= since,
            msg.sent_at <= until,
        )
        .order_by(msg.lead_id, msg.sent_at, msg.id)
    ).all()


def send_counts(
    db: Session, workspace_id: int, *, start: datetime, end: datetime
) -> Sequence[Row[int | None, int | None, str, str | None, int | None, int | None, int]]:
    """(campaign_id, step_index, channel, variant, mailbox_id, linkedin_account_id, sends)
    of the attempts sent in [start, end) (ix_outreach_messages_status_sent: one range of
    sent_at per sent status; the enrollment, for the variant, by primary key). Counted by
    the database: one row per group, never one per send."""
    msg, enr = OutreachMessageDB, EnrollmentDB
    keys = (
        msg.campaign_id,
        msg.step_index,
        msg.channel,
        enr.variant,
        msg.mailbox_id,
        msg.linkedin_account_id,
    )
    return db.execute(
        select(*keys, func.count())
        .outerjoin(enr, enr.id == msg.enrollment_id)
        .where(
            msg.status.in_(SEND_STATUSES),
            msg.sent_at >= start,
            msg.sent_at < end,
            msg.workspace_id == workspace_id,
        )
        .group_by(*keys)
    ).all()


def campaign_id_by_name(db: Session, workspace_id: int, name: str) -> int | None:
    """The id of the campaign with this name (uq_campaigns_name)."""
    return db.scalar(
        select(CampaignDB.id).where(
            CampaignDB.workspace_id == workspace_id, CampaignDB.name == name
        )
    )


def campaign_names(db: Session, workspace_id: int, ids: Iterable[int]) -> dict[int, str]:
    """Names of the workspace's campaigns by id (primary key)."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = db.execute(
        select(CampaignDB.id, CampaignDB.name).where(
            CampaignDB.workspace_id == workspace_id, CampaignDB.id.in_(wanted)
        )
    )
    return {int(i): str(n) for i, n in rows}
