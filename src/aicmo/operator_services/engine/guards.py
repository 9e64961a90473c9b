"""The checks an enrollment passes before its step is sent: stopped, outside its sending
window, its lead touched too recently.

Each rule is defined once, in the pure :mod:`aicmo.cam.domain.attempts`; this module
fetches the facts it needs for one enrollment (the one-by-one path) or for a whole
claimed batch in a query each (the batched planner), and asks it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import CampaignDB, EnrollmentDB, EventDB, OutreachMessageDB
from aicmo.cam.domain.attempts import STOP_EVENTS, TouchLimit, has_sending_window, stop_reason
from aicmo.cam.domain.window import WorkCalendar
from aicmo.db import bulk
from aicmo.operator_services.channels import get_channel_config
from aicmo.operator_services.channels.limits import COUNTED, lead_touches
from aicmo.operator_services.engine.progress import lead_timezone, sending_calendar, why_stopped

# ---------------------------------------------------------------- one enrollment at a time


def enrollment_stop_reason(db: Session, enrollment: EnrollmentDB) -> str | None:
    """Why this enrollment must not go on (see :func:`why_stopped`), or None."""
    lead = repo.get_lead(db, enrollment.workspace_id, enrollment.lead_id)
    return why_stopped(db, lead, enrollment.created_at)


def enrollment_calendar(
    db: Session, campaign: CampaignDB, enrollment: EnrollmentDB
) -> WorkCalendar | None:
    """The campaign's sending window in this lead's time zone; None: any hour."""
    return sending_calendar(campaign, lead_timezone(db, enrollment))


def lead_touch_slot(
    db: Session, enrollment: EnrollmentDB, channel: str, now: datetime
) -> datetime | None:
    """When this lead may be touched again, or None if now is fine.

    Per the channel's config: at most ``per_lead_limit`` touches of one lead (any channel,
    any campaign) per ``per_lead_period_hours``, and ``min_gap_hours`` between two touches.
    """
    limit = TouchLimit.of(get_channel_config(db, channel, workspace_id=enrollment.workspace_id))
    touches = lead_touches(db, enrollment.workspace_id, enrollment.lead_id, limit.since(now))
    return limit.next_slot(touches, now)


# ------------------------------------------------------------------- a batch at a time


def sends_any_hour(campaign: CampaignDB) -> bool:
    """Whether the campaign has no sending window (the planner leaves the others to the
    one-by-one path, which reads each lead's time zone)."""
    return not has_sending_window(campaign.settings)


def last_stop_events(
    db: Session, workspace_id: int, lead_ids: Iterable[int]
) -> dict[int, datetime]:
    """The latest stop event of each lead that has one (one query for a batch)."""
    dialect = db.get_bind().dialect
    stopped: dict[int, datetime] = {}
    # ix_events_workspace_lead_type
    for lead_id, at in db.execute(
        select(EventDB.lead_id, func.max(EventDB.occurred_at))
        .where(
            EventDB.workspace_id == workspace_id,
            bulk.among(EventDB.lead_id, lead_ids, dialect),
            EventDB.type.in_(STOP_EVENTS),
        )
        .group_by(EventDB.lead_id)
    ):
        stopped[int(lead_id or 0)] = at
    return stopped


def batch_stop_reason(stage: str | None, last_stop: datetime | None, since: datetime) -> str | None:
    """:func:`enrollment_stop_reason` from a batch's facts: the lead's stage (None: gone)
    and its latest stop event (:func:`last_stop_events`)."""
    return stop_reason(stage, _stopped_since(last_stop, since))


def _stopped_since(last_stop: datetime | None, since: datetime) -> Callable[[], str | None]:
    return lambda: "a stop event" if last_stop is not None and last_stop >= since else None


def recent_touches(
    db: Session, workspace_id: int, lead_ids: Iterable[int], limit: TouchLimit, now: datetime
) -> dict[int, list[datetime]]:
    """Each lead's touches that :meth:`TouchLimit.next_slot` weighs (one query for a
    batch)."""
    dialect = db.get_bind().dialect
    touches: dict[int, list[datetime]] = defaultdict(list)
    # ix_outreach_messages_lead
    for lead_id, at in db.execute(
        select(OutreachMessageDB.lead_id, OutreachMessageDB.created_at).where(
            OutreachMessageDB.workspace_id == workspace_id,
            bulk.among(OutreachMessageDB.lead_id, lead_ids, dialect),
            OutreachMessageDB.status.in_(COUNTED),
            OutreachMessageDB.created_at > limit.since(now),
        )
    ):
        touches[int(lead_id or 0)].append(at)
    return touches
