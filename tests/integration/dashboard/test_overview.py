"""The overview in a real browser: today's numbers from a real history, what waits for a
person flagged, the 14-day chart drawn, lead data shown as text, a phone's width."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from playwright.sync_api import Browser, Locator, Page, expect
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
from tests.dashboard import XSS, XSS_SCRIPT, Site, screenshot, signed_in_page


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


def tile(page: Page, label: str) -> Locator:
    return page.locator(".tiles li", has_text=label).locator("strong")


def test_the_overview_shows_today_and_flags_what_waits(browser: Browser, site: Site) -> None:
    now = datetime.now(UTC)
    with site.db() as db:
        seed_today(db, now)
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/")
        expect(tile(page, "Sent today")).to_have_text("4")
        expect(tile(page, "Replies today")).to_have_text("2")
        expect(tile(page, "Bounces today")).to_have_text("1")
        expect(tile(page, "Complaints today")).to_have_text("1")
        expect(tile(page, "Open tasks")).to_have_text("1")
        expect(tile(page, "Overdue tasks")).to_have_text("1")
        expect(tile(page, "Outcome unknown")).to_have_text("1")
        channels = page.locator("section", has_text="Sent today by channel")
        expect(channels.get_by_role("row", name="EMAIL")).to_contain_text("4")
        categories = page.locator("section", has_text="Replies today by category")
        expect(categories.get_by_role("row", name="interested").first).to_contain_text("1")
        expect(categories.get_by_role("row", name="not interested")).to_contain_text("1")
        expect(categories.get_by_role("row", name="meeting booked")).to_contain_text("0")

        overdue = page.locator("[data-flag=overdue-tasks]")
        expect(overdue).to_contain_text("1 overdue task")
        expect(overdue.get_by_role("link")).to_have_attribute("href", "/tasks?overdue=1")
        expect(page.locator("[data-flag=mailbox-disabled]")).to_contain_text("Old relay")
        expect(page.locator("[data-flag=email-waits]")).to_be_visible()
        paused = page.locator("[data-flag=linkedin-paused]")
        expect(paused).to_contain_text(f"Sales seat is paused: provider said: {XSS_SCRIPT}")
        expect(page.locator("[data-flag=worker]")).to_contain_text("not ticking")
        expect(page.locator("[data-flag=unknown]")).to_contain_text("1 attempt")
        doubt = page.locator("section", has_text="Attempts with an unknown outcome")
        expect(doubt.get_by_role("row", name="x@gamma.example")).to_contain_text("SENDING")

        canvas = page.locator("#days-chart")
        expect(canvas).to_have_attribute("data-rendered", "1")
        assert int(canvas.get_attribute("data-points") or 0) == 28
        days = page.locator("table.days")
        today = now.date().isoformat()
        three_ago = (now - timedelta(days=3)).date().isoformat()
        sent = days.get_by_role("row", name="Sent")
        expect(sent.locator(f"td[data-day='{today}']")).to_have_text("4")
        expect(sent.locator(f"td[data-day='{three_ago}']")).to_have_text("1")
        replies = days.get_by_role("row", name="Replies")
        expect(replies.locator(f"td[data-day='{today}']")).to_have_text("2")
        screenshot(page, "overview")
        watch.assert_clean()

    with signed_in_page(browser, site, width=390, height=844) as (page, watch):
        page.goto(f"{site.base}/")
        expect(tile(page, "Sent today")).to_have_text("4")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the page scrolls sideways at 390px ({wide}px wide)"
        screenshot(page, "overview-phone")
        watch.assert_clean()
