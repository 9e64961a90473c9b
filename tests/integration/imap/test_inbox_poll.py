"""`aicmo inbox poll` end to end: a real IMAP server (pymap), our poller, a real database."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB, MailboxDB, OutreachMessageDB
from aicmo.cam.inbound import classify_message
from aicmo.errors import NotFoundError
from aicmo.operator_services.channels.mailboxes import add_mailbox
from aicmo.operator_services.inbound.imap_poll import poll_mailbox
from tests.factories import add_sent_email
from tests.integration.imap.conftest import PASSWORD, USER, ImapServer

MAIL = Path(__file__).parent.parent.parent / "fixtures" / "mail"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
FIXTURES = {
    "postfix_dsn_user_unknown.eml": "jane.doe@example.org",
    "gmail_human_reply.eml": "jane.doe@example.org",
    "outlook_automatic_reply.eml": "ben.carter@example.com",
    "arf_yahoo_abuse.eml": "olivia.brown@yahoo.example",
}


def attempt_for(db: Session, email: str, raw: bytes) -> int:
    lead = ops.get_lead(db, email) if _exists(db, email) else ops.create_lead(db, email=email)
    ref = classify_message(raw, T0).references[-1]
    return add_sent_email(db, lead["id"], email, ref, at=T0)


def _exists(db: Session, email: str) -> bool:
    try:
        ops.get_lead(db, email)
    except NotFoundError:
        return False
    return True


def event_count(db: Session) -> int:
    db.rollback()
    return int(db.scalar(select(func.count()).select_from(EventDB)) or 0)


def test_polling_applies_each_message_once(
    db: Session, imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    add_mailbox(
        db,
        "sales",
        "alex@aicmo.example",
        imap_host="127.0.0.1",
        imap_port=imap_server.port,
        imap_security="none",
        imap_username=USER,
        imap_password=PASSWORD,
        imap_folder=folder,
    )
    first = poll_mailbox(db, "sales", now=T0)
    assert first["initialised"] is True and first["fetched"] == 0

    attempts = {}
    for name, email in FIXTURES.items():
        raw = (MAIL / name).read_bytes()
        attempts[name] = attempt_for(db, email, raw)
        mailbox.append(folder, raw)

    second = poll_mailbox(db, "sales", now=T0)
    assert second["fetched"] == 4
    assert second["kinds"] == {"BOUNCE": 1, "REPLY": 1, "AUTO_REPLY": 1, "COMPLAINT": 1}
    db.rollback()
    statuses = {
        name: db.get(OutreachMessageDB, attempt_id).status  # type: ignore[union-attr]
        for name, attempt_id in attempts.items()
    }
    assert statuses == {
        "postfix_dsn_user_unknown.eml": "BOUNCED",
        "gmail_human_reply.eml": "REPLIED",
        "outlook_automatic_reply.eml": "SENT",
        "arf_yahoo_abuse.eml": "COMPLAINED",
    }
    assert ops.check_suppression(db, email="jane.doe@example.org") is not None
    assert ops.check_suppression(db, email="olivia.brown@yahoo.example") is not None
    assert ops.check_suppression(db, email="ben.carter@example.com") is None
    events = event_count(db)

    third = poll_mailbox(db, "sales", now=T0)
    assert third["fetched"] == 0 and event_count(db) == events  # polling twice changes nothing

    # The mailbox was recreated (new UIDVALIDITY): everything is read again, nothing counted twice.
    db.rollback()
    row = db.scalar(select(MailboxDB))
    assert row is not None
    row.imap_uidvalidity = 1
    db.commit()
    again = poll_mailbox(db, "sales", now=T0)
    assert again["fetched"] == 4 and again["kinds"] == {"duplicate": 4}
    assert event_count(db) == events
