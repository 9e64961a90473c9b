"""The leads pages in a real browser: the filtered list, one lead's page (timeline, notes,
stage, tags), the GDPR export and the erasure behind its typed confirmation."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import Browser, expect

from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.operator_services import accounts, campaigns
from aicmo.operator_services import leads as lead_service
from aicmo.operator_services.crm.events import record_event
from aicmo.operator_services.crm.importing import import_leads_csv
from tests.dashboard import XSS, XSS_SCRIPT, Site, screenshot, signed_in_page
from tests.factories import add_sent_email

T0 = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
STEPS = [{"channel": "EMAIL", "template": {"subject": "Hello", "body": "Hi {{ first_name }}"}}]


def _seed_many(site: Site, tmp_path: Path, count: int) -> None:
    """``count`` plain leads in one import (fast), tagged ``bulk``."""
    path = tmp_path / "bulk.csv"
    rows = [f"bulk{i:03d}@many.example,Bulk{i:03d},Many Co,bulk" for i in range(count)]
    path.write_text("email,first_name,company,tags\n" + "\n".join(rows) + "\n", encoding="utf-8")
    with site.db() as db:
        report = import_leads_csv(db, path)
    assert report.created == count


def test_the_list_filters_searches_pages_and_shows_names_as_text(
    browser: Browser, site: Site, tmp_path: Path
) -> None:
    _seed_many(site, tmp_path, 52)
    with site.db() as db:
        lead_service.create_lead(
            db,
            email="xss@probe.example",
            first_name=XSS,
            company=XSS_SCRIPT,
            title="CEO",
            tags=["probe"],
        )
        smith = lead_service.create_lead(
            db,
            email="jo@smithworks.example",
            first_name="Jo",
            last_name="Smith",
            company="Smithworks",
            title="CEO",
            tags=["vip"],
        )
        add_sent_email(db, smith["id"], "jo@smithworks.example", "<s1@x.example>", at=T0)
        campaigns.create_campaign(db, "Winter", steps=STEPS, audience={"tag": "vip"})
        winter = campaigns.start_campaign(db, "Winter")
    assert winter["enrolled"] == 1
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/leads")
        rows = page.locator("table.leads tbody tr")
        expect(rows).to_have_count(50)
        screenshot(page, "leads")

        # Cursor pages: the next page has the rest, and no lead twice.
        first = set(rows.locator("td:nth-child(2)").all_inner_texts())
        page.get_by_role("link", name="Next page →").click()
        expect(rows).to_have_count(4)
        second = set(rows.locator("td:nth-child(2)").all_inner_texts())
        assert not first & second and len(first | second) == 54

        # Prefix search, a tag, a campaign, a grade that none has: each narrows the list.
        page.goto(f"{site.base}/leads")
        page.get_by_label("Search").fill("smi")
        page.get_by_role("button", name="Filter").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("jo@smithworks.example")
        expect(rows.first).to_contain_text("2026-12-01 09:30")  # last activity: the attempt
        page.get_by_label("Search").fill("")
        page.get_by_label("Tag", exact=True).fill("probe")
        page.get_by_role("button", name="Filter").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("xss@probe.example")
        # The probe's name and company are shown as text, never as markup.
        expect(page.get_by_role("link", name=XSS)).to_have_count(1)
        expect(page.get_by_role("cell", name=XSS_SCRIPT, exact=True)).to_have_count(1)
        page.get_by_label("Tag", exact=True).fill("")
        page.get_by_label("Campaign").select_option(label="Winter")
        page.get_by_role("button", name="Filter").click()
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("Smithworks")
        page.get_by_label("Campaign").select_option(label="Any")
        page.get_by_label("Min. score").fill("1000")
        page.get_by_role("button", name="Filter").click()
        expect(page.get_by_text("No lead matches these filters.")).to_be_visible()
        watch.assert_clean()

    with signed_in_page(browser, site, width=390, height=844) as (page, watch):
        page.goto(f"{site.base}/leads")
        expect(page.locator("table.leads tbody tr")).to_have_count(50)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, "leads-phone")
        watch.assert_clean()


def test_a_lead_page_shows_the_timeline_and_takes_notes_stage_and_tags(
    browser: Browser, site: Site
) -> None:
    with site.db() as db:
        lead = lead_service.create_lead(
            db,
            email="ada@engines.example",
            first_name=XSS,
            last_name="Lovelace",
            company=XSS_SCRIPT,
            title="CTO",
            tags=["keep", "drop-me"],
        )
        attempt = add_sent_email(db, lead["id"], "ada@engines.example", "<a1@x.example>", at=T0)
        record_event(
            db,
            OutreachEvent(
                type=EventType.MESSAGE_OPENED,
                occurred_at=T0 + timedelta(hours=2),
                channel="EMAIL",
                source="test",
            ),
            lead_id=lead["id"],
            message_id=attempt,
        )
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/leads/{lead['id']}")
        expect(page.get_by_role("heading", level=1)).to_have_text(f"{XSS} Lovelace")
        expect(page.locator(".lead-sub")).to_contain_text(XSS_SCRIPT)
        timeline = page.locator("ol.timeline > li")
        # Newest first: the lead's creation (now), the open (11:30), the attempt (09:30).
        texts = timeline.all_inner_texts()
        kinds = [
            next((k for k in ("lead created", "message opened", "attempt") if k in t), None)
            for t in texts
        ]
        assert kinds.index("lead created") < kinds.index("message opened") < kinds.index("attempt")
        opened = texts[kinds.index("message opened")]
        assert "2026-12-01 11:30" in opened and "email" in opened and "test" not in opened
        attempt_text = texts[kinds.index("attempt")]
        for shown in ("2026-12-01 09:30", "sent", "email", "Hello", "Hi"):
            assert shown in attempt_text, (shown, attempt_text)
        expect(page.locator("ul.reasons li").first).to_be_visible()  # why this grade

        page.get_by_label("New note").fill(f"Met at the expo. {XSS_SCRIPT}")
        page.get_by_role("button", name="Add note").click()
        expect(page.get_by_role("status")).to_have_text("Note added.")
        expect(page.locator(".note-body")).to_have_text(f"Met at the expo. {XSS_SCRIPT}")

        page.get_by_label("Move to").select_option("QUALIFIED")
        page.get_by_role("button", name="Change stage").click()
        expect(page.get_by_role("status")).to_have_text("Stage set to QUALIFIED.")
        expect(timeline.first).to_contain_text("NEW → QUALIFIED")

        page.get_by_label("Add tags").fill("expo-2026")
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator("ul.tags")).to_contain_text("expo-2026")
        page.get_by_role("button", name="Remove tag drop-me").click()
        expect(page.get_by_role("status")).to_have_text("Tag drop-me removed.")
        expect(page.locator("ul.tags .tag")).to_have_text(["expo-2026", "keep"])
        screenshot(page, "lead")

        # An empty note is refused with the reason, and the page keeps working.
        page.get_by_label("New note").fill("   ")
        page.get_by_role("button", name="Add note").click()
        expect(page.get_by_role("alert")).to_contain_text("the note is empty")

        with page.expect_download() as download:
            page.get_by_role("link", name="Export (JSON)").click()
        data = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
        assert data["lead"]["email"] == "ada@engines.example"
        assert [m["subject"] for m in data["messages"]] == ["Hello"]
        assert data["lead"]["stage"] == "QUALIFIED"
        watch.assert_clean()
    with site.db() as db:
        stored = lead_service.get_lead(db, lead["id"])
    assert stored["stage"] == "QUALIFIED"
    assert sorted(stored["tags"]) == ["expo-2026", "keep"]
    assert [n["body"] for n in stored["notes"]] == [f"Met at the expo. {XSS_SCRIPT}"]


def test_erasure_needs_the_email_typed_and_then_forgets_the_person(
    browser: Browser, site: Site
) -> None:
    with site.db() as db:
        lead = lead_service.create_lead(db, email="gone@erase.example", first_name="Gone")
        add_sent_email(db, lead["id"], "gone@erase.example", "<g1@x.example>", at=T0)
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/leads/{lead['id']}")
        page.get_by_text("Erase this person…").click()
        page.get_by_label("to confirm").fill("someone@else.example")
        page.get_by_role("button", name="Erase for good").click()
        expect(page.get_by_role("alert")).to_contain_text("Nothing was erased")
        expect(page.get_by_role("heading", level=1)).to_have_text("Gone")

        page.get_by_label("to confirm").fill("GONE@erase.example ")
        page.get_by_role("button", name="Erase for good").click()
        expect(page).to_have_url(re.compile(r"/leads$"))
        expect(page.get_by_role("status")).to_contain_text(f"Lead #{lead['id']} erased")
        expect(page.get_by_text("gone@erase.example")).to_have_count(0)
        answer = page.goto(f"{site.base}/leads/{lead['id']}")
        assert answer is not None and answer.status == 404
        watch.assert_clean()
    with site.db() as db:
        assert lead_service.count_leads(db) == 0


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def test_a_viewer_reads_but_cannot_change(site: Site) -> None:
    with site.db() as db:
        lead = lead_service.create_lead(db, email="read@only.example", first_name="Read")
        accounts.add_user(
            db, "viewer@agency.example", "viewer password 123", role="viewer", workspace_id=1
        )
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        client.post(
            "/login", data={"email": "viewer@agency.example", "password": "viewer password 123"}
        )
        page = client.get(f"/leads/{lead['id']}")
        assert page.status_code == 200
        assert "read@only.example" in page.text
        for change in ("Change stage", "Add note", "Erase for good", "Remove tag"):
            assert change not in page.text
        assert "Export (JSON)" in page.text
        token = _csrf(client.get("/leads").text)  # the sign-out form carries it
        refused = client.post(
            f"/leads/{lead['id']}/notes", data={"csrf_token": token, "body": "hello"}
        )
        assert refused.status_code == 403
        refused = client.post(
            f"/leads/{lead['id']}/forget",
            data={"csrf_token": token, "confirm": "read@only.example"},
        )
        assert refused.status_code == 403
        # Without the token, even an operator's change is refused.
        assert client.post(f"/leads/{lead['id']}/stage", data={"stage": "WON"}).status_code == 403
    with site.db() as db:
        kept = lead_service.get_lead(db, lead["id"])
    assert kept["notes"] == [] and kept["stage"] == "NEW"


def test_a_bad_filter_says_what_to_fix(site: Site) -> None:
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        client.post("/login", data={"email": site.email, "password": site.password})
        answer = client.get("/leads", params={"min_score": "lots"})
        assert answer.status_code == 422
        assert "the minimum score must be a whole number" in answer.text
        answer = client.get("/leads", params={"cursor": "not-a-cursor"})
        assert answer.status_code == 422
        assert "start again without one" in answer.text
        assert client.get("/leads/999999").status_code == 404
