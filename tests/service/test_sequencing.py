"""execute_sequence: channel order, fallback with reasons, suppression, limits."""

from __future__ import annotations

from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.domain import ChannelType, OutreachMessage
from aicmo.operator_services.engine.sequencing import execute_sequence

MSG = OutreachMessage(
    channel=ChannelType.EMAIL, body="Hi {{ first_name | default('there') }}", subject="Hello"
)


def test_email_first_and_the_lead_is_found_or_created_once(db: Session) -> None:
    first = execute_sequence(
        db, MSG, recipient_email="Jane@Acme.example", recipient_linkedin_id="jane-acme"
    )
    second = execute_sequence(db, MSG, recipient_email="jane@acme.example")
    assert first["success"] and first["channel_used"] == "EMAIL"
    assert second["lead_id"] == first["lead_id"]
    assert ops.count_leads(db) == 1
    assert (
        ops.get_lead(db, first["lead_id"])["linkedin_url"]
        == "https://www.linkedin.com/in/jane-acme"
    )


def test_without_email_it_falls_back_to_linkedin_which_a_person_sends(db: Session) -> None:
    result = execute_sequence(
        db,
        MSG,
        recipient_linkedin_id="https://www.linkedin.com/in/joe",
        form_url="https://acme.example/contact",
    )
    assert result["success"] is False and result["channel_used"] is None
    assert [(a["channel"], a["status"]) for a in result["attempts"]] == [
        ("EMAIL", "SKIPPED"),
        ("LINKEDIN", "QUEUED"),
    ]
    assert "no EMAIL address" in result["attempts"][0]["error"]
    assert result["pending"] == "LINKEDIN" and result["attempts"][1]["task_id"]
    history = ops.get_outreach_history(db, lead_id=result["lead_id"])
    assert [h["channel"] for h in history] == ["LINKEDIN"]  # the form is not tried as well


def test_a_suppressed_recipient_gets_nothing_on_any_channel(db: Session) -> None:
    ops.add_suppression(db, "jane@acme.example", reason="unsubscribed")
    result = execute_sequence(
        db,
        MSG,
        recipient_email="jane@acme.example",
        recipient_linkedin_id="jane-acme",
        form_url="https://acme.example/contact",
    )
    assert result["success"] is False
    assert [a["status"] for a in result["attempts"]] == ["SUPPRESSED"]


def test_a_disabled_or_exhausted_channel_is_skipped_with_its_reason(db: Session) -> None:
    ops.update_channel_config(db, "EMAIL", rate_limit_per_hour=1, rate_limit_per_day=1)
    assert execute_sequence(db, MSG, recipient_email="a@acme.example")["channel_used"] == "EMAIL"
    result = execute_sequence(db, MSG, recipient_email="b@acme.example")
    assert result["attempts"][0]["status"] == "SKIPPED"
    assert "EMAIL limit: 1/hour, 1/day reached" in result["attempts"][0]["error"]
    ops.update_channel_config(db, "EMAIL", enabled=False)
    result = execute_sequence(db, MSG, recipient_email="c@acme.example")
    assert result["attempts"][0]["error"] == "EMAIL is disabled"


def test_the_message_channel_decides_where_to_start(db: Session) -> None:
    msg = OutreachMessage(channel=ChannelType.LINKEDIN, body="Hi")
    result = execute_sequence(
        db, msg, recipient_email="a@acme.example", recipient_linkedin_id="a-acme"
    )
    # No LinkedIn account: a person will send it, so no other channel is tried.
    assert [a["channel"] for a in result["attempts"]] == ["LINKEDIN"]
    assert result["channel_used"] is None and result["pending"] == "LINKEDIN"
    assert result["task_id"] is not None
    with_subject = msg.model_copy(update={"subject": "Hello"})
    assert (
        execute_sequence(db, with_subject, recipient_email="b@acme.example")["channel_used"]
        == "EMAIL"  # no profile, no site: LinkedIn and the form are skipped
    )
