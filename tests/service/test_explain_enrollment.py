"""Why is this lead (not) being contacted? The explanation follows the engine's own checks:
each case is set up so that the engine would hold the lead back for that reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.errors import NotFoundError
from aicmo.operator_services import campaigns
from aicmo.operator_services.channels.config import update_channel_config
from aicmo.operator_services.crm.suppression import add_suppression
from aicmo.operator_services.engine.explain import explain_enrollment

#: A Saturday: outside a Monday-to-Friday window.
SATURDAY = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
STEPS = [{"channel": "EMAIL", "template": {"subject": "Hi", "body": "Hello {{ first_name }}"}}]


def _enrolled(db: Session, now: datetime, **settings: object) -> int:
    ops.create_lead(db, email="ann@acme.example", first_name="Ann")
    campaigns.create_campaign(db, "Explained", steps=STEPS, settings=settings or None, now=now)
    campaigns.start_campaign(db, "Explained", now=now)
    (row,) = campaigns.list_enrollments(db, "Explained")
    return int(row["id"])


def test_a_due_enrollment_with_nothing_in_its_way_is_being_contacted(db: Session) -> None:
    enrollment = _enrolled(db, MONDAY)
    answer = explain_enrollment(db, enrollment, now=MONDAY + timedelta(minutes=1))
    assert answer["contacting"] is True
    assert answer["reasons"] == ["Step 1 on EMAIL is due now: the worker sends it at its next run."]


def test_a_suppressed_lead_is_said_to_be_suppressed(db: Session) -> None:
    enrollment = _enrolled(db, MONDAY)
    add_suppression(db, "ann@acme.example")
    answer = explain_enrollment(db, enrollment, now=MONDAY)
    assert answer["contacting"] is False
    assert any("ann@acme.example is suppressed" in r for r in answer["reasons"]), answer


def test_outside_the_sending_window_says_when_it_opens(db: Session) -> None:
    window = {"timezone": "UTC", "days": ["mon", "tue", "wed", "thu", "fri"]}
    enrollment = _enrolled(db, SATURDAY, window=window)
    answer = explain_enrollment(db, enrollment, now=SATURDAY)
    assert answer["contacting"] is False
    assert any(
        "Outside the campaign's sending window" in r and "2026-11-30 09:00 UTC" in r
        for r in answer["reasons"]
    ), answer


def test_a_channel_with_no_room_and_a_paused_campaign_hold_the_lead_back(db: Session) -> None:
    enrollment = _enrolled(db, MONDAY)
    update_channel_config(db, "EMAIL", rate_limit_per_hour=0)
    answer = explain_enrollment(db, enrollment, now=MONDAY)
    assert answer["contacting"] is False
    assert any("EMAIL channel's limit is 0" in r for r in answer["reasons"]), answer

    campaigns.set_campaign_status(db, "Explained", "PAUSED")
    answer = explain_enrollment(db, enrollment, now=MONDAY)
    assert answer["reasons"][0] == "The campaign is paused: nothing is sent until it is resumed."


def test_another_workspaces_enrollment_is_not_found(db: Session) -> None:
    enrollment = _enrolled(db, MONDAY)
    with pytest.raises(NotFoundError):
        explain_enrollment(db, enrollment, workspace_id=2)
