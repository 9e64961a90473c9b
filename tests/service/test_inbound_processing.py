"""What inbound mail changes, on a real database (fixtures modelled on real MTAs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB, OutreachMessageDB
from aicmo.cam.inbound import classify_message
from aicmo.operator_services.inbound.processing import mark_delivered, process_inbound_message
from tests.factories import add_sent_email

MAIL = Path(__file__).parent.parent / "fixtures" / "mail"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def sent_attempt(
    db: Session, email: str, rfc_message_id: str | None, *, title: str = "CEO"
) -> tuple[int, int]:
    """A lead and one SENT email attempt to it carrying the given Message-ID."""
    lead = ops.create_lead(db, email=email, title=title)
    return lead["id"], add_sent_email(db, lead["id"], email, rfc_message_id, at=T0)


def first_ref(raw: bytes) -> str:
    refs = classify_message(raw, T0).references
    assert refs, "fixture carries no reference"
    return refs[-1]


def status_of(db: Session, attempt_id: int) -> str:
    db.expire_all()
    row = db.get(OutreachMessageDB, attempt_id)
    assert row is not None
    return row.status


def test_a_hard_bounce_marks_the_attempt_and_suppresses_the_address(db: Session) -> None:
    raw = fixture("postfix_dsn_user_unknown.eml")
    lead_id, attempt_id = sent_attempt(db, "jane.doe@example.org", first_ref(raw))
    out = process_inbound_message(db, raw, received_at=T0 + timedelta(minutes=5))
    assert out["kind"] == "BOUNCE" and out["attempt_id"] == attempt_id
    assert status_of(db, attempt_id) == "BOUNCED"
    assert ops.check_suppression(db, email="jane.doe@example.org")["reason"] == "HARD_BOUNCE"  # type: ignore[index]
    assert ops.get_lead(db, lead_id)["grade"] == "D"
    metrics = ops.get_channel_metrics(db, days=30, now=T0)
    assert metrics["EMAIL"]["bounced_hard"] == 1


def test_a_reply_marks_replied_engages_the_lead_and_polling_twice_changes_nothing(
    db: Session,
) -> None:
    raw = fixture("gmail_human_reply.eml")
    lead_id, attempt_id = sent_attempt(db, "jane.doe@example.org", first_ref(raw))
    first = process_inbound_message(db, raw, received_at=T0)
    second = process_inbound_message(db, raw, received_at=T0)
    assert first["kind"] == "REPLY" and not first["duplicate"]
    assert second["duplicate"] is True
    assert status_of(db, attempt_id) == "REPLIED"
    assert ops.get_lead(db, lead_id)["stage"] == "ENGAGED"
    replies = list(db.scalars(select(EventDB).where(EventDB.type == "REPLY_RECEIVED")))
    assert len(replies) == 1 and replies[0].message_id == attempt_id
    assert ops.get_channel_metrics(db, days=30, now=T0)["EMAIL"]["replied"] == 1


def test_an_out_of_office_is_recorded_but_is_not_a_reply(db: Session) -> None:
    raw = fixture("outlook_automatic_reply.eml")
    lead_id, attempt_id = sent_attempt(db, "ben.carter@example.com", first_ref(raw))
    out = process_inbound_message(db, raw, received_at=T0)
    assert out["kind"] == "AUTO_REPLY"
    assert status_of(db, attempt_id) == "SENT"
    assert ops.get_lead(db, lead_id)["stage"] == "NEW"
    assert db.scalar(select(EventDB.type).where(EventDB.type == "AUTO_REPLY_RECEIVED")) is not None
    assert db.scalar(select(EventDB.type).where(EventDB.type == "REPLY_RECEIVED")) is None


def test_a_complaint_suppresses_the_recipient(db: Session) -> None:
    raw = fixture("arf_yahoo_abuse.eml")
    _, attempt_id = sent_attempt(db, "olivia.brown@yahoo.example", first_ref(raw))
    out = process_inbound_message(db, raw, received_at=T0)
    assert out["kind"] == "COMPLAINT"
    assert status_of(db, attempt_id) == "COMPLAINED"
    assert ops.check_suppression(db, email="olivia.brown@yahoo.example")["reason"] == "COMPLAINED"  # type: ignore[index]


def test_three_soft_bounces_suppress_the_address(db: Session) -> None:
    raw = fixture("postfix_delayed_4_4_1.eml")
    ref = first_ref(raw)
    sent_attempt(db, "sam.lee@example.net", ref)
    original_id = classify_message(raw, T0).message_id
    assert original_id
    for i in range(3):
        copy = raw.replace(original_id.encode(), f"<delay-{i}@mail.aicmo.example>".encode())
        assert (
            process_inbound_message(db, copy, received_at=T0 + timedelta(hours=i))["kind"]
            == "BOUNCE"
        )
        suppressed = ops.check_suppression(db, email="sam.lee@example.net")
        assert (suppressed is not None) == (i == 2)


def test_an_unsubscribe_reply_suppresses_the_sender(db: Session) -> None:
    raw = fixture("french_unsubscribe_reply.eml")
    sent_attempt(db, "stephanie.dubois@example.net", first_ref(raw))
    out = process_inbound_message(db, raw, received_at=T0)
    assert out["kind"] == "UNSUBSCRIBE_REQUEST"
    hit = ops.check_suppression(db, email="stephanie.dubois@example.net")
    assert hit is not None and hit["reason"] == "UNSUBSCRIBED"


def test_our_own_sent_copy_is_never_a_reply(db: Session) -> None:
    raw = fixture("own_sent_copy.eml")
    out = process_inbound_message(db, raw, received_at=T0)
    assert out["kind"] == "UNKNOWN"
    assert db.scalar(select(EventDB.type).where(EventDB.type == "REPLY_RECEIVED")) is None


def test_a_reply_without_references_is_matched_by_sender(db: Session) -> None:
    raw = fixture("gmail_human_reply.eml")
    ref = first_ref(raw)
    stripped = (
        b"\r\n".join(
            line
            for line in raw.split(b"\r\n")
            if not line.lower().startswith((b"in-reply-to:", b"references:"))
        )
        if b"\r\n" in raw
        else b"\n".join(
            line
            for line in raw.split(b"\n")
            if not line.lower().startswith((b"in-reply-to:", b"references:"))
        )
    )
    assert ref.encode() not in stripped.split(b"\n\n")[0]
    lead_id, attempt_id = sent_attempt(db, "jane.doe@example.org", None)
    out = process_inbound_message(db, stripped, received_at=T0)
    assert out["kind"] == "REPLY" and out["lead_id"] == lead_id and out["attempt_id"] == attempt_id


def test_sent_email_counts_as_delivered_after_a_day_without_bounce(db: Session) -> None:
    _, attempt_id = sent_attempt(db, "quiet@example.org", "<q@aicmo.example>")
    assert mark_delivered(db, now=T0 + timedelta(hours=23)) == 0
    assert mark_delivered(db, now=T0 + timedelta(hours=25)) == 1
    assert status_of(db, attempt_id) == "DELIVERED"
    assert mark_delivered(db, now=T0 + timedelta(hours=26)) == 0
    assert (
        ops.get_channel_metrics(db, days=30, now=T0 + timedelta(hours=25))["EMAIL"]["delivered"]
        == 1
    )


def test_forget_blanks_the_replies_of_the_person(db: Session) -> None:
    raw = fixture("gmail_human_reply.eml")
    sent_attempt(db, "jane.doe@example.org", first_ref(raw))
    process_inbound_message(db, raw, received_at=T0)
    exported = ops.export_person(db, "jane.doe@example.org")
    assert exported["inbound_messages"][0]["kind"] == "REPLY"
    assert exported["inbound_messages"][0]["text"]
    ops.forget_person(db, "jane.doe@example.org")
    from aicmo.cam.db_models import InboundMessageDB

    row = db.scalar(select(InboundMessageDB))
    assert row is not None
    assert (row.from_address, row.subject, row.text) == (None, None, None)
