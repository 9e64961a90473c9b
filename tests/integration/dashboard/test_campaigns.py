"""The campaigns pages in a real browser: build a campaign (its errors, then a live preview
on a real lead), create and start it, let the engine send, and read the campaign's page:
the funnel and its chart, the enrollments, and why a lead is not being contacted."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, expect

from aicmo.cam.auto import run_once
from aicmo.operator_services import accounts
from aicmo.operator_services.analytics.abtest import variant_results
from aicmo.operator_services.crm.suppression import add_suppression
from aicmo.operator_services.leads import create_lead
from tests.dashboard import (
    XSS,
    XSS_SCRIPT,
    Site,
    assert_every_chart_drawn,
    screenshot,
    signed_in_page,
)


def _seed_leads(site: Site) -> dict[str, int]:
    with site.db() as db:
        ada = create_lead(db, email="ada@acme.example", first_name="Ada", company="Acme")
        odd = create_lead(db, email="odd@xss.example", first_name=XSS, company=XSS_SCRIPT)
        sam = create_lead(db, email="sam@blocked.example", first_name="Sam", company="Blocked")
        add_suppression(db, "sam@blocked.example", note="asked us to stop")
    return {"ada": ada["id"], "odd": odd["id"], "sam": sam["id"]}


def test_build_start_send_and_explain_a_campaign(browser: Browser, site: Site) -> None:
    leads = _seed_leads(site)
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/campaigns")
        expect(page.get_by_text("No campaigns yet")).to_be_visible()
        page.get_by_role("link", name="New campaign").click()
        expect(page).to_have_url(f"{site.base}/campaigns/new")

        # A step with no body: the service's message, beside the body.
        page.get_by_label("Name", exact=True).fill("Spring launch")
        page.get_by_label("Subject (email)").fill("Hello {{ first_name }}")
        page.get_by_role("button", name="Validate", exact=True).click()
        expect(page.locator("#err-steps-0-body")).to_contain_text("body must not be empty")
        expect(page.get_by_role("alert")).to_contain_text("step 0: template.body")

        # An attempt at template injection: the sandbox refuses it, in the preview.
        body = page.get_by_label("Body", exact=True)
        page.locator("#preview-lead").select_option(str(leads["ada"]))
        body.fill("{{ ''.__class__.__mro__ }}")
        expect(page.locator("#preview-0 [data-preview=error]")).to_contain_text("is not accessible")

        # The preview renders a real lead with the engine's renderer.
        body.fill('Hi {{ first_name | default("there") }} at {{ company }},\nshall we talk?')
        expect(page.locator("#preview-0 [data-preview=subject]")).to_have_text("Hello Ada")
        expect(page.locator("#preview-0 [data-preview=body]")).to_contain_text("Hi Ada at Acme")
        # A lead whose name is markup shows it as text.
        page.locator("#preview-lead").select_option(str(leads["odd"]))
        expect(page.locator("#preview-0 [data-preview=body]")).to_contain_text(
            f"Hi {XSS} at {XSS_SCRIPT}"
        )

        # A second step, added and removed by the form itself; its channel is checked too.
        page.get_by_role("button", name="Add step").click()
        expect(page.locator("#step-1")).to_be_visible()
        page.locator("select[name=steps-1-channel]").select_option("LINKEDIN")
        page.locator("textarea[name=steps-1-body]").fill("Hi {{ frist_name }}")
        page.get_by_role("button", name="Validate", exact=True).click()
        expect(page.locator("#err-steps-1-body")).to_contain_text(
            "unknown variable 'frist_name' (did you mean 'first_name'?)"
        )
        page.get_by_role("button", name="Remove step 2").click()
        expect(page.locator("#step-1")).to_have_count(0)
        # What was typed survives the round trips.
        expect(page.get_by_label("Name", exact=True)).to_have_value("Spring launch")

        page.get_by_role("button", name="Validate", exact=True).click()
        expect(page.get_by_role("status")).to_contain_text("Ready: 3 lead(s) in the audience")
        expect(page.locator("#preview-0 [data-preview=subject]")).to_be_visible()
        screenshot(page, "campaign-builder")
        page.get_by_role("button", name="Create campaign").click()
        expect(page).to_have_url(re.compile(r"/campaigns/\d+$"))
        expect(page.locator(".flash")).to_contain_text("created as a draft")
        expect(page.get_by_text("Ready: 3 lead(s) in the audience")).to_be_visible()

        page.get_by_role("button", name="Start").click()
        expect(page.locator(".flash")).to_contain_text("3 lead(s) enrolled")
        campaign_url = page.url.split("?")[0]

        # The worker's tick, as `aicmo worker --once`: the outbox transport sends.
        with site.db() as db:
            figures = run_once(db)
        assert figures["processed"] == 3, figures

        page.goto(campaign_url)
        expect(page.locator("tr[data-step='0'] [data-figure=sent]")).to_have_text("2")
        chart = page.locator("#funnel-chart")
        expect(chart).to_have_attribute("data-rendered", "1")
        assert int(chart.get_attribute("data-points") or 0) > 0
        expect(page.locator("#daily-chart")).to_have_attribute("data-rendered", "1")
        assert assert_every_chart_drawn(page, at_least=3) == 3
        expect(page.locator("[data-state-count=STOPPED]")).to_have_text("1")
        enrollments = page.locator("table.enrollments")
        expect(enrollments).to_contain_text(XSS)
        expect(enrollments).to_contain_text(XSS_SCRIPT)

        # Why is Sam not being contacted? Suppressed.
        page.locator("tr", has_text="Sam").get_by_role("link", name="Why?").click()
        expect(page.locator("#why")).to_contain_text("suppressed")
        # And Ada, who got step 1: nothing left to send.
        page.locator("tr", has_text="Ada").get_by_role("link", name="Why?").click()
        expect(page.locator("#why")).to_contain_text("Every step of the sequence went out")
        screenshot(page, "campaign")

        page.goto(f"{site.base}/campaigns")
        expect(page.get_by_role("link", name="Spring launch")).to_be_visible()
        expect(page.locator("tbody tr").first).to_contain_text("3")
        screenshot(page, "campaigns")

        # A phone: no sideways scrolling of the page.
        page.set_viewport_size({"width": 390, "height": 844})
        for url in (campaign_url, f"{site.base}/campaigns/new"):
            page.goto(url)
            page.wait_for_load_state("load")
            wide = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert wide <= 0, f"{url} scrolls sideways by {wide}px at 390px"
        page.goto(campaign_url)
        screenshot(page, "campaign-phone")
        watch.assert_clean()


def test_pausing_and_resuming_and_what_a_viewer_may_do(browser: Browser, site: Site) -> None:
    _seed_leads(site)
    with site.db() as db:
        accounts.add_user(
            db, "viewer@agency.example", "viewer password 123", role="viewer", workspace_id=1
        )
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/campaigns/new")
        page.get_by_label("Name", exact=True).fill("Evergreen")
        page.get_by_label("Subject (email)").fill("Hi")
        page.get_by_label("Body", exact=True).fill("Hello {{ first_name }}")
        page.get_by_role("button", name="Create campaign").click()
        page.get_by_role("button", name="Start").click()
        page.get_by_role("button", name="Pause").click()
        expect(page.locator(".flash")).to_contain_text("Campaign paused")
        expect(page.locator("h1 .badge")).to_have_text("PAUSED")
        # A paused campaign's enrollments say so.
        page.get_by_role("link", name="Why?").first.click()
        expect(page.locator("#why")).to_contain_text("The campaign is paused")
        page.get_by_role("button", name="Resume").click()
        expect(page.locator("h1 .badge")).to_have_text("ACTIVE")
        campaign_path = page.url.split("?")[0].removeprefix(site.base)
        watch.assert_clean()

    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        client.post(
            "/login", data={"email": "viewer@agency.example", "password": "viewer password 123"}
        )
        assert client.get("/campaigns").status_code == 200
        assert "New campaign" not in client.get("/campaigns").text
        page_text = client.get(campaign_path)
        assert page_text.status_code == 200 and '/pause"' not in page_text.text
        assert client.get("/campaigns/new").status_code == 403
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page_text.text)
        assert csrf is not None
        refused = client.post(f"{campaign_path}/pause", data={"csrf_token": csrf.group(1)})
        assert refused.status_code == 403
        # Without the session's token, even the form is refused.
        assert client.post(f"{campaign_path}/pause", data={}).status_code == 403
        assert client.get("/campaigns/999999").status_code == 404


def test_a_step_built_with_a_variant_b_is_an_ab_test_on_the_analytics_page(site: Site) -> None:
    with site.db() as db:
        create_lead(db, email="ada@lovelace.example", first_name="Ada")
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        client.post("/login", data={"email": site.email, "password": site.password})
        token = re.search(r'"X-CSRF-Token": "([^"]+)"', client.get("/campaigns/new").text)
        assert token
        form = {
            "csrf_token": token.group(1),
            "action": "create",
            "name": "Subject test",
            "steps-0-channel": "EMAIL",
            "steps-0-subject": "Hello {{ first_name }}",
            "steps-0-body": "A note for {{ first_name }}.",
            "steps-0-ab": "1",
            "steps-0-b_subject": "Quick question, {{ first_name }}",
        }
        created = client.post("/campaigns/new", data=form)
        assert created.status_code == 303, created.text
        with site.db() as db:
            [result] = variant_results(db, "Subject test")["steps"]
        assert [arm["name"] for arm in result["variants"]] == ["A", "B"]
        assert result["status"] == "not_enough_data"
        campaign_id = created.headers["location"].split("/")[-1]
        page = client.get(f"/analytics?campaign_id={campaign_id}")
        assert page.status_code == 200
        assert "No step of this campaign has variants" not in page.text
