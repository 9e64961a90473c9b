"""The overview in a real browser: today's numbers from a real history, what waits for a
person flagged, the 14-day chart drawn, a provider's words shown as text, a phone's width;
another workspace sees none of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.sync_api import Browser, Locator, Page, expect

from aicmo.operator_services import accounts
from tests.dashboard import XSS_SCRIPT, Site, assert_every_chart_drawn, screenshot, signed_in_page
from tests.overview_history import seed_today


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
        expect(overdue.get_by_role("link")).to_have_attribute("href", "/tasks")
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
        assert_every_chart_drawn(page)
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


def test_another_workspace_sees_none_of_it(site: Site) -> None:
    now = datetime.now(UTC)
    with site.db() as db:
        seed_today(db, now)
        other = accounts.create_workspace(db, "other-client")
        accounts.add_user(
            db, "viewer@other.example", site.password, role="viewer", workspace_id=other["id"]
        )
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        signed = client.post(
            "/login",
            data={"email": "viewer@other.example", "password": site.password},
        )
        assert signed.status_code == 303
        page = client.get("/")
        assert page.status_code == 200
        for label in ("Sent today", "Replies today", "Open tasks", "Outcome unknown"):
            assert f"<strong>0</strong><span>{label}</span>" in page.text, label
        for theirs in ("Old relay", "Sales seat", "x@gamma.example", "overdue task"):
            assert theirs not in page.text
        assert "No campaign yet" in client.get("/analytics").text
