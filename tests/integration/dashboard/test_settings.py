"""The settings pages in a real browser against real loopback mail servers: a mailbox's
"Test connection" over aiosmtpd and pymap, channel limits, the suppression list, API keys
shown once, what a viewer may not do, and phone width."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, expect

from aicmo.config import get_settings
from aicmo.operator_services import accounts
from aicmo.operator_services.channels import linkedin_accounts, mailboxes
from aicmo.operator_services.crm import suppression
from aicmo.operator_services.inbound.connection_check import check_mailbox_connection
from tests.dashboard import XSS, XSS_SCRIPT, Site, flash_of, log_in, screenshot, signed_in_page
from tests.integration.imap.conftest import PASSWORD as IMAP_PASSWORD
from tests.integration.imap.conftest import USER as IMAP_USER
from tests.integration.imap.conftest import run_pymap
from tests.integration.smtp.conftest import PASSWORD as SMTP_PASSWORD
from tests.integration.smtp.conftest import USER as SMTP_USER
from tests.integration.smtp.conftest import (
    Behaviour,
    LoopbackController,
    RecordingHandler,
    authenticate,
)

pytestmark = pytest.mark.filterwarnings(
    "ignore:Requiring AUTH while not requiring TLS:UserWarning"  # the loopback server's choice
)

VIEWER_EMAIL = "viewer@agency.example"
VIEWER_PASSWORD = "a viewer's long passphrase"
PAGES = (
    "/settings/mailboxes",
    "/settings/linkedin",
    "/settings/limits",
    "/settings/icp",
    "/settings/suppression",
    "/settings/access",
    "/settings/webhooks",
)


@pytest.fixture(scope="module")
def imap_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """pymap on loopback without TLS; one account (IMAP_USER / IMAP_PASSWORD)."""
    with run_pymap(tmp_path_factory.mktemp("pymap") / "pymap.log", "--no-tls") as port:
        yield port


@pytest.fixture
def smtp_port() -> Iterator[int]:
    """aiosmtpd on loopback that requires AUTH (SMTP_USER / SMTP_PASSWORD) without TLS."""
    handler = RecordingHandler(Behaviour())
    controller = LoopbackController(
        handler,
        server_hostname="mx.loopback",
        ready_timeout=5.0,
        auth_required=True,
        auth_require_tls=False,
        authenticator=authenticate,
    )
    controller.start()
    try:
        yield int(controller.port)
        assert handler.received == [], "a connection test must send no message"
    finally:
        controller.stop()


@pytest.fixture
def loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    """The mail servers are on 127.0.0.1, which only AICMO_ALLOW_LOOPBACK lets a page reach."""
    monkeypatch.setenv("AICMO_ALLOW_LOOPBACK", "1")
    get_settings.cache_clear()


def test_a_mailbox_on_the_loopback_servers_passes_its_test_and_a_wrong_password_says_what_to_do(
    browser: Browser, site: Site, loopback: None, smtp_port: int, imap_port: int
) -> None:
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/settings")
        expect(page).to_have_url(f"{site.base}/settings/mailboxes")
        add = page.locator("form[action='/settings/mailboxes']")
        add.get_by_label("Name", exact=True).fill("sales")
        add.get_by_label("From address").fill("ana@acme.example")
        add.get_by_label("From name").fill(XSS)
        add.get_by_label("SMTP host").fill("127.0.0.1")
        add.get_by_label("SMTP port").fill(str(smtp_port))
        add.locator("select[name=smtp_security]").select_option("none")
        add.get_by_label("SMTP user").fill(SMTP_USER)
        add.get_by_label("SMTP password").fill(SMTP_PASSWORD)
        add.get_by_label("IMAP host").fill("127.0.0.1")
        add.get_by_label("IMAP port").fill(str(imap_port))
        add.locator("select[name=imap_security]").select_option("none")
        add.get_by_label("IMAP user").fill(IMAP_USER)
        add.get_by_label("IMAP password").fill(IMAP_PASSWORD)
        add.get_by_role("button", name="Add mailbox").click()
        expect(page.get_by_role("status")).to_contain_text("Mailbox sales added")
        card = page.locator("section.mailbox", has_text="sales")
        expect(card).to_contain_text(XSS)  # the display name shows as text
        expect(card).to_contain_text("password set")
        assert SMTP_PASSWORD not in page.content() and IMAP_PASSWORD not in page.content()

        card.get_by_role("button", name="Test connection").click()
        result = card.locator(".test-result")
        expect(result).to_contain_text("Both servers answered", timeout=15_000)
        smtp = result.locator("[data-protocol=SMTP]")
        imap = result.locator("[data-protocol=IMAP]")
        expect(smtp.locator("li.step-ok")).to_have_count(3)  # DNS, EHLO, AUTH; TLS skipped
        expect(smtp).to_contain_text("Log in (AUTH): ok")
        expect(imap).to_contain_text("Open the folder: ok")
        expect(imap.locator("li.step-failed")).to_have_count(0)
        screenshot(page, "settings-mailboxes")

        card.locator("summary", has_text="Set password").click()
        card.locator("select[name=protocol]").select_option("smtp")
        card.get_by_label("New password").fill("not-the-password-at-all")
        card.get_by_role("button", name="Save password").click()
        expect(page.get_by_role("status").first).to_contain_text("SMTP password of sales changed")
        card = page.locator("section.mailbox", has_text="sales")
        card.get_by_role("button", name="Test connection").click()
        result = card.locator(".test-result")
        expect(result).to_contain_text("does not work yet", timeout=15_000)
        failed = result.locator("[data-protocol=SMTP] li.step-failed")
        expect(failed).to_have_count(1)
        expect(failed).to_contain_text("Log in (AUTH)")
        expect(failed).to_contain_text("What to do: Check the user name and set the password")
        expect(result.locator("[data-protocol=IMAP]")).to_contain_text("Log in: ok")
        watch.assert_clean()


def test_without_allow_loopback_a_page_cannot_make_the_server_dial_itself(
    site: Site, smtp_port: int
) -> None:
    hosts = {"loopback": "127.0.0.1", "any": "0.0.0.0", "mapped": "::ffff:127.0.0.1"}
    with site.db() as db:
        for name, host in hosts.items():
            mailboxes.add_mailbox(
                db,
                name,
                "ana@acme.example",
                smtp_host=host,
                smtp_port=smtp_port,
                smtp_security="none",
            )
            report = check_mailbox_connection(db, name, allow_loopback=False)
            assert report["ok"] is False
            step = report["checks"][0]["steps"][0]
            assert step["status"] == "failed"
            assert "this machine" in step["message"], host
            assert "aicmo mailbox test" in step["hint"]
        assert check_mailbox_connection(db, "loopback", allow_loopback=True)["ok"] is True


def test_limits_and_the_suppression_list_change_and_every_page_fits_a_phone(
    browser: Browser, site: Site
) -> None:
    with site.db() as db:
        mailboxes.add_mailbox(
            db,
            "sales",
            "a-rather-long-sender-address@a-long-company-domain.example",
            smtp_host="smtp.a-very-long-provider-host-name.example",
            imap_host="imap.a-very-long-provider-host-name.example",
        )
        suppression.add_suppression(db, "someone-with-a-long-address@globex.example")
        accounts.create_api_key(db, workspace_id=1, name="crm-sync", role="viewer")
        linkedin_accounts.add_linkedin_account(
            db,
            XSS,
            base_url="https://api1.unipile.example:13111",
            account_ref="acc-1",
            api_key="unipile-key-Zz91-never-shown",
        )
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/settings/linkedin")
        expect(page.locator("table")).to_contain_text(XSS)
        assert "unipile-key-Zz91" not in page.content()

        page.get_by_role("link", name="Channel limits").click()
        row = page.locator("#channel-email")
        row.get_by_label("EMAIL per hour").fill("42")
        row.get_by_label("EMAIL per day").fill("300")
        row.get_by_role("button", name="Save EMAIL").click()
        expect(page.get_by_role("status")).to_contain_text("EMAIL: 42/hour, 300/day, on")
        expect(page.locator("#channel-email .per-hour")).to_have_text("42")
        row = page.locator("#channel-email")
        row.get_by_label("EMAIL per hour").fill("900")
        row.get_by_label("EMAIL per day").fill("300")
        row.get_by_role("button", name="Save EMAIL").click()
        expect(page.get_by_role("alert")).to_contain_text("cannot exceed rate_limit_per_day")
        expect(page.locator("#channel-email .per-hour")).to_have_text("42")

        page.get_by_role("link", name="Suppression list").click()
        page.get_by_label("Email, domain or LinkedIn URL").fill("Bob@Globex.example")
        page.get_by_label("Note").fill(XSS_SCRIPT)
        page.get_by_role("button", name="Suppress").click()
        expect(page.get_by_role("status")).to_contain_text("added to the suppression list")
        table = page.locator("table")
        expect(table).to_contain_text("bob@globex.example")
        expect(table).to_contain_text(XSS_SCRIPT)
        page.get_by_label("Email, domain or LinkedIn URL").fill("not a thing at all")
        page.get_by_role("button", name="Suppress").click()
        expect(page.get_by_role("alert")).to_be_visible()
        page.get_by_role("searchbox", name="Search").fill("bob@")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.locator("tbody tr")).to_have_count(1)
        watch.accept_confirms = True
        page.get_by_role("button", name="Remove bob@globex.example").click()
        expect(page.get_by_role("status")).to_contain_text("removed from the suppression list")
        expect(page.locator("tbody tr")).to_have_count(1)  # the long address is left

        page.set_viewport_size({"width": 390, "height": 844})
        for path in PAGES:
            page.goto(f"{site.base}{path}")
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= 390, f"{path} scrolls sideways at phone width: {scroll}px"
        page.goto(f"{site.base}/settings/mailboxes")
        screenshot(page, "settings-mailboxes-phone")
        watch.assert_clean()
    with site.db() as db:
        assert suppression.count_suppressions(db) == 1


def test_an_api_key_is_shown_once_and_can_be_revoked(browser: Browser, site: Site) -> None:
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/settings/access")
        page.get_by_label("Key name").fill("crm-sync")
        page.get_by_label("Key role").select_option("operator")
        page.get_by_role("button", name="Create key").click()
        secret = page.get_by_label("The key").input_value()
        assert re.fullmatch(r"aicmo_[A-Za-z0-9]+_[A-Za-z0-9_-]+", secret)
        with httpx.Client(base_url=site.base) as api:
            auth = {"Authorization": f"Bearer {secret}"}
            assert api.get("/api/v1/channels", headers=auth).status_code == 200
        screenshot(page, "settings-keys")
        page.goto(f"{site.base}/settings/access")
        assert secret not in page.content()
        expect(page.locator("tr", has_text="crm-sync")).to_contain_text(secret[:18])
        row = page.locator("tr", has_text="crm-sync")
        watch.accept_confirms = True
        row.get_by_role("button", name="Revoke crm-sync").click()
        expect(page.get_by_role("status")).to_contain_text("API key crm-sync")
        expect(page.locator("tr", has_text="crm-sync")).to_contain_text("revoked")
        with httpx.Client(base_url=site.base) as api:
            assert api.get("/api/v1/channels", headers=auth).status_code == 401
        watch.assert_clean()


def csrf_of(html: str) -> str:
    match = re.search(r'"X-CSRF-Token": "([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_a_viewer_sees_the_settings_without_change_controls_and_a_forged_post_is_refused(
    browser: Browser, site: Site
) -> None:
    with site.db() as db:
        accounts.add_user(db, VIEWER_EMAIL, VIEWER_PASSWORD, role="viewer", workspace_id=1)
        mailboxes.add_mailbox(db, "sales", "ana@acme.example", smtp_host="smtp.acme.example")
        suppression.add_suppression(db, "bob@globex.example")
    with signed_in_page(browser, site, log=False) as (page, watch):
        log_in(page, site, email=VIEWER_EMAIL, password=VIEWER_PASSWORD)
        page.goto(f"{site.base}/settings/mailboxes")
        expect(page.locator("section.mailbox")).to_contain_text("smtp.acme.example")
        expect(page.locator("main button")).to_have_count(0)
        page.get_by_role("link", name="Suppression list").click()
        expect(page.locator("main button")).to_have_text("Search")  # reading only
        nav = page.get_by_role("navigation", name="Settings")
        expect(nav.get_by_role("link", name="Users and API keys")).to_have_count(0)
        expect(page.locator("table")).to_contain_text("bob@globex.example")
        watch.assert_clean()

    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        signed = client.post("/login", data={"email": VIEWER_EMAIL, "password": VIEWER_PASSWORD})
        assert signed.status_code == 303
        token = csrf_of(client.get("/settings/limits").text)
        for path in PAGES[:5]:
            html = client.get(path).text
            # The only form that posts is signing out; no page offers a change.
            assert html.count('method="post"') == 1, path
            assert "hx-post" not in html and "<textarea" not in html, path
        forged = {
            "/settings/limits/EMAIL": {"rate_limit_per_hour": "1", "rate_limit_per_day": "1"},
            "/settings/suppression/remove": {"value": "bob@globex.example"},
            "/settings/mailboxes/1/enabled": {},
            "/settings/mailboxes/1/test": {},
            "/settings/icp": {"icp_yaml": "roles: [x]"},
            "/settings/access/keys": {"name": "mine", "role": "admin"},
            "/settings/access/users": {"email": "x@y.example", "password": "p" * 12},
        }
        for path, data in forged.items():
            answer = client.post(path, data={**data, "csrf_token": token})
            assert answer.status_code == 403, path
        assert client.get("/settings/access").status_code == 403
        assert client.get("/settings/webhooks").status_code == 403
    with site.db() as db:
        assert suppression.count_suppressions(db) == 1
        assert mailboxes.list_mailboxes(db)[0]["enabled"] is True
        assert accounts.list_api_keys(db, 1) == []


def test_an_operator_changes_suppression_but_not_the_sending_set_up(site: Site) -> None:
    """The roles are the REST API's: mailboxes, provider accounts and limits are an
    admin's (they decide where mail goes and how much); suppression is an operator's."""
    with site.db() as db:
        accounts.add_user(db, "op@agency.example", VIEWER_PASSWORD, role="operator", workspace_id=1)
        mailboxes.add_mailbox(db, "sales", "ana@acme.example", smtp_host="smtp.acme.example")
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        client.post("/login", data={"email": "op@agency.example", "password": VIEWER_PASSWORD})
        page = client.get("/settings/mailboxes").text
        assert "Test connection" not in page and "Add a mailbox" not in page
        token = csrf_of(page)
        refused = {
            "/settings/mailboxes": {"name": "x", "from_address": "x@acme.example"},
            "/settings/mailboxes/1/enabled": {},
            "/settings/mailboxes/1/test": {},
            "/settings/linkedin": {"name": "li", "base_url": "https://api1.unipile.example"},
            "/settings/limits/EMAIL": {"rate_limit_per_hour": "999", "rate_limit_per_day": "999"},
        }
        for path, data in refused.items():
            assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
        added = client.post(
            "/settings/suppression", data={"value": "bob@globex.example", "csrf_token": token}
        )
        assert added.status_code == 303
    with site.db() as db:
        assert mailboxes.list_mailboxes(db)[0]["enabled"] is True
        assert suppression.count_suppressions(db) == 1


def test_the_forms_refuse_bad_input_with_the_reason_and_webhooks_can_be_replayed(
    site: Site, loopback: None
) -> None:
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        client.post("/login", data={"email": site.email, "password": site.password})
        token = csrf_of(client.get("/settings/icp").text)
        bad = client.post(
            "/settings/icp", data={"icp_yaml": "- just\n- a list", "csrf_token": token}
        )
        assert bad.status_code == 422
        assert "must be a YAML mapping" in bad.text
        assert "- just" in bad.text  # the text comes back to be corrected
        good_yaml = client.get("/settings/icp").text
        assert "roles:" in good_yaml or "industries:" in good_yaml

        refused = client.post(
            "/settings/webhooks",
            data={
                "url": "http://hooks.example.com/x",
                "events": "email.replied",
                "csrf_token": token,
            },
        )
        assert refused.status_code == 422
        assert "must use https" in refused.text
        made = client.post(
            "/settings/webhooks",
            data={
                "url": "http://127.0.0.1:9/hook",
                "events": ["suppression.added"],
                "csrf_token": token,
            },
        )
        assert made.status_code == 200
        secret = re.search(r'id="new-hook-secret" readonly value="([^"]+)"', made.text)
        assert secret and secret.group(1).startswith("whsec_")
        listing = client.get("/settings/webhooks").text
        assert secret.group(1) not in listing
        assert "http://127.0.0.1:9/hook" in listing
        added = client.post(
            "/settings/suppression", data={"value": "bob@globex.example", "csrf_token": token}
        )
        assert added.status_code == 303
        detail = client.get("/settings/webhooks/1").text
        assert "suppression.added" in detail and "b-pending" in detail
        assert "No succeeded delivery" in client.get("/settings/webhooks/1?status=SUCCEEDED").text
        delivery = re.search(r"/settings/webhooks/1/deliveries/(\d+)/replay", detail)
        assert delivery
        replayed = client.post(delivery.group(0), data={"csrf_token": token})
        assert replayed.status_code == 303
        assert "queued again" in flash_of(replayed)
        disabled = client.post("/settings/webhooks/1/disable", data={"csrf_token": token})
        assert disabled.status_code == 303
        detail = client.get("/settings/webhooks/1").text
        assert "disabled by an admin" in detail and "b-skipped" in detail
        assert "/replay" not in detail  # nothing is replayed to a disabled endpoint

        plain = {
            "name": "relay",
            "from_address": "ana@acme.example",
            "smtp_host": "smtp.acme.example",
            "smtp_security": "none",
            "smtp_username": "ana",
            "smtp_password": "pw-that-would-travel-in-clear",
            "csrf_token": token,
        }
        refused = client.post("/settings/mailboxes", data=plain)
        assert refused.status_code == 422
        assert "unencrypted" in refused.text
        assert "pw-that-would-travel-in-clear" not in refused.text
        assert 'value="smtp.acme.example"' in refused.text  # the rest is kept to correct
        allowed = client.post("/settings/mailboxes", data={**plain, "allow_plaintext": "true"})
        assert allowed.status_code == 303

        person = {"email": "op@agency.example", "role": "operator", "csrf_token": token}
        short = client.post("/settings/access/users", data={**person, "password": "short"})
        assert short.status_code == 422 and "at least 12 characters" in short.text
        added = client.post(
            "/settings/access/users", data={**person, "password": "a long enough passphrase"}
        )
        assert "as operator" in flash_of(added)
        with site.db() as db:
            member = {m["email"]: m for m in accounts.list_members(db, 1)}
        demoted = client.post(
            f"/settings/access/users/{member['op@agency.example']['id']}/role",
            data={"role": "viewer", "csrf_token": token},
        )
        assert "is now viewer" in flash_of(demoted)
        own = client.post(
            f"/settings/access/users/{member[site.email]['id']}/role",
            data={"role": "viewer", "csrf_token": token},
        )
        assert own.status_code == 422 and "cannot change your own role" in own.text
        with site.db() as db:
            roles = {m["email"]: m["role"] for m in accounts.list_members(db, 1)}
        assert roles == {site.email: "admin", "op@agency.example": "viewer"}
