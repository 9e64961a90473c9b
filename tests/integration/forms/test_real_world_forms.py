"""Real-world contact pages (tests/fixtures/forms/SOURCES.md) through the real channel on a
loopback site: each page becomes what tests/fixtures/forms/corpus.json says, the dry run
(``aicmo form check``) decides as the send does, and each cause found on real sites has
its own test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from aicmo.operator_services.channels import contact_form as contact_forms
from aicmo.operator_services.channels import tasks
from aicmo.transports.safe_http import SafeHttpClient
from tests.form_corpus import PAGES, ROLE_VALUES, SENDER_ENV, Outcome, send_page, wrong_fields
from tests.form_sites import FormSites, create_form_sites
from tests.http_server import serve

Site = tuple[FormSites, str]


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    sites = FormSites()
    for name, value in {**SENDER_ENV, "AICMO_FORM_DOMAIN_GAP_HOURS": "0"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(
        contact_forms, "client_factory", lambda _s: SafeHttpClient(allow_loopback=True)
    )
    with serve(create_form_sites(sites)) as base:
        yield sites, base


def send(db: Session, site: Site, name: str, email: str = "owner@site.example") -> Outcome:
    sites, base = site
    return send_page(db, sites, base, name, email)


def test_every_page_becomes_what_it_should_and_no_honeypot_is_ever_filled(
    db: Session, site: Site
) -> None:
    wrong: dict[str, str] = {}
    for number, (name, page) in enumerate(sorted(PAGES.items())):
        outcome = send(db, site, name, f"owner{number}@site.example")
        if outcome.decision != page["expect"]:
            wrong[name] = f"{outcome.decision} ({outcome.error or outcome.status})"
        elif page["expect"] == "submit":
            problems = wrong_fields(name, outcome)
            if problems:
                wrong[name] = "; ".join(problems)
        elif outcome.posts:
            wrong[name] = "a page that must not be submitted was posted to"
    assert wrong == {}


def test_the_dry_run_decides_exactly_as_the_send_on_every_page(db: Session, site: Site) -> None:
    sites, base = site
    differ: dict[str, tuple[str, str]] = {}
    for number, name in enumerate(sorted(PAGES)):
        posts = len(sites.posts)
        dry = contact_forms.inspect_site(f"{base}/{name}/", explicit=True)
        assert len(sites.posts) == posts  # the dry run posts nothing
        real = send(db, site, name, f"dry{number}@site.example")
        if dry["decision"] != real.decision:
            differ[name] = (dry["decision"], real.decision)
    assert differ == {}


# One test per cause found on real contact pages ------------------------------------------


def test_a_theme_stylesheet_naming_the_recaptcha_badge_does_not_block_an_elementor_form(
    db: Session, site: Site
) -> None:
    outcome = send(db, site, "elementor_pro")
    assert outcome.decision == "submit" and outcome.status == "SENT", outcome.error


def test_a_phone_placeholder_and_formsubmit_switching_its_captcha_off_are_no_captchas(
    db: Session, site: Site
) -> None:
    outcome = send(db, site, "formsubmit")
    assert outcome.status == "SENT", outcome.error
    [posted] = outcome.posts
    assert posted.get("_captcha") == "false" and posted.get("_honey") == ""
    assert posted.get("phone") == ROLE_VALUES["phone"]


def test_a_contact_form_7_quiz_that_asks_a_sum_is_answered(db: Session, site: Site) -> None:
    outcome = send(db, site, "cf7_quiz")
    assert outcome.status == "SENT", outcome.error
    assert outcome.posts[0].get("quiz-math") == "10"


def test_the_formidable_honeypot_labelled_in_spanish_is_left_empty(db: Session, site: Site) -> None:
    outcome = send(db, site, "formidable_es")
    assert outcome.status == "SENT", outcome.error
    [posted] = outcome.posts
    assert posted.get("frm_verify") == ""  # "Si eres humano, deja este campo en blanco."
    assert posted.get("item_meta[7]") == ROLE_VALUES["email"]


def test_elementors_relative_ajax_endpoint_is_joined_to_the_page_and_the_dry_run_agrees(
    db: Session, site: Site
) -> None:
    _, base = site
    dry = contact_forms.inspect_site(f"{base}/elementor_pro/", explicit=True)
    assert dry["decision"] == "submit" and dry["target"] == f"{base}/wp-admin/admin-ajax.php"
    outcome = send(db, site, "elementor_pro")
    assert [p.path for p in outcome.posts] == ["/wp-admin/admin-ajax.php"]
    assert outcome.posts[0].get("action") == "elementor_pro_forms_send_form"


def test_a_contact_form_7_rest_root_that_already_names_the_plugin_is_not_doubled(
    db: Session, site: Site
) -> None:
    outcome = send(db, site, "cf7_legacy_root")
    assert outcome.status == "SENT", outcome.error
    assert [p.path for p in outcome.posts] == [
        "/wp-json/contact-form-7/v1/contact-forms/5/feedback"
    ]


def test_a_netlify_form_without_a_method_is_posted(db: Session, site: Site) -> None:
    outcome = send(db, site, "netlify_no_method")
    assert outcome.status == "SENT", outcome.error
    assert [p.path for p in outcome.posts] == ["/netlify_no_method/"]


def test_a_zoho_callback_form_with_name_and_phone_only_is_sent(db: Session, site: Site) -> None:
    outcome = send(db, site, "zoho_callback")
    assert outcome.status == "SENT", outcome.error
    [posted] = outcome.posts
    assert posted.path.endswith("/htmlRecords/submit")
    assert posted.get("Name_First") == "Alex" and posted.get("Name_Last") == "Martin"
    assert posted.get("PhoneNumber_countrycode") == ROLE_VALUES["phone"]


def test_a_required_title_city_and_state_are_filled_from_the_sender_settings(
    db: Session, site: Site
) -> None:
    outcome = send(db, site, "zoho_contact_address")
    assert outcome.status == "SENT", outcome.error
    [posted] = outcome.posts
    assert posted.get("SingleLine") == "A question"
    assert posted.get("Address_City") == "London"
    assert posted.get("Address_Region") == "Greater London"


def test_without_a_sender_city_the_required_city_makes_a_task(
    db: Session, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AICMO_SENDER_CITY")
    outcome = send(db, site, "zoho_contact_address")
    assert outcome.decision == "task" and outcome.posts == []
    [task] = tasks.list_tasks(db)
    assert "the sender has no city" in (task["reason"] or "")


def test_a_turnstile_widget_drawn_by_javascript_without_a_form_is_a_task(
    db: Session, site: Site
) -> None:
    outcome = send(db, site, "turnstile_explicit")
    assert outcome.decision == "task" and outcome.posts == []
    [task] = tasks.list_tasks(db)
    assert "turnstile" in (task["reason"] or "").lower()


def test_a_page_with_a_site_wide_recaptcha_script_and_no_form_is_left_alone(
    db: Session, site: Site
) -> None:
    outcome = send(db, site, "about_recaptcha_v3")
    assert outcome.decision == "no_form" and outcome.posts == []
    assert tasks.list_tasks(db) == []
