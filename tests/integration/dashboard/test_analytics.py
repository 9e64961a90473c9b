"""The analytics page in a real browser: a variant's verdict, attribution and ROI per
channel from a real history, the campaign report downloaded as PDF and CSV, names shown
as text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from playwright.sync_api import Browser, expect
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.operator_services import campaigns
from tests.attribution_history import make_history, set_costs
from tests.dashboard import XSS, Site, assert_every_chart_drawn, screenshot, signed_in_page

AB_START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
AB_STEPS: list[dict[str, Any]] = [
    {
        "channel": "EMAIL",
        "template": {"subject": "Hello", "body": "Body A"},
        "variants": [{"name": "A"}, {"name": "B", "subject": "Quick question"}],
    },
    {"channel": "EMAIL", "delay_hours": 48, "template": {"subject": "Again", "body": "Two"}},
]


def seed(db: Session) -> tuple[int, int]:
    """The attribution history's campaign "Q4" (with costs), then an A/B campaign named
    like markup whose step 1 has a winner: B (42 of 210) over A (15 of 210) at the plan's
    199 per arm. The rollups are written as the engine bumps them."""
    history = make_history(db)
    set_costs(db)
    ab = campaigns.create_campaign(
        db,
        XSS,
        steps=AB_STEPS,
        settings={"ab_test": {"baseline_rate": 0.10, "min_effect": 0.10}},
        now=AB_START,
    )
    campaigns.start_campaign(db, XSS, now=AB_START)
    for offset, sent, (a, b) in ((0, 150, (10, 30)), (1, 60, (5, 12))):
        for variant, column, n in (
            ("A", "sent", sent),
            ("B", "sent", sent),
            ("A", "positive_replied", a),
            ("B", "positive_replied", b),
        ):
            repo.bump_metric(
                db,
                workspace_id=1,
                day=AB_START.date() + timedelta(days=offset),
                channel="EMAIL",
                column=column,
                campaign_id=ab["id"],
                step_index=0,
                variant=variant,
                mailbox_id=None,
                by=n,
            )
    db.commit()
    return int(history["campaign_id"]), int(ab["id"])


def test_verdicts_attribution_and_report_downloads(browser: Browser, site: Site) -> None:
    with site.db() as db:
        q4, ab = seed(db)
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/analytics")
        # The newest campaign first: the A/B one, its markup of a name shown as text.
        expect(page.locator("h2.campaign-name")).to_contain_text(XSS)
        expect(page.get_by_label("Campaign", exact=True)).to_have_value(str(ab))
        step = page.locator("article[data-step='0']")
        expect(step.locator(".verdict")).to_have_attribute("data-status", "winner")
        expect(step.locator(".verdict")).to_contain_text("B is better: 20.0% vs 7.1%")
        expect(step.get_by_role("row", name="B (winner)")).to_contain_text("42")
        expect(step.get_by_role("row", name="A (control)")).to_contain_text("7.1%")
        expect(step).to_contain_text("two-proportion z-test, p =")
        expect(page.locator("#variants-0")).to_have_attribute("data-rendered", "1")
        screenshot(page, "analytics-ab")

        page.get_by_label("Campaign", exact=True).select_option(str(q4))
        page.get_by_label("Attribution model", exact=True).select_option("last_touch")
        page.get_by_label("From", exact=True).fill("2026-11-01")
        page.get_by_label("To", exact=True).fill("2026-11-30")
        page.get_by_role("button", name="Show").click()
        chosen = f"campaign={q4}&model=last_touch&metric=&from=2026-11-01&to=2026-11-30"
        expect(page).to_have_url(f"{site.base}/analytics?{chosen}")
        expect(page.locator("h2.campaign-name")).to_contain_text("Q4")
        expect(page.get_by_text("No step of this campaign has variants")).to_be_visible()
        channels = page.locator("table.by-channel")
        # Last touch: A's reply, meeting and won deal go to the LinkedIn task done last;
        # B's reply to the second email. Cost: EUR 30/month + 0.10 a send, 2 a LinkedIn send.
        linkedin = channels.get_by_role("row", name="LINKEDIN")
        expect(linkedin.locator("td")).to_have_text(
            ["1", "1", "1", "1", "1", "1000.00", "2.00", "2.00", "49900.0%"]
        )
        email = channels.get_by_role("row", name="EMAIL")
        expect(email.locator("td")).to_have_text(
            ["4", "1", "0", "0", "0", "0", "24.40", "–", "-100.0%"]
        )
        chart = page.locator("#attribution-chart")
        expect(chart).to_have_attribute("data-rendered", "1")
        assert int(chart.get_attribute("data-points") or 0) == 8
        assert_every_chart_drawn(page)
        screenshot(page, "analytics")

        with page.expect_download() as info:
            page.get_by_role("link", name="PDF").click()
        pdf = info.value
        assert pdf.suggested_filename == "report-Q4-2026-11-01-2026-11-30.pdf"
        with open(pdf.path(), "rb") as handle:
            assert handle.read(5) == b"%PDF-"

        href = page.get_by_role("link", name="CSV").get_attribute("href")
        assert href is not None and "model=last_touch" in href
        answer = page.request.get(f"{site.base}{href}")
        assert answer.status == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.headers["content-disposition"].startswith("attachment;")
        policy = answer.headers["content-security-policy"]
        assert "default-src 'none'" in policy and "script-src" not in policy
        lines = answer.text().splitlines()
        assert lines[0] == "section,day,step,channel,metric,value"
        assert "summary,,,,sent,5" in lines

        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        expect(page.locator("#attribution-chart")).to_have_attribute("data-rendered", "1")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= 390, f"the page scrolls sideways at 390px ({wide}px wide)"
        screenshot(page, "analytics-phone")
        watch.assert_clean()


def test_downloads_need_a_session_and_a_bad_date_says_how_to_write_it(site: Site) -> None:
    with site.db() as db:
        created = campaigns.create_campaign(db, "Plain", steps=AB_STEPS[1:], now=datetime.now(UTC))
    report = f"/analytics/campaigns/{created['id']}/report?format=csv"
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        assert client.get(report).status_code == 303  # to the login page
        client.post("/login", data={"email": site.email, "password": site.password})
        assert client.get(report).status_code == 200
        bad = client.get(f"/analytics?campaign={created['id']}&from=30/11/2026")
        assert bad.status_code == 422
        assert "use the form YYYY-MM-DD" in bad.text
        missing = client.get("/analytics?campaign=999999")
        assert missing.status_code == 404 and "no campaign" in missing.text
        late = client.get(f"/analytics/campaigns/999999/report?format=pdf&to={date.today()}")
        assert late.status_code == 404
