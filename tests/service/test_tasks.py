"""Operator tasks on a real database: a LinkedIn step without a provider account becomes
a task; done, skipped, overdue and withdrawn tasks move the sequence as they should."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EnrollmentDB, OutreachMessageDB
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType
from aicmo.errors import ConflictError, NotFoundError, ValidationError
from aicmo.operator_services import campaigns
from aicmo.operator_services.channels import tasks
from aicmo.operator_services.engine.tick import run_due

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STEPS: list[dict[str, Any]] = [
    {
        "channel": "LINKEDIN",
        "fallback": ["EMAIL"],
        "template": {
            "LINKEDIN": {
                "body": "Hi {{ first_name }}, saw your post on {{ company }}.",
                "note": "Hi {{ first_name }}, glad to connect.",
            },
            "EMAIL": {"subject": "Hello {{ first_name }}", "body": "By email instead."},
        },
    },
    {
        "channel": "EMAIL",
        "delay_hours": 48,
        "template": {"subject": "Following up", "body": "Second note"},
    },
]


def start(db: Session, **lead: Any) -> int:
    lead_id: int = ops.create_lead(
        db,
        first_name="Ann",
        company="Acme",
        linkedin_url="https://www.linkedin.com/in/ann-acme",
        tags=["t"],
        **lead,
    )["id"]
    campaigns.create_campaign(db, "LI", steps=STEPS, audience={"tag": "t"}, now=T0)
    campaigns.start_campaign(db, "LI", now=T0)
    return lead_id


def enrollment(db: Session, lead_id: int) -> EnrollmentDB:
    db.rollback()
    row = db.scalar(select(EnrollmentDB).where(EnrollmentDB.lead_id == lead_id))
    assert row is not None
    return row


def test_a_linkedin_step_without_an_account_becomes_a_task_with_the_rendered_text(
    db: Session,
) -> None:
    lead_id = start(db, email="ann@acme.example")
    assert run_due(db, now=T0, worker="w")["by_outcome"] == {"task": 1}
    [task] = tasks.list_tasks(db, now=T0)
    assert task["kind"] == "message" and task["channel"] == "LINKEDIN"
    assert task["url"] == "https://www.linkedin.com/in/ann-acme"
    assert "Hi Ann, saw your post on Acme." in task["body"]
    assert "Hi Ann, glad to connect." in task["body"]  # the note, for the request
    assert "Ann" in task["title"] and "Acme" in task["title"]
    attempt = db.get(OutreachMessageDB, task["message_id"])
    assert attempt is not None and attempt.status == "QUEUED" and attempt.transport == "operator"
    e = enrollment(db, lead_id)
    assert e.state == "WAITING" and e.next_run_at is None
    assert run_due(db, now=T0 + timedelta(hours=1), worker="w")["processed"] == 0


def test_a_done_task_counts_as_sent_then_and_the_sequence_continues_from_there(
    db: Session,
) -> None:
    lead_id = start(db, email="ann@acme.example")
    run_due(db, now=T0, worker="w")
    [task] = tasks.list_tasks(db, now=T0)
    done_at = T0 + timedelta(hours=30)
    result = tasks.complete_task(db, task["id"], note="sent on my phone", now=done_at)
    assert result["status"] == "DONE" and result["sequence"] == "advance"
    attempt = db.get(OutreachMessageDB, task["message_id"])
    assert attempt is not None
    assert (attempt.status, attempt.sent_at) == ("SENT", done_at)
    e = enrollment(db, lead_id)
    assert (e.state, e.step_index, e.next_run_at) == ("ACTIVE", 1, done_at + timedelta(hours=48))
    with pytest.raises(ConflictError, match="already done"):
        tasks.complete_task(db, task["id"], now=done_at)
    assert run_due(db, now=done_at + timedelta(hours=48), worker="w")["by_outcome"] == {
        "complete": 1
    }
    assert ops.get_outreach_history(db, lead_id=lead_id)[0]["subject"] == "Following up"


def test_a_skipped_task_falls_back_to_the_next_channel_of_the_step(db: Session) -> None:
    lead_id = start(db, email="ann@acme.example")
    run_due(db, now=T0, worker="w")
    [task] = tasks.list_tasks(db, now=T0)
    with pytest.raises(ValidationError):
        tasks.skip_task(db, task["id"], reason=" ", now=T0)
    result = tasks.skip_task(
        db, task["id"], reason="profile is private", now=T0 + timedelta(hours=1)
    )
    assert result["sequence"] == "fallback"
    e = enrollment(db, lead_id)
    assert (e.state, e.channel_index) == ("ACTIVE", 1)
    run_due(db, now=T0 + timedelta(hours=1), worker="w")
    channels = [m["channel"] for m in ops.get_outreach_history(db, lead_id=lead_id)]
    assert channels == ["EMAIL", "LINKEDIN"]
    linkedin = ops.get_outreach_history(db, lead_id=lead_id, channel="LINKEDIN")[0]
    assert linkedin["status"] == "FAILED" and "profile is private" in linkedin["error"]


def test_a_skipped_task_with_no_channel_left_fails_the_enrollment(db: Session) -> None:
    lead_id = start(db)  # no email: the fallback has no address
    run_due(db, now=T0, worker="w")
    [task] = tasks.list_tasks(db, now=T0)
    tasks.skip_task(db, task["id"], reason="not a fit", now=T0)
    run_due(db, now=T0, worker="w")
    e = enrollment(db, lead_id)
    assert e.state == "FAILED" and "not a fit" in (e.stop_reason or "")


def test_overdue_tasks_are_listed_as_such(db: Session) -> None:
    start(db)
    run_due(db, now=T0, worker="w")
    assert tasks.list_tasks(db, overdue=True, now=T0 + timedelta(hours=23)) == []
    [late] = tasks.list_tasks(db, overdue=True, now=T0 + timedelta(hours=25))
    assert late["overdue"] is True


def test_a_reply_withdraws_the_open_task_and_stops_the_sequence(db: Session) -> None:
    lead_id = start(db, email="ann@acme.example")
    run_due(db, now=T0, worker="w")
    [task] = tasks.list_tasks(db, now=T0)
    ops.record_event(
        db,
        OutreachEvent(
            type=EventType.REPLY_RECEIVED,
            occurred_at=T0 + timedelta(hours=2),
            channel=ChannelType.EMAIL,
        ),
        lead_id=lead_id,
    )
    assert tasks.cancel_stale_tasks(db, now=T0 + timedelta(hours=3)) == 1
    assert tasks.list_tasks(db, now=T0) == []
    [cancelled] = tasks.list_tasks(db, status="CANCELLED", now=T0)
    assert "REPLY_RECEIVED" in (cancelled["note"] or "")
    e = enrollment(db, lead_id)
    assert e.state == "STOPPED"
    attempt = db.get(OutreachMessageDB, task["message_id"])
    assert attempt is not None and attempt.status == "FAILED"
    with pytest.raises(ConflictError):
        tasks.complete_task(db, task["id"], now=T0 + timedelta(hours=4))
    with pytest.raises(NotFoundError):
        tasks.complete_task(db, 999_999, now=T0)


def test_open_tasks_take_their_slot_in_the_channel_limit(db: Session) -> None:
    ops.update_channel_config(db, "LINKEDIN", rate_limit_per_hour=1)
    for i in range(2):
        ops.create_lead(
            db,
            linkedin_url=f"https://www.linkedin.com/in/lead-{i}",
            tags=["t"],
            first_name="X",
            company="Y",
        )
    campaigns.create_campaign(db, "LI", steps=STEPS, audience={"tag": "t"}, now=T0)
    campaigns.start_campaign(db, "LI", now=T0)
    result = run_due(db, now=T0, worker="w")
    assert result["by_outcome"] == {"task": 1, "rate limited": 1}
    assert len(tasks.list_tasks(db, now=T0)) == 1


def test_forgetting_a_person_erases_their_tasks(db: Session) -> None:
    lead_id = start(db, email="ann@acme.example")
    run_due(db, now=T0, worker="w")
    ops.forget_person(db, lead_id)
    [task] = tasks.list_tasks(db, status="CANCELLED", now=T0)
    assert task["body"] is None and task["url"] is None and "Ann" not in task["title"]
    assert tasks.list_tasks(db, now=T0) == []


def test_an_enrollment_claimed_again_over_its_task_keeps_waiting_and_never_falls_back(
    db: Session,
) -> None:
    lead_id = start(db, email="ann@acme.example")
    run_due(db, now=T0, worker="w")
    # As if the worker had died after the task's commit: the enrollment is due again.
    e = enrollment(db, lead_id)
    assert e.state == "WAITING"  # set in the task's own transaction
    e.state, e.next_run_at = "ACTIVE", T0
    db.commit()
    assert run_due(db, now=T0 + timedelta(hours=25), worker="w")["by_outcome"] == {"task": 1}
    assert len(tasks.list_tasks(db, now=T0)) == 1
    assert [m["channel"] for m in ops.get_outreach_history(db, lead_id=lead_id)] == ["LINKEDIN"]


def test_a_note_with_an_unknown_variable_is_refused_when_the_campaign_is_validated(
    db: Session,
) -> None:
    steps = [
        {
            "channel": "LINKEDIN",
            "template": {"body": "Hi", "note": "Hi {{ frist_name }}"},
        }
    ]
    campaigns.create_campaign(db, "Bad note", steps=steps, audience={"tag": "t"}, now=T0)
    report = campaigns.validate_campaign(db, "Bad note")
    assert not report["ok"] and any("frist_name" in e for e in report["errors"])
