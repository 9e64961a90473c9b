"""Retention on a real database: message texts older than the period are blanked (sent
bodies, replies, raw payloads, closed tasks' texts, outbox files), every row and every
daily count stays, and the worker's daily run happens once a day among all workers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB, InboundMessageDB, OutreachMessageDB
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.repository import metrics as metrics_repo
from aicmo.config import get_settings
from aicmo.errors import ConfigurationError, ValidationError
from aicmo.operator_services import campaigns
from aicmo.operator_services.crm.retention import prune_if_due, prune_message_bodies
from aicmo.operator_services.engine.tick import run_due
from aicmo.operator_services.inbound.processing import process_inbound_message

T0 = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)
DSN = (
    Path(__file__).parent.parent / "fixtures" / "mail" / "postfix_dsn_user_unknown.eml"
).read_bytes()
STEPS: list[dict[str, Any]] = [
    {"channel": "EMAIL", "template": {"subject": "Hi {{ first_name }}", "body": "Old note"}},
    {"channel": "EMAIL", "delay_hours": 24 * 40, "template": {"subject": "Re", "body": "New"}},
]


def outbox() -> Path:
    return get_settings().resolved_outbox_dir


def reply_to(attempt: OutreachMessageDB, n: int) -> bytes:
    return (
        f"From: {attempt.recipient}\r\nTo: me@aicmo.example\r\nSubject: Re: hi\r\n"
        f"Message-ID: <r{n}@lead.example>\r\nIn-Reply-To: {attempt.rfc_message_id}\r\n"
        "Date: Thu, 01 Oct 2026 10:00:00 +0000\r\n\r\nYes, call me on Tuesday.\r\n"
    ).encode()


def history(db: Session) -> None:
    """Four leads written to on T0; the first replies and the second bounces (their
    sequences stop), the two others are written to again 40 days later."""
    for k in range(4):
        ops.create_lead(db, email=f"r{k}@acme.example", first_name=f"R{k}", tags=["t"])
    campaigns.create_campaign(db, "R", steps=STEPS, audience={"tag": "t"}, now=T0)
    campaigns.start_campaign(db, "R", now=T0)
    run_due(db, now=T0, worker="w")
    first, second = db.scalars(select(OutreachMessageDB).order_by(OutreachMessageDB.id)).all()[:2]
    process_inbound_message(db, reply_to(first, 0), received_at=T0 + timedelta(hours=1))
    assert second.rfc_message_id and second.recipient
    dsn = DSN.replace(b"<attempt-42.xyz@aicmo.example>", second.rfc_message_id.encode()).replace(
        b"jane.doe@example.org", second.recipient.encode()
    )
    process_inbound_message(db, dsn, received_at=T0 + timedelta(hours=1))
    later = T0 + timedelta(days=40, hours=1)
    for at in (T0, later):  # a provider's notification, kept raw on the event
        ops.record_event(
            db,
            OutreachEvent(
                type=EventType.MESSAGE_OPENED,
                occurred_at=at,
                channel="EMAIL",
                source="sendgrid",
                raw='{"email": "r2@acme.example", "event": "open"}',
            ),
        )
    run_due(db, now=later, worker="w")
    db.commit()


def everything(db: Session) -> dict[str, Any]:
    db.rollback()
    return {
        "attempts": db.scalar(select(func.count()).select_from(OutreachMessageDB)),
        "events": db.scalar(select(func.count()).select_from(EventDB)),
        "inbound": db.scalar(select(func.count()).select_from(InboundMessageDB)),
        "rollups": metrics_repo.rollup_rows(
            db, first=date(2026, 1, 1), last=date(2027, 1, 1), workspace_id=None
        ),
    }


def test_texts_past_the_period_are_blanked_and_every_row_and_count_stays(db: Session) -> None:
    history(db)
    assert len(list(outbox().rglob("*.eml"))) == 6
    before = everything(db)
    now = T0 + timedelta(days=41)
    report = prune_message_bodies(db, days=30, now=now, batch=1)
    assert report["attempts"] == 4 and report["inbound_messages"] == 2
    assert report["events_raw"] == 1 and report["outbox_files"] == 4
    assert everything(db) == before
    rows = db.scalars(select(OutreachMessageDB).order_by(OutreachMessageDB.id)).all()
    old, new = rows[:4], rows[4:]
    assert len(new) == 2
    assert all(r.body is None and r.subject is None for r in old)
    assert all(r.body == "New" and r.subject == "Re" for r in new)
    assert all(r.text is None for r in db.scalars(select(InboundMessageDB)))
    old_raw = select(EventDB).where(EventDB.occurred_at < now - timedelta(days=30))
    assert all(e.raw is None for e in db.scalars(old_raw))
    assert db.scalar(select(func.count()).where(EventDB.raw.is_not(None))) == 1
    days_left = sorted(p.parent.name for p in outbox().rglob("*.eml"))
    assert days_left == [(T0 + timedelta(days=40)).date().isoformat()] * 2
    # Nothing left to do: a second run blanks nothing.
    again = prune_message_bodies(db, days=30, now=now)
    assert {k: v for k, v in again.items() if k != "cutoff"} == dict.fromkeys(
        ("attempts", "inbound_messages", "events_raw", "tasks", "outbox_files"), 0
    )


def test_a_queued_attempt_keeps_its_body_whatever_its_age(db: Session) -> None:
    lead = ops.create_lead(db, email="q@acme.example")["id"]
    db.add(
        OutreachMessageDB(
            workspace_id=1,
            lead_id=lead,
            channel="EMAIL",
            status="QUEUED",
            subject="s",
            body="still to send",
            idempotency_key="q1",
            created_at=T0,
            updated_at=T0,
        )
    )
    db.commit()
    assert prune_message_bodies(db, days=1, now=T0 + timedelta(days=90))["attempts"] == 0
    assert db.scalar(select(OutreachMessageDB.body)) == "still to send"


def test_the_worker_prunes_once_a_day_and_only_when_retention_is_set(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    history(db)
    now = T0 + timedelta(days=41)
    assert prune_if_due(db, now=now) is None  # off by default
    assert db.scalar(select(OutreachMessageDB.body).limit(1)) is not None
    monkeypatch.setenv("AICMO_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    first = prune_if_due(db, now=now)
    assert first is not None and first["attempts"] == 4
    assert prune_if_due(db, now=now + timedelta(hours=23)) is None
    assert prune_if_due(db, now=now + timedelta(hours=25)) is not None


def test_no_period_or_a_bad_one_is_refused_and_nothing_changes(db: Session) -> None:
    history(db)
    before = [r.body for r in db.scalars(select(OutreachMessageDB))]
    with pytest.raises(ValidationError, match="AICMO_RETENTION_DAYS"):
        prune_message_bodies(db)
    with pytest.raises(ValidationError, match="positive"):
        prune_message_bodies(db, days=0)
    assert [r.body for r in db.scalars(select(OutreachMessageDB))] == before


def test_a_bad_retention_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AICMO_RETENTION_DAYS", "0")
    get_settings.cache_clear()
    with pytest.raises(ConfigurationError, match="AICMO_RETENTION_DAYS"):
        get_settings()
