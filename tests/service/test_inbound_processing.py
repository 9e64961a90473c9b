"""What inbound mail changes, on a real database (fixtures modelled on real MTAs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB, OutreachMessageDB
from aicmo.cam.inbound import classify_message
from aicmo.operator_services.channels.mailboxes import add_mailbox
from aicmo.operator_services.inbound.processing import mark_delivered, process_inbound_message
from aicmo.operator_services.ops.health import health
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


def test_our_own_sent_copy_from_one_of_our_mailboxes_is_never_a_reply(db: Session) -> None:
    add_mailbox(db, "alex", "alex@aicmo.example")
    raw = fixture("own_sent_copy.eml")
    out = process_inbound_message(db, raw, received_at=T0)
    assert out["kind"] == "UNKNOWN"
    assert db.scalar(select(EventDB.type).where(EventDB.type == "REPLY_RECEIVED")) is None


def test_a_copy_carrying_one_of_our_message_ids_is_never_a_reply(db: Session) -> None:
    """E.g. sent through a mailbox whose address we no longer list."""
    raw = fixture("own_sent_copy.eml").replace(
        b"Alex Martin <alex@aicmo.example>", b"Alex Martin <alex.martin@mail.example>", 1
    )
    own_id = classify_message(raw, T0).message_id
    sent_attempt(db, "ben.carter@example.com", own_id)
    out = process_inbound_message(db, raw, received_at=T0)
    assert out["kind"] == "UNKNOWN"
    assert db.scalar(select(EventDB.type).where(EventDB.type == "REPLY_RECEIVED")) is None


def test_an_opt_out_from_a_lead_on_our_mailboxes_domain_suppresses_her(db: Session) -> None:
    """Our mailbox is on a shared provider domain; so is the lead. She is a person."""
    add_mailbox(db, "main", "alex.sales@gmail.com")
    lead_id, attempt_id = sent_attempt(db, "sam.lee@gmail.com", "<q1@mail.aicmo.example>")
    raw = (
        b"From: Sam Lee <sam.lee@gmail.com>\r\nTo: Alex <alex.sales@gmail.com>\r\n"
        b"Subject: Re: Quick question\r\nMessage-ID: <CAF=reply-1@mail.gmail.com>\r\n"
        b"In-Reply-To: <q1@mail.aicmo.example>\r\nDate: Fri, 20 Nov 2026 10:00:00 +0000\r\n"
        b"\r\nPlease remove me from your list.\r\n"
    )
    out = process_inbound_message(db, raw, received_at=T0)
    assert out["kind"] == "UNSUBSCRIBE_REQUEST" and out["lead_id"] == lead_id
    hit = ops.check_suppression(db, email="sam.lee@gmail.com")
    assert hit is not None and hit["reason"] == "UNSUBSCRIBED"
    assert status_of(db, attempt_id) == "UNSUBSCRIBED"


def arf_opt_out(removal: str | None, original_id: str) -> bytes:
    """An ARF opt-out report (draft-ietf-marf-opt-out) from a provider's feedback loop."""
    removal_line = f"Removal-Recipient: {removal}\r\n" if removal else ""
    return (
        "From: fbl@feedback.example.net\r\nTo: fbl@aicmo.example\r\n"
        "Subject: Opt-out report\r\nMessage-ID: <optout-1@feedback.example.net>\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThe user asked to be removed.\r\n\r\n"
        "--b\r\nContent-Type: message/feedback-report\r\n\r\n"
        f"Feedback-Type: opt-out\r\nUser-Agent: ExampleFBL/1\r\nVersion: 1\r\n{removal_line}"
        "\r\n--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: alex@aicmo.example\r\nTo: undisclosed-recipients:;\r\nMessage-ID: {original_id}\r\n"
        "\r\n--b--\r\n"
    ).encode()


