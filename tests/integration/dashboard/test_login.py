"""The door of the dashboard in a real browser: login, the redirect back, sign-out."""

from __future__ import annotations

import httpx
from playwright.sync_api import Browser, expect

from tests.dashboard import Site, screenshot, signed_in_page


def test_a_visitor_lands_on_the_login_page_and_comes_back_where_they_were_going(
    browser: Browser, site: Site
) -> None:
    with signed_in_page(browser, site, log=False) as (page, watch):
        page.goto(f"{site.base}/?days=7")
        expect(page).to_have_url(f"{site.base}/login?next=%2F%3Fdays%3D7")
        screenshot(page, "login")
        page.get_by_label("Email").fill(site.email)
        page.get_by_label("Password").fill("wrong password entirely")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("alert")).to_contain_text("the email or the password")
        page.get_by_label("Email").fill(site.email)
        page.get_by_label("Password").fill(site.password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{site.base}/?days=7")
        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{site.base}/login")
        page.goto(f"{site.base}/")
        expect(page).to_have_url(f"{site.base}/login")
        watch.assert_clean()


def test_pages_carry_a_strict_policy_and_changes_need_the_csrf_token(site: Site) -> None:
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        assert client.get("/").status_code == 303
        page = client.get("/login")
        policy = page.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "unsafe-inline" not in policy
        signed = client.post("/login", data={"email": site.email, "password": site.password})
        assert signed.status_code == 303
        assert client.get("/").status_code == 200
        # A signed-in browser posting without the token (another site's form) is refused.
        refused = client.post("/logout", data={})
        assert refused.status_code == 403
        assert "reload the page" in refused.text
        assert client.get("/").status_code == 200  # still signed in


def test_a_sign_in_posted_from_another_site_is_refused(site: Site) -> None:
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        answer = client.post(
            "/login",
            data={"email": site.email, "password": site.password},
            headers={"Origin": "https://evil.example"},
        )
        assert answer.status_code == 403
        assert "aicmo_session" not in answer.headers.get("set-cookie", "")


def test_after_login_only_local_paths_are_followed(site: Site) -> None:
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        for bad in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
            answer = client.post(
                "/login", data={"email": site.email, "password": site.password, "next": bad}
            )
            assert answer.headers["location"] == "/", bad


def test_a_wrong_address_is_a_page_that_says_so_and_the_api_keeps_its_problems(
    site: Site,
) -> None:
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        client.post("/login", data={"email": site.email, "password": site.password})
        missing = client.get("/no-such-page")
        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
        assert "There is no page here" in missing.text
        bad = client.get("/leads/not-a-number")
        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("text/html")
        assert "Check the link" in bad.text
        # An id no row can have is refused before it reaches the database.
        for path in ("/inbox/99999999999", "/settings/webhooks/99999999999", "/leads/0"):
            too_big = client.get(path)
            assert too_big.status_code == 422, path
        api = client.get("/api/v1/no-such-route")
        assert api.status_code == 404
        assert api.headers["content-type"].startswith("application/problem+json")


def test_an_htmx_request_after_the_session_ended_loads_the_login_page_whole(site: Site) -> None:
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        headers = {"HX-Request": "true", "HX-Current-URL": f"{site.base}/tasks?status=OPEN"}
        answer = client.post("/tasks/1/done", headers=headers)
        assert answer.status_code == 200
        assert answer.headers["hx-redirect"] == "/login?next=%2Ftasks%3Fstatus%3DOPEN"
        assert answer.text == ""


def test_a_person_signs_in_and_moves_around_by_keyboard_alone(browser: Browser, site: Site) -> None:
    with signed_in_page(browser, site, log=False) as (page, watch):
        page.goto(f"{site.base}/login")
        page.keyboard.type(site.email)  # the email field has the focus on arrival
        page.keyboard.press("Tab")
        page.keyboard.type(site.password)
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{site.base}/")
        page.keyboard.press("Tab")  # the first stop skips the navigation
        expect(page.locator(":focus")).to_have_text("Skip to content")
        page.keyboard.press("Enter")
        expect(page.locator(":focus")).to_have_attribute("id", "main")
        page.goto(f"{site.base}/")
        for _ in range(4):  # skip link, brand, Overview, Leads
            page.keyboard.press("Tab")
        expect(page.locator(":focus")).to_have_text("Leads")
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{site.base}/leads")
        watch.assert_clean()
