"""Every realistic form page, through the contact-form channel against a loopback site:
submitted and verified, or turned into an operator task with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.operator_services.channels import contact_form as contact_forms
from aicmo.operator_services.channels import tasks
from aicmo.transports.safe_http import SafeHttpClient
from tests.form_sites import FormSites, create_form_sites
from tests.http_server import serve


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FormSites, str]]:
    sites = FormSites()
    for name, value in {
        "AICMO_SENDER_NAME": "Alex Martin",
        "AICMO_SENDER_EMAIL": "alex@aicmo.example",
        "AICMO_SENDER_COMPANY": "Aicmo Labs",
        "AICMO_SENDER_WEBSITE": "https://aicmo.example",
        "AICMO_SENDER_COUNTRY": "United Kingdom",
        "AICMO_FORM_DOMAIN_GAP_HOURS": "0",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(
        contact_forms, "client_factory", lambda _s: SafeHttpClient(allow_loopback=True)
    )
    with serve(create_form_sites(sites)) as base:
        yield sites, base


def submit(db: Session, url: str, **lead: Any) -> dict[str, Any]:
    person = ops.create_lead(db, email="owner@site.example", form_url=url, **lead)
    result: dict[str, Any] = ops.send_outreach_message(
        db,
        person["id"],
        "Hello, I would like to talk about your {{ company | default('work') }}.",
        "A question",
        channel="CONTACT_FORM",
    )
    [row] = ops.get_outreach_history(db, lead_id=person["id"])
    return {**result, "row": row}


@pytest.mark.parametrize(
    ("page", "posted_to", "honeypots"),
    [
        ("cf7", "/wp-json/contact-form-7/v1/contact-forms/123/feedback", ["_wpcf7_ak_hp_textarea"]),
        ("wpforms", "/wp-admin/admin-ajax.php", []),
        ("gravity", "/contact-us/", ["input_4"]),
        ("elementor", "/wp-admin/admin-ajax.php", []),
        ("django", "/contact/", []),
        ("honeypot", "/send.php", ["fax", "url", "nickname"]),
        ("multi_form", "/pages/contact", []),
        ("german_contact", "/kontakt/senden", []),
        ("select_topic", "/contact/", []),
        ("netlify", "/thanks/", ["bot-field"]),
        ("aspnet", "/aspnet/Contact.aspx", []),
    ],
)
def test_a_form_page_is_filled_submitted_and_verified(
    db: Session, site: tuple[FormSites, str], page: str, posted_to: str, honeypots: list[str]
) -> None:
    sites, base = site
    result = submit(db, f"{base}/{page}/")
    row = result["row"]
    assert result["status"] == "SENT", (row["error"], row["details"])
    [posted] = sites.posts
    assert posted.path == posted_to
    for trap in honeypots:
        assert not posted.get(trap), trap  # never filled
    values = [v for _, v in posted.fields]
    assert any("I would like to talk" in v for v in values)
    assert "alex@aicmo.example" in values
    details = row["details"]
    assert details["status"] in (200, 201) and details["verdict"]
    assert details["snippet"]


def test_the_contact_form_7_post_keeps_every_hidden_field_and_ticks_the_consent(
    db: Session, site: tuple[FormSites, str]
) -> None:
    sites, base = site
    submit(db, f"{base}/cf7/")
    [posted] = sites.posts
    assert posted.get("_wpcf7") == "123" and posted.get("_wpcf7_unit_tag")
    assert posted.get("acceptance-privacy") and posted.get("your-name") == "Alex Martin"


def test_the_django_csrf_cookie_and_field_go_back_together(
    db: Session, site: tuple[FormSites, str]
) -> None:
    sites, base = site
    result = submit(db, f"{base}/django/")
    [posted] = sites.posts
    assert posted.cookies.get("csrftoken") == sites.csrf == posted.get("csrfmiddlewaretoken")
    assert result["row"]["details"]["final_url"].endswith("/thanks/")


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("recaptcha", "recaptcha"),
        ("recaptcha_v3", "recaptcha"),
        ("hcaptcha", "hcaptcha"),
        ("turnstile", "turnstile"),
        ("hubspot_embed", "js_only"),
        ("typeform_embed", "js_only"),
        ("webflow", "js_only"),
        ("required_unmappable", "cannot fill"),
    ],
)
def test_a_form_a_robot_must_not_submit_becomes_a_task_with_the_reason(
    db: Session, site: tuple[FormSites, str], page: str, reason: str
) -> None:
    sites, base = site
    result = submit(db, f"{base}/{page}/")
    assert result["status"] == "QUEUED" and result["outcome"] == "TASK"
    assert sites.posts == []  # nothing was submitted
    [task] = tasks.list_tasks(db)
    assert task["kind"] == "submit_form" and reason in (task["reason"] or "")
    assert "I would like to talk" in (task["body"] or "")


def test_validation_errors_echoed_back_fail_the_attempt_with_the_messages(
    db: Session, site: tuple[FormSites, str]
) -> None:
    sites, base = site
    result = submit(db, f"{base}/errors/")
    assert result["status"] == "FAILED"
    assert "did not accept the form" in result["row"]["error"]
    assert result["row"]["details"]["messages"]
    assert len(sites.posts) == 1


def test_from_the_home_page_the_contact_page_is_found(
    db: Session, site: tuple[FormSites, str]
) -> None:
    sites, base = site
    person = ops.create_lead(db, email="owner@site.example", website=f"{base}/home/")
    result = ops.send_outreach_message(
        db, person["id"], "Hello there, a question.", "A question", channel="CONTACT_FORM"
    )
    assert result["status"] == "SENT"
    [row] = ops.get_outreach_history(db, lead_id=person["id"])
    assert row["details"]["page"].endswith("/contact-us/")
    assert [p.path for p in sites.posts] == ["/contact-us/"]


def test_a_site_with_only_a_newsletter_form_has_no_contact_form(
    db: Session, site: tuple[FormSites, str]
) -> None:
    sites, base = site
    result = submit(db, f"{base}/newsletter_only/")
    assert result["status"] == "FAILED" and "no contact form" in result["row"]["error"]
    assert sites.posts == []


def test_a_bot_challenge_robots_txt_and_a_server_error_are_told_apart(
    db: Session, site: tuple[FormSites, str]
) -> None:
    sites, base = site
    challenged = submit(db, f"{base}/challenge/")
    assert challenged["status"] == "FAILED" and "403" in challenged["row"]["error"]
    person = ops.create_lead(db, email="b@other.example", form_url=f"{base}/private/contact/")
    robots = ops.send_outreach_message(db, person["id"], "Hi", "Hi", channel="CONTACT_FORM")
    assert robots["status"] == "FAILED" and "robots.txt" in robots["error"]
    person = ops.create_lead(db, email="c@other.example", form_url=f"{base}/broken-answer/")
    broken = ops.send_outreach_message(db, person["id"], "Hi", "Hi", channel="CONTACT_FORM")
    # The site may have stored the message before failing: never resent blindly.
    assert broken["status"] == "UNKNOWN", broken["error"]
    assert broken["outcome"] == "UNKNOWN"
    assert [p.path for p in sites.posts] == ["/boom"]


def test_one_submission_per_site_per_campaign(db: Session, site: tuple[FormSites, str]) -> None:
    from aicmo.operator_services import campaigns
    from aicmo.operator_services.engine.tick import run_due
    from aicmo.operator_services.uow import utcnow

    sites, base = site
    for i in range(2):
        ops.create_lead(
            db, email=f"p{i}@site.example", form_url=f"{base}/honeypot/", tags=["forms"]
        )
    steps = [{"channel": "CONTACT_FORM", "template": {"subject": "Hi", "body": "Hello there."}}]
    campaigns.create_campaign(db, "Forms", steps=steps, audience={"tag": "forms"})
    campaigns.start_campaign(db, "Forms")
    tick = run_due(db, now=utcnow(), worker="w")
    assert tick["by_outcome"] == {"complete": 1, "fail": 1}
    assert len(sites.posts) == 1
    failed = [m for m in ops.get_outreach_history(db) if m["status"] == "FAILED"]
    assert "one per site per campaign" in failed[0]["error"]


def test_without_the_loopback_setting_the_site_is_never_dialled(
    db: Session, site: tuple[FormSites, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sites, base = site
    monkeypatch.setattr(contact_forms, "client_factory", contact_forms.default_client)
    result = submit(db, f"{base}/cf7/")
    assert result["status"] == "FAILED" and "refused" in result["row"]["error"]
    assert "loopback" in result["row"]["error"]
    assert sites.requests == 0 and sites.posts == []


def test_a_suppressed_domain_gets_no_form_submission(db: Session) -> None:
    ops.add_suppression(db, "acme-widgets.example", reason="manual")
    person = ops.create_lead(
        db, email="jo@gmail.example", website="https://www.acme-widgets.example/"
    )
    result = ops.send_outreach_message(db, person["id"], "Hi", "Hi", channel="CONTACT_FORM")
    assert result["status"] == "SUPPRESSED" and "acme-widgets.example" in result["error"]
