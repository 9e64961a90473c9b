"""The unified inbox in a real browser: a reply that arrived through the inbound path
shows with its category and rule, a one-click correction sticks, and an answer sent from
the reply's page lands in the outbox threaded under the reply."""

from __future__ import annotations

import os
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from aicmo import operator_services as ops
from aicmo.cam.db_models import OutreachMessageDB
from aicmo.operator_services import accounts
from aicmo.operator_services.crm.replies import list_replies
from aicmo.operator_services.inbound.processing import process_inbound_message
from aicmo.operator_services.uow import utcnow
from tests.dashboard import XSS, XSS_SCRIPT, Site, screenshot, signed_in_page

LEAD = "jane.doe@example.org"
REPLY_ID = "<r1.jane@example.org>"


def seed_reply(site: Site, *, first_name: str, body: str, company: str | None = None) -> int:
    """A lead we wrote to (through the outbox) and their reply, processed as a mailbox
    poll would; the reply's id."""
    with site.db() as db:
        lead_id = ops.create_lead(db, email=LEAD, first_name=first_name, company=company)["id"]
        sent = ops.send_outreach_message(db, lead_id, "Hi {{ first_name }}", "Quick question")
        ours = db.get(OutreachMessageDB, sent["message_id"])
        assert ours is not None and ours.rfc_message_id
        msg = EmailMessage()
        msg["From"] = f"Jane Doe <{LEAD}>"
        msg["To"] = "sender@agency.example"
        msg["Subject"] = "Re: Quick question"
        msg["Date"] = format_datetime(utcnow())
        msg["Message-ID"] = REPLY_ID
        msg["In-Reply-To"] = ours.rfc_message_id
        msg["References"] = ours.rfc_message_id
        msg.set_content(body)
        process_inbound_message(db, msg.as_bytes())
        [reply] = list_replies(db)
        return int(reply["id"])


def test_a_reply_shows_is_corrected_in_one_click_and_is_answered_threaded(
    browser: Browser, site: Site
) -> None:
    reply_id = seed_reply(
        site,
        first_name="Jane",
        body="Sounds interesting, tell me more.\nWhat does it cost for a team of 5?",
    )
    with site.db() as db:
        [reply] = list_replies(db)
    assert reply["rule"] != "none", reply  # the rules recognised it
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/inbox")
        row = page.locator(f"#reply-{reply_id}")
        expect(row).to_contain_text("Jane")
        expect(row).to_contain_text("Sounds interesting, tell me more.")
        expect(row.locator(".category-now")).to_contain_text(reply["category"].replace("_", " "))
        expect(row.locator(".rule")).to_contain_text(reply["rule"])
        expect(row.get_by_role("link", name="Jane")).to_have_attribute(
            "href", f"/leads/{reply['lead_id']}"
        )
        screenshot(page, "inbox")

        row.get_by_role("button", name="Not interested").click()
        row = page.locator(f"#reply-{reply_id}")
        expect(row.locator(".category-now")).to_contain_text("not interested")
        expect(row.locator(".rule")).to_contain_text("operator")
        expect(row.get_by_role("button", name="Not interested")).to_have_attribute(
            "aria-pressed", "true"
        )
        page.reload()
        expect(page.locator(f"#reply-{reply_id} .category-now")).to_contain_text("not interested")
        page.goto(f"{site.base}/inbox?category=interested")
        expect(page.locator(f"#reply-{reply_id}")).to_have_count(0)
        page.goto(f"{site.base}/inbox?category=not_interested")
        expect(page.locator(f"#reply-{reply_id}")).to_have_count(1)

        page.locator(f"#reply-{reply_id} .snippet a").click()
        expect(page).to_have_url(f"{site.base}/inbox/{reply_id}")
        expect(page.locator("#reply-text")).to_contain_text("What does it cost for a team of 5?")
        expect(page.get_by_text("Subject: Re: Quick question")).to_be_visible()
        page.get_by_label("Your answer").fill("Hi Jane,\nFor five people it is 49 a month.")
        screenshot(page, "reply")
        page.get_by_role("button", name="Send answer").click()
        expect(page.get_by_role("status")).to_contain_text("local outbox")
        expect(page.get_by_role("status")).to_contain_text("not delivered")
        expect(page.locator("table")).to_contain_text("Re: Quick question")
        watch.assert_clean()

    outbox = Path(os.environ["AICMO_OUTBOX_DIR"])
    threaded = []
    for path in outbox.rglob("*.eml"):
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        if msg["In-Reply-To"] == REPLY_ID:
            threaded.append(msg)
    assert len(threaded) == 1
    [answer] = threaded
    assert answer["Subject"] == "Re: Quick question"
    assert str(answer["References"]).split()[-1] == REPLY_ID
    assert LEAD in str(answer["To"])


def test_reply_data_is_text_and_the_inbox_fits_a_phone(browser: Browser, site: Site) -> None:
    reply_id = seed_reply(
        site,
        first_name=XSS,
        company=XSS_SCRIPT,
        body=f"Interested! {XSS_SCRIPT} {XSS}\nSee {'averyveryverylongwordwithoutspaces' * 4}",
    )
    with signed_in_page(browser, site, width=390, height=844) as (page, watch):
        page.goto(f"{site.base}/inbox")
        row = page.locator(f"#reply-{reply_id}")
        expect(row.locator(".lead")).to_have_text(XSS)
        expect(row.locator(".snippet")).to_contain_text(XSS_SCRIPT)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the inbox scrolls sideways at 390px ({wide}px)"
        screenshot(page, "inbox-phone")
        page.goto(f"{site.base}/inbox/{reply_id}")
        expect(page.locator("h1")).to_contain_text(XSS)
        expect(page.locator("#reply-text")).to_contain_text(f"{XSS_SCRIPT} {XSS}")
        assert page.locator("main img").count() == 0  # the name did not become markup
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the reply page scrolls sideways at 390px ({wide}px)"
        watch.assert_clean()


def test_correcting_needs_the_token_and_an_operator(site: Site) -> None:
    reply_id = seed_reply(site, first_name="Jane", body="Tell me more.")
    with site.db() as db:
        accounts.add_user(
            db, "viewer@agency.example", "viewer password 123", role="viewer", workspace_id=1
        )
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        client.post("/login", data={"email": site.email, "password": site.password})
        refused = client.post(f"/inbox/{reply_id}/category", data={"category": "other"})
        assert refused.status_code == 403
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        client.post(
            "/login", data={"email": "viewer@agency.example", "password": "viewer password 123"}
        )
        page = client.get(f"/inbox/{reply_id}")
        assert page.status_code == 200 and "Send answer" not in page.text
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        denied = client.post(
            f"/inbox/{reply_id}/category", data={"category": "other", "csrf_token": token}
        )
        assert denied.status_code == 403
    with site.db() as db:
        [reply] = list_replies(db)
        assert reply["category"] != "other"
