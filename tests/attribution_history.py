"""A real history for the attribution tests, made through the services: a three-step
campaign run by the engine (two emails through the local outbox, a LinkedIn task a person
did), a one-off email, replies and their categories, a meeting and a won deal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EnrollmentDB
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.operator_services import campaigns
from aicmo.operator_services.analytics import costs
from aicmo.operator_services.channels.mailboxes import add_mailbox
from aicmo.operator_services.channels.tasks import complete_task, list_tasks
from aicmo.operator_services.engine.tick import run_due

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday
STEPS = [
    {"channel": "EMAIL", "delay_hours": 0, "template": {"subject": "Hi", "body": "One"}},
    {"channel": "EMAIL", "delay_hours": 48, "template": {"subject": "Again", "body": "Two"}},
    {"channel": "LINKEDIN", "delay_hours": 48, "template": {"body": "Three"}},
]


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def reply(db: Session, lead_id: int, when: datetime, campaign_id: int | None) -> int:
    event = OutreachEvent(type=EventType.REPLY_RECEIVED, occurred_at=when, channel="EMAIL")
    return int(ops.record_event(db, event, lead_id=lead_id, campaign_id=campaign_id)["event_id"])


def categorize(
    db: Session, lead_id: int, reply_id: int, category: str, when: datetime, previous: str | None
) -> None:
    """A REPLY_CATEGORIZED event as the categoriser and the operator's correction write it."""
    detail = {
        "category": category,
        "previous": previous,
        "rule": "operator" if previous else "keywords",
        "reply_event_id": reply_id,
    }
    event = OutreachEvent(type=EventType.REPLY_CATEGORIZED, occurred_at=when, detail=detail)
    ops.record_event(db, event, lead_id=lead_id)


def make_history(db: Session) -> dict[str, Any]:
    """Lead A: emails on Nov 2 and 4, a LinkedIn task done on Nov 6 at noon, a reply on
    Nov 7 (interested), stage MEETING on Nov 10, WON on Nov 20 with a deal of 1000.
    Lead B (variant B): emails on Nov 2 and 4, a reply on Nov 5 first categorised
    interested, then corrected to not interested. Lead C: never touched, replies Nov 7.
    Lead D: a one-off email (no campaign) on Nov 3, a reply on Nov 8: meeting booked."""
    a = ops.create_lead(
        db, email="a@acme.example", linkedin_url="https://www.linkedin.com/in/aa", tags=["q4"]
    )["id"]
    b = ops.create_lead(db, email="b@acme.example", tags=["q4"])["id"]
    c = ops.create_lead(db, email="c@other.example")["id"]
    d = ops.create_lead(db, email="d@other.example")["id"]
    campaign_id = campaigns.create_campaign(db, "Q4", steps=STEPS, audience={"tag": "q4"}, now=T0)[
        "id"
    ]
    campaigns.start_campaign(db, "Q4", now=T0)
    # The A/B assignment writes the enrollment's variant; here it is set by hand.
    for lead_id, variant in ((a, "A"), (b, "B")):
        db.execute(
            update(EnrollmentDB).where(EnrollmentDB.lead_id == lead_id).values(variant=variant)
        )
    db.commit()
    assert run_due(db, now=at(0), worker="w")["processed"] == 2
    sent = ops.send_outreach_message(db, d, "Hello", "One-off", now=at(1))
    assert sent["transport"] == "outbox"
    assert run_due(db, now=at(2), worker="w")["processed"] == 2
    b_reply = reply(db, b, at(3), campaign_id)
    categorize(db, b, b_reply, "interested", at(3.1), None)
    categorize(db, b, b_reply, "not_interested", at(3.5), "interested")
    run_due(db, now=at(4), worker="w")  # A: the LinkedIn step becomes a task; B stopped
    (task,) = list_tasks(db, lead_id=a, now=at(4))
    complete_task(db, task["id"], now=at(4) + timedelta(hours=3))
    a_reply = reply(db, a, at(5), campaign_id)
    categorize(db, a, a_reply, "interested", at(5.1), None)
    reply(db, c, at(5), None)
    d_reply = reply(db, d, at(6), None)
    categorize(db, d, d_reply, "meeting_booked", at(6.1), None)
    ops.update_lead(db, a, stage="MEETING", now=at(8))
    ops.update_lead(db, a, stage="WON", deal_value="1000", now=at(18))
    return {"a": a, "b": b, "c": c, "d": d, "campaign_id": campaign_id}


def set_costs(db: Session) -> None:
    costs.set_cost(db, channel="EMAIL", monthly="30", per_action="0.10", currency="EUR")
    costs.set_cost(db, channel="linkedin", per_action="2")
    add_mailbox(db, "sales", "sales@acme.example", now=at(20))  # no send in November
    costs.set_cost(db, mailbox="sales", monthly="15")
