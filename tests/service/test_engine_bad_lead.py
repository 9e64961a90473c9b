"""One lead whose data cannot make an email fails alone: the rest of its chunk is sent, and
nothing is left SENDING (later "outcome unknown") for a message that never went."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EnrollmentDB, OutreachMessageDB, SequenceConfigDB
from aicmo.config import get_settings
from aicmo.operator_services import campaigns
from aicmo.operator_services.engine.pipeline import FIRST_GROUP
from aicmo.operator_services.engine.tick import list_unknown_attempts, recover_unknown, run_due

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
INJECTION = "Acme\r\nBcc: x@evil.example"


def statuses(db: Session) -> dict[str, list[OutreachMessageDB]]:
    db.rollback()
    out: dict[str, list[OutreachMessageDB]] = {}
    for row in db.scalars(select(OutreachMessageDB).order_by(OutreachMessageDB.id)):
        out.setdefault(row.status, []).append(row)
    return out


def test_a_line_break_in_a_custom_field_fails_its_lead_alone_and_the_chunk_is_sent(
    db: Session,
) -> None:
    n = 7
    assert n <= FIRST_GROUP  # one chunk: the bad lead shares it with all the others
    bad_email = "p3@leads.example"
    for i in range(n):
        ops.create_lead(
            db,
            email=f"p{i}@leads.example",
            first_name=f"P{i}",
            tags=["batch"],
            custom_fields={"org": INJECTION if i == 3 else f"Org {i}"},
        )
    steps = [
        {
            "channel": "EMAIL",
            "template": {"subject": "A note for {{ lead.custom.org }}", "body": "Hello"},
        }
    ]
    campaigns.create_campaign(db, "Batch", steps=steps, audience={"tag": "batch"}, now=T0)
    campaigns.start_campaign(db, "Batch", now=T0)

    result = run_due(db, now=T0, worker="w1", batch=n)

    assert result["by_outcome"].get("error") is None
    rows = statuses(db)
    assert set(rows) == {"SENT", "FAILED"}
    assert len(rows["SENT"]) == n - 1
    [failed] = rows["FAILED"]
    assert failed.recipient == bad_email
    assert failed.error is not None and failed.error.startswith("permanent: ")
    assert "subject" in failed.error and "line break" in failed.error
    assert "custom.org" in failed.error
    # Nothing waits for the operator: no SENDING row for a lease to turn UNKNOWN.
    assert recover_unknown(db, now=T0.replace(hour=12)) == 0
    assert list_unknown_attempts(db) == []
    # Every enrollment moved on (the bad lead's step failed for good, the rest advanced).
    db.rollback()
    assert all(e.claimed_by is None for e in db.scalars(select(EnrollmentDB)))

    files = sorted(get_settings().resolved_outbox_dir.rglob("*.eml"))
    assert len(files) == n - 1
    for path in files:
        raw = path.read_bytes()
        message = message_from_bytes(raw, policy=default)
        assert message["Bcc"] is None
        assert b"evil.example" not in raw
        assert message["To"] != bad_email and bad_email not in str(message["To"])


def test_validation_refuses_a_subject_with_a_line_break_and_the_engine_fails_each_lead_alone(
    db: Session,
) -> None:
    for i in range(3):
        ops.create_lead(db, email=f"s{i}@leads.example", tags=["static"])
    good = [{"channel": "EMAIL", "template": {"subject": "Hello", "body": "A note"}}]
    bad = [
        {"channel": "EMAIL", "template": {"subject": "Hello\r\nBcc: x@evil.example", "body": "A"}}
    ]
    campaigns.create_campaign(db, "Static", steps=bad, audience={"tag": "static"}, now=T0)
    report = campaigns.validate_campaign(db, "Static")
    assert not report["ok"]
    assert any("subject" in e and "line break" in e for e in report["errors"]), report

    # A campaign started before its subject was edited to the bad one (or before this
    # check existed): each lead fails with the reason, nothing is left SENDING.
    campaigns.create_campaign(db, "Edited", steps=good, audience={"tag": "static"}, now=T0)
    campaigns.start_campaign(db, "Edited", now=T0)
    db.rollback()
    for seq in db.scalars(select(SequenceConfigDB)):
        seq.steps = bad
    db.commit()
    run_due(db, now=T0, worker="w1")
    rows = statuses(db)
    assert set(rows) == {"FAILED"} and len(rows["FAILED"]) == 3
    assert all(r.error and "line break" in r.error for r in rows["FAILED"])
    assert not list(get_settings().resolved_outbox_dir.rglob("*.eml"))
