"""Campaign activity for the report and digest tests, written the way the engine writes it:
events through ``repo.add_event`` (which bumps the daily rollups in the same transaction)
and the reply-category counters through ``repo.bump_metric``.

The figures are chosen so every total, rate and per-day number is distinct: a report that
sums the wrong rows, mixes campaigns or workspaces, or drops a day shows a wrong number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.operator_services import campaigns as campaign_service

T = EventType
#: What happens per (day offset, step, channel): event type → how many.
ACTIVITY: dict[tuple[int, int, str], dict[EventType, int]] = {
    (0, 0, "EMAIL"): {T.MESSAGE_SENT: 40, T.MESSAGE_DELIVERED: 36, T.REPLY_RECEIVED: 4},
    (0, 1, "LINKEDIN"): {T.MESSAGE_SENT: 10, T.REPLY_RECEIVED: 3},
    (1, 0, "EMAIL"): {
        T.MESSAGE_SENT: 20,
        T.MESSAGE_DELIVERED: 17,
        T.REPLY_RECEIVED: 2,
        T.BOUNCED_HARD: 2,
        T.BOUNCED_SOFT: 1,
    },
    (1, 1, "LINKEDIN"): {T.MESSAGE_SENT: 5, T.REPLY_RECEIVED: 1},
    (3, 2, "EMAIL"): {
        T.MESSAGE_SENT: 8,
        T.MESSAGE_DELIVERED: 7,
        T.COMPLAINED: 1,
        T.UNSUBSCRIBED: 2,
    },
}
#: Counters bumped directly (the reply categories'): (day offset, step, channel) → counts.
CATEGORIES: dict[tuple[int, int, str], dict[str, int]] = {
    (0, 0, "EMAIL"): {"positive_replied": 2, "meetings": 1},
    (0, 1, "LINKEDIN"): {"positive_replied": 1},
    (1, 0, "EMAIL"): {"positive_replied": 1, "meetings": 1},
}
STEPS: list[dict[str, Any]] = [
    {"channel": "EMAIL", "template": {"subject": "Quick question", "body": "Hello"}},
    {"channel": "LINKEDIN", "template": {"body": "Hi on LinkedIn"}},
    {"channel": "EMAIL", "template": {"subject": "Last note", "body": "Bye"}},
]


@dataclass(frozen=True)
class Seeded:
    campaign_id: int
    other_campaign_id: int
    first_day: date
    last_day: date


def _events(
    db: Session,
    workspace_id: int,
    campaign_id: int,
    day: date,
    step: int,
    channel: str,
    counts: dict[EventType, int],
) -> None:
    at = datetime.combine(day, time(10), tzinfo=UTC)
    for type_, n in counts.items():
        for i in range(n):
            repo.add_event(
                db,
                workspace_id,
                OutreachEvent(type=type_, occurred_at=at + timedelta(seconds=i), channel=channel),
                campaign_id=campaign_id,
                step_index=step,
            )


def seed_activity(
    db: Session,
    first_day: date,
    *,
    name: str = "Spring outreach",
    steps: list[dict[str, Any]] | None = None,
    workspace_id: int = 1,
) -> Seeded:
    """The campaign's :data:`ACTIVITY` from ``first_day`` on (days 0, 1 and 3), plus noise
    that no report of it may count: another campaign the same days, and this campaign the
    day before ``first_day`` and the day after the last activity."""
    campaign = campaign_service.create_campaign(
        db, name, steps=steps or STEPS, workspace_id=workspace_id
    )
    other = campaign_service.create_campaign(
        db, f"{name} (other)", steps=STEPS, workspace_id=workspace_id
    )
    for (offset, step, channel), counts in ACTIVITY.items():
        day = first_day + timedelta(days=offset)
        _events(db, workspace_id, campaign["id"], day, step, channel, counts)
        _events(db, workspace_id, other["id"], day, step, channel, {T.MESSAGE_SENT: 3})
    for (offset, step, channel), bumps in CATEGORIES.items():
        for column, n in bumps.items():
            repo.bump_metric(
                db,
                workspace_id=workspace_id,
                day=first_day + timedelta(days=offset),
                channel=channel,
                column=column,
                campaign_id=campaign["id"],
                step_index=step,
                variant=None,
                mailbox_id=None,
                by=n,
            )
    last_day = first_day + timedelta(days=3)
    for outside in (first_day - timedelta(days=1), last_day + timedelta(days=1)):
        _events(db, workspace_id, campaign["id"], outside, 0, "EMAIL", {T.MESSAGE_SENT: 1000})
    db.commit()
    return Seeded(campaign["id"], other["id"], first_day, last_day)


def expected_totals() -> dict[str, int]:
    """The campaign's totals over the seeded days, counted from the tables above."""
    names = {
        T.MESSAGE_SENT: "sent",
        T.MESSAGE_DELIVERED: "delivered",
        T.REPLY_RECEIVED: "replied",
        T.BOUNCED_HARD: "bounced_hard",
        T.BOUNCED_SOFT: "bounced_soft",
        T.COMPLAINED: "complained",
        T.UNSUBSCRIBED: "unsubscribed",
    }
    totals = dict.fromkeys([*names.values(), "positive_replied", "meetings"], 0)
    for counts in ACTIVITY.values():
        for type_, n in counts.items():
            totals[names[type_]] += n
    for bumps in CATEGORIES.values():
        for column, n in bumps.items():
            totals[column] += n
    return totals
