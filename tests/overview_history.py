"""Today's activity for the overview's tests, made through the services: sends, replies,
a bounce and a complaint today, an email three days ago, an overdue LinkedIn task, a paused
LinkedIn account, a disabled mailbox, a stale worker and an attempt a worker left SENDING."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import LinkedInAccountDB, OutreachMessageDB
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.config import get_settings
from aicmo.operator_services.channels.linkedin_accounts import (
    add_linkedin_account,
    pause_account,
)
from aicmo.operator_services.channels.mailboxes import add_mailbox, set_mailbox_enabled
from aicmo.operator_services.inbound.processing import process_inbound_message
from aicmo.operator_services.ops.health import record_tick
from tests.dashboard import XSS, XSS_SCRIPT


def _reply(sender: str, text: str, n: int, now: datetime) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = get_settings().sender_email
    msg["Subject"] = "Re: Hello"
    msg["Message-ID"] = f"<overview-reply-{n}@acme.example>"
    msg["Date"] = now.strftime("%a, %d %b %Y %H:%M:%S +0000")
    msg.set_content(text)
    return msg.as_bytes()


def seed_today(db: Session, now: datetime) -> None:
    """Today: 4 emails sent, 2 replies (interested, not interested), a hard bounce and a
    complaint; 3 days ago one email; a LinkedIn task opened 2 days ago (overdue), a
    paused LinkedIn account (the provider's reason written like markup), a disabled
    mailbox, a worker that stopped ticking 10 minutes ago and an attempt left
    SENDING by it."""
    emails = ["ann@acme.example", "bob@acme.example", "cy@beta.example", "x@gamma.example"]
    leads = [
        ops.create_lead(db, email=emails[0], first_name="Ann")["id"],
        ops.create_lead(db, email=emails[1], first_name="Bob")["id"],
        ops.create_lead(db, email=emails[2], first_name="Cy")["id"],
        ops.create_lead(db, email=emails[3], first_name=XSS, company=XSS_SCRIPT)["id"],
    ]
    for lead_id in leads:
        assert ops.send_outreach_message(db, lead_id, "Hello", "Hello", now=now)["success"]
    early = ops.create_lead(db, email="early@delta.example")["id"]
    ops.send_outreach_message(db, early, "Hello", "Hello", now=now - timedelta(days=3))
    replies = (
        (emails[0], "Sounds interesting, tell me more."),
        (emails[1], "Not interested, thanks."),
    )
    for n, (sender, text) in enumerate(replies):
        assert process_inbound_message(db, _reply(sender, text, n, now), received_at=now)["lead_id"]
    for type_, lead_id in ((EventType.BOUNCED_HARD, leads[2]), (EventType.COMPLAINED, leads[3])):
        event = OutreachEvent(type=type_, occurred_at=now, channel="EMAIL")
        ops.record_event(db, event, lead_id=lead_id)
    profile = ops.create_lead(db, linkedin_url="https://www.linkedin.com/in/dee-overview")["id"]
    task = ops.send_outreach_message(
        db, profile, "Hi Dee", channel="LINKEDIN", now=now - timedelta(days=2)
    )
    assert task["status"] == "QUEUED"
    # After the task: with an account, LinkedIn would go through the provider instead.
    account = add_linkedin_account(
        db,
        "Sales seat",
        base_url="https://api1.unipile.example",
        account_ref="acc-1",
        api_key="key-not-real",
        now=now,
    )
    row = db.get(LinkedInAccountDB, account["id"])
    assert row is not None
    pause_account(db, row, f"provider said: {XSS_SCRIPT}", now)
    add_mailbox(db, "Old relay", "old@acme.example", smtp_host="smtp.acme.example", now=now)
    set_mailbox_enabled(db, "Old relay", False, now=now)
    record_tick(
        db,
        "host:7",
        now=now - timedelta(minutes=10),
        started_at=now - timedelta(hours=1),
        processed=5,
    )
    # A worker killed mid-send leaves its attempt SENDING (the engine's own write).
    stuck = now - timedelta(minutes=30)
    db.add(
        OutreachMessageDB(
            workspace_id=1,
            lead_id=leads[3],
            channel="EMAIL",
            status="SENDING",
            recipient=emails[3],
            subject="Hello",
            body="Hello",
            idempotency_key="overview:stuck",
            created_at=stuck,
            updated_at=stuck,
        )
    )
    db.commit()
