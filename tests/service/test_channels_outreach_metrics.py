from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam import repository as repo
from aicmo.cam.db_models import EventDB, OutreachMessageDB, SuppressionDB
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType
from aicmo.config import get_settings
from aicmo.errors import ConflictError, NotFoundError, ValidationError


def test_channel_config_defaults_and_update(db: Session) -> None:
    config = ops.get_channel_config(db, "EMAIL")
    assert (config["rate_limit_per_hour"], config["rate_limit_per_day"]) == (100, 500)
    assert config["backoff_hours"] == [24, 48]
    updated = ops.update_channel_config(db, "email", rate_limit_per_hour=200)
    assert updated["rate_limit_per_hour"] == 200
    assert ops.get_channel_config(db, "EMAIL")["rate_limit_per_hour"] == 200
    event = db.scalar(select(EventDB).where(EventDB.type == "CHANNEL_CONFIG_CHANGED"))
    assert event is not None and event.detail["changes"]["rate_limit_per_hour"] == {
        "from": 100,
        "to": 200,
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"rate_limit_per_hour": -1}, "rate_limit_per_hour"),
        ({"rate_limit_per_day": "500"}, "rate_limit_per_day"),
        ({"rate_limit_per_hour": 600}, "rate_limit_per_hour"),
        ({"max_retrys": 3}, "max_retrys"),
        ({"backoff_hours": [24, -1]}, "backoff_hours"),
    ],
)
def test_bad_channel_changes_are_refused_and_nothing_is_written(
    db: Session, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        ops.update_channel_config(db, "EMAIL", **changes)
    assert err.value.field == field
    assert ops.get_channel_config(db, "EMAIL")["rate_limit_per_hour"] == 100


def test_unknown_channel_is_refused(db: Session) -> None:
    with pytest.raises(ValidationError, match="unknown channel 'FAX'"):
        ops.get_channel_config(db, "FAX")


def test_with_no_mailbox_email_goes_to_the_local_outbox_and_says_so(db: Session) -> None:
    lead = ops.create_lead(db, email="a@example.com", first_name="Ann")
    result = ops.send_outreach_message(
        db, lead_id=lead["id"], message_body="Hi {{ first_name }}!", subject="Hello"
    )
    assert result["success"] is True and result["status"] == "SENT"
    assert result["transport"] == "outbox"
    assert "not delivered" in result["response"]
    files = list(get_settings().resolved_outbox_dir.rglob("*.eml"))
    assert len(files) == 1
    message = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert message["To"].addresses[0].addr_spec == "a@example.com"
    assert (
        "List-Unsubscribe" in message
        and message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    )
    history = ops.get_outreach_history(db, lead_id=lead["id"])
    assert [h["id"] for h in history] == [result["message_id"]]
    assert history[0]["body"] == "Hi Ann!" and history[0]["recipient"] == "a@example.com"
    metrics = ops.get_channel_metrics(db)
    assert metrics["EMAIL"]["attempted"] == 1 and metrics["EMAIL"]["sent"] == 1
    assert ops.get_lead(db, lead["id"])["stage"] == "CONTACTED"


def test_linkedin_without_an_account_is_a_task_and_never_claims_a_send(db: Session) -> None:
    lead = ops.create_lead(db, email="a@example.com", linkedin_url="https://www.linkedin.com/in/a")
    result = ops.send_outreach_message(db, lead["id"], "Hi", channel="LINKEDIN")
    assert result["success"] is False and result["status"] == "QUEUED"
    assert result["outcome"] == "TASK" and result["task_id"] is not None
    assert ops.get_channel_metrics(db)["LINKEDIN"]["sent"] == 0


def test_an_unknown_template_variable_fails_before_anything_is_written(db: Session) -> None:
    lead = ops.create_lead(db, email="a@example.com")
    with pytest.raises(ValidationError, match="frist_name"):
        ops.send_outreach_message(db, lead["id"], "Hi {{ frist_name }}", "Hello")
    assert ops.get_outreach_history(db) == []


def test_send_to_a_suppressed_address_or_domain_is_refused(db: Session) -> None:
    a = ops.create_lead(db, email="a@blocked.example")
    b = ops.create_lead(db, email="b@example.com")
    db.add(SuppressionDB(workspace_id=1, kind="DOMAIN", value="blocked.example", reason="MANUAL"))
    db.add(
        SuppressionDB(workspace_id=1, kind="EMAIL", value="b@example.com", reason="UNSUBSCRIBED")
    )
    db.commit()
    for lead in (a, b):
        result = ops.send_outreach_message(db, lead["id"], "Hi", "Hello")
        assert result["status"] == "SUPPRESSED" and result["success"] is False


def test_send_refuses_header_injection_and_unknown_leads(db: Session) -> None:
    lead = ops.create_lead(db, email="a@example.com")
    with pytest.raises(ValidationError, match="subject"):
        ops.send_outreach_message(db, lead["id"], "Hi", "Hello\r\nBcc: all@example.com")
    with pytest.raises(NotFoundError):
        ops.send_outreach_message(db, 12345, "Hi", "Hello")
    assert db.scalar(select(OutreachMessageDB)) is None


def test_the_same_idempotency_key_never_makes_two_attempts(db: Session) -> None:
    lead = ops.create_lead(db, email="a@example.com")
    first = ops.send_outreach_message(db, lead["id"], "Hi", "Hello", idempotency_key="k1")
    second = ops.send_outreach_message(db, lead["id"], "Hi", "Hello", idempotency_key="k1")
    assert second["message_id"] == first["message_id"] and second["duplicate"] is True
    other = ops.create_lead(db, email="b@example.com")
    with pytest.raises(ConflictError):
        ops.send_outreach_message(db, other["id"], "Hi", "Hello", idempotency_key="k1")
    assert len(list(db.scalars(select(OutreachMessageDB)))) == 1


def test_history_is_newest_first_and_filters(db: Session) -> None:
    lead = ops.create_lead(db, email="a@example.com", linkedin_url="https://www.linkedin.com/in/a")
    t0 = datetime(2026, 11, 1, 9, tzinfo=UTC)
    ids = [
        ops.send_outreach_message(
            db, lead["id"], f"m{i}", "s", channel=ch, now=t0 + timedelta(hours=i)
        )["message_id"]
        for i, ch in enumerate(["EMAIL", "LINKEDIN", "EMAIL"])
    ]
    assert [h["id"] for h in ops.get_outreach_history(db)] == ids[::-1]
    assert [h["id"] for h in ops.get_outreach_history(db, channel="EMAIL")] == [ids[2], ids[0]]
    assert len(ops.get_outreach_history(db, limit=1)) == 1
    with pytest.raises(ValidationError):
        ops.get_outreach_history(db, limit=0)


def test_metrics_on_an_empty_database_are_zero_for_all_channels(db: Session) -> None:
    metrics = ops.get_channel_metrics(db, campaign_id=42, days=7)
    assert set(metrics) == {"EMAIL", "LINKEDIN", "CONTACT_FORM"}
    for channel in metrics.values():
        assert channel["delivery_rate"] == channel["reply_rate"] == channel["bounce_rate"] == 0.0


def test_metrics_rates_come_from_rollups_in_the_window(db: Session) -> None:
    now = datetime(2026, 11, 26, 12, tzinfo=UTC)

    def emit(t: EventType, when: datetime, n: int = 1) -> None:
        for _ in range(n):
            repo.add_event(
                db,
                1,
                OutreachEvent(type=t, occurred_at=when, channel=ChannelType.EMAIL),
                campaign_id=7,
            )

    emit(EventType.MESSAGE_SENT, now, 10)
    emit(EventType.MESSAGE_DELIVERED, now, 8)
    emit(EventType.REPLY_RECEIVED, now, 2)
    emit(EventType.BOUNCED_HARD, now, 1)
    emit(EventType.MESSAGE_SENT, now - timedelta(days=10), 5)  # outside 7 days
    db.commit()
    m = ops.get_channel_metrics(db, campaign_id=7, days=7, now=now)["EMAIL"]
    assert (m["sent"], m["delivery_rate"], m["reply_rate"], m["bounce_rate"]) == (
        10,
        80.0,
        20.0,
        10.0,
    )
    assert ops.get_channel_metrics(db, campaign_id=8, days=7, now=now)["EMAIL"]["sent"] == 0
    assert ops.get_channel_metrics(db, days=30, now=now)["EMAIL"]["sent"] == 15
    with pytest.raises(ValidationError):
        ops.get_channel_metrics(db, days=0)


def test_events_are_append_only_but_personal_fields_can_be_blanked(db: Session) -> None:
    repo.add_event(
        db,
        1,
        OutreachEvent(
            type=EventType.UNKNOWN, occurred_at=datetime.now(UTC), recipient="a@example.com"
        ),
    )
    db.commit()
    with pytest.raises(DatabaseError, match="append-only"):
        db.execute(text("UPDATE events SET type = 'REPLY_RECEIVED'"))
    db.rollback()
    with pytest.raises(DatabaseError, match="append-only"):
        db.execute(text("DELETE FROM events"))
    db.rollback()
    db.execute(text("UPDATE events SET recipient = NULL, raw = NULL"))  # erasure keeps the fact
    db.commit()
    assert db.scalar(select(EventDB.recipient)) is None
    assert db.scalar(select(EventDB.type)) == "UNKNOWN"


def test_two_databases_sharing_an_outbox_never_collide(db: Session, tmp_path: Path) -> None:
    """Same idempotency key in two databases: two files, two Message-IDs (receivers drop
    duplicate Message-IDs, so they must be unique across installations)."""
    from aicmo.db import migrate
    from aicmo.db.connect import make_engine, session_factory
    from aicmo.operator_services.crm.workspace import ensure_workspace_defaults

    other_engine = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate.upgrade(other_engine)
    try:
        with session_factory(other_engine)() as other:
            ensure_workspace_defaults(other)
            for session in (db, other):
                lead = ops.create_lead(session, email="a@example.com")
                ops.send_outreach_message(session, lead["id"], "Hi", "Hello", idempotency_key="k")
    finally:
        other_engine.dispose()
    files = list(get_settings().resolved_outbox_dir.rglob("*.eml"))
    assert len(files) == 2
    ids = {
        email.message_from_bytes(f.read_bytes(), policy=email.policy.default)["Message-ID"]
        for f in files
    }
    assert len(ids) == 2