def test_an_arf_opt_out_suppresses_the_removal_recipient_not_the_reporter(db: Session) -> None:
    ops.create_lead(db, email="fbl@feedback.example.net")  # the reporter is a lead too
    lead_id, attempt_id = sent_attempt(db, "olivia@example.net", "<o1@mail.aicmo.example>")
    # The provider rewrote the original's Message-ID: only the named recipient tells who.
    out = process_inbound_message(
        db, arf_opt_out("olivia@example.net", "<rewritten-1@feedback.example.net>"), received_at=T0
    )
    assert out["kind"] == "UNSUBSCRIBE_REQUEST" and out["lead_id"] == lead_id
    assert ops.check_suppression(db, email="olivia@example.net")["reason"] == "UNSUBSCRIBED"  # type: ignore[index]
    assert ops.check_suppression(db, email="fbl@feedback.example.net") is None
    assert status_of(db, attempt_id) == "UNSUBSCRIBED"


def test_an_arf_opt_out_naming_nobody_reaches_the_lead_through_our_message_id(
    db: Session,
) -> None:
    lead_id, _ = sent_attempt(db, "olivia@example.net", "<o2@mail.aicmo.example>")
    out = process_inbound_message(db, arf_opt_out(None, "<o2@mail.aicmo.example>"), received_at=T0)
    assert out["lead_id"] == lead_id
    assert ops.check_suppression(db, email="olivia@example.net")["reason"] == "UNSUBSCRIBED"  # type: ignore[index]
    event = db.scalar(select(EventDB).where(EventDB.type == "UNSUBSCRIBED"))
    assert event is not None and event.lead_id == lead_id
    assert event.recipient == "olivia@example.net"


def test_an_opt_out_is_recorded_even_when_the_address_was_already_suppressed(
    db: Session,
) -> None:
    lead_id, _ = sent_attempt(db, "olivia@example.net", "<o3@mail.aicmo.example>")
    ops.add_suppression(db, "olivia@example.net")
    process_inbound_message(
        db, arf_opt_out("olivia@example.net", "<o3@mail.aicmo.example>"), received_at=T0
    )
    events = list(db.scalars(select(EventDB).where(EventDB.type == "UNSUBSCRIBED")))
    assert [e.lead_id for e in events] == [lead_id]


def test_a_carriers_delivery_failed_note_bounces_the_lead_and_is_no_reply(db: Session) -> None:
    raw = (MAIL / "corpus" / "hard" / "sisimai-us-verizon-1.eml").read_bytes()
    lead_id, attempt_id = sent_attempt(
        db, "000000000000@vtext.com", "<00000000000000.00000.qmail@example.com>"
    )
    out = process_inbound_message(db, raw, received_at=T0)
    assert out["kind"] == "BOUNCE" and out["lead_id"] == lead_id
    assert status_of(db, attempt_id) == "BOUNCED"
    assert ops.check_suppression(db, email="000000000000@vtext.com")["reason"] == "HARD_BOUNCE"  # type: ignore[index]
    assert db.scalar(select(EventDB.type).where(EventDB.type == "REPLY_RECEIVED")) is None


def test_a_dmarc_failure_report_is_an_auth_failure_seen_in_health_not_a_complaint(
    db: Session,
) -> None:
    raw = (MAIL / "corpus" / "auth_failure" / "sisimai-arf-07.eml").read_bytes()
    _, attempt_id = sent_attempt(
        db, "fake.rcpt@example.com", "<105855309.1523556.1415796020873@example.net>"
    )
    out = process_inbound_message(db, raw, received_at=T0)
    assert out["kind"] == "AUTH_FAILURE_REPORT" and out["attempt_id"] == attempt_id
    assert status_of(db, attempt_id) == "SENT"
    assert ops.check_suppression(db, email="fake.rcpt@example.com") is None
    event = db.scalar(select(EventDB).where(EventDB.type == "AUTH_FAILURE_REPORTED"))
    assert event is not None and event.message_id == attempt_id and event.lead_id is None
    assert health(db, now=T0 + timedelta(days=1))["auth_failure_reports"] == 1
    assert health(db, now=T0 + timedelta(days=8))["auth_failure_reports"] == 0


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
