"""Judging the answer to a submission: success only on a signal, failures with the messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicmo.cam.forms import ParsedForm, Verdict, analyze_page, judge_response

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "forms"
JSON = {"Content-Type": "application/json; charset=UTF-8"}
HTML = {"Content-Type": "text/html; charset=UTF-8"}


def read(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def form_of(name: str, url: str) -> ParsedForm:
    analysis = analyze_page(read(name), url)
    assert analysis.chosen is not None, analysis.why
    return analysis.chosen


CF7 = form_of("cf7.html", "https://acme-widgets.example/contact/")
DJANGO = form_of("django.html", "https://fieldnotes.example/contact/")
GRAVITY = form_of("gravity.html", "https://northwind-consulting.example/contact-us/")
WPFORMS = form_of("wpforms.html", "https://brightside-dental.example/get-in-touch/")
ELEMENTOR = form_of("elementor.html", "https://sunhill-creative.example/contact/")
HONEYPOT = form_of("honeypot.html", "https://pineandpixel.example/contact/")
WEBFLOW = form_of("webflow.html", "https://www.foxglove-studio.example/contact")


def judge(
    body: str,
    form: ParsedForm,
    *,
    status: int = 200,
    final_url: str | None = None,
    headers: dict[str, str] | None = None,
    sent: tuple[tuple[str, str], ...] = (),
) -> Verdict:
    return judge_response(
        status,
        final_url or form.action,
        headers if headers is not None else HTML,
        body,
        form=form,
        submitted_url=form.action,
        sent=sent,
    )


# Structured plugin answers --------------------------------------------------------------------


def test_cf7_rest_mail_sent() -> None:
    verdict = judge(read("cf7_response_ok.json"), CF7, headers=JSON, final_url=CF7.ajax_url)

    assert verdict.outcome == "success"
    assert verdict.signal == "cf7_json"
    assert verdict.evidence_snippet == "Thank you for your message. It has been sent."


def test_cf7_rest_validation_failed_lists_the_fields() -> None:
    verdict = judge(read("cf7_response_invalid.json"), CF7, headers=JSON)

    assert verdict.outcome == "failure"
    assert verdict.reason == "Contact Form 7: validation_failed"
    assert verdict.messages == (
        "your-email: Please enter an email address.",
        "acceptance-privacy: Please accept the terms to proceed.",
    )


@pytest.mark.parametrize("status", ["mail_failed", "spam", "aborted", "acceptance_missing"])
def test_cf7_rest_other_statuses_are_failures(status: str) -> None:
    body = f'{{"status":"{status}","message":"There was an error.","into":"#wpcf7-f1-o1"}}'
    verdict = judge(body, CF7, headers=JSON)

    assert (verdict.outcome, verdict.reason) == ("failure", f"Contact Form 7: {status}")


def test_cf7_non_ajax_page_with_data_status_sent() -> None:
    verdict = judge(read("cf7_response_sent.html"), CF7)

    assert verdict.outcome == "success"
    assert verdict.signal == "cf7_html"
    assert "It has been sent" in verdict.evidence_snippet


def test_wpforms_ajax_success_reads_the_confirmation_text() -> None:
    verdict = judge(read("wpforms_response_ok.json"), WPFORMS, headers=JSON)

    assert verdict.outcome == "success"
    assert verdict.evidence_snippet == (
        "Thanks for contacting us! We will be in touch with you shortly."
    )


def test_wpforms_ajax_errors() -> None:
    verdict = judge(read("wpforms_response_invalid.json"), WPFORMS, headers=JSON)

    assert verdict.outcome == "failure"
    assert "Please enter a valid email address." in verdict.messages
    assert "This field is required." in verdict.messages


def test_elementor_ajax_answers() -> None:
    ok = judge(read("elementor_response_ok.json"), ELEMENTOR, headers=JSON)
    bad = judge(read("elementor_response_invalid.json"), ELEMENTOR, headers=JSON)

    assert (ok.outcome, ok.evidence_snippet) == ("success", "Your submission was successful.")
    assert bad.outcome == "failure"
    assert bad.messages == ("Your submission failed because of an error.", "The field is required.")


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        ('{"inlineMessage":"<p>Thanks for submitting the form.</p>"}', "success"),
        ('{"ok":true,"next":"/thanks"}', "success"),
        (
            '{"error":"Validation errors",'
            '"errors":[{"field":"email","message":"should be an email"}]}',
            "failure",
        ),
        ('{"is_valid":false,"validation_messages":{"2":"This field is required."}}', "failure"),
        ('{"is_valid":true,"confirmation_message":"Thanks!"}', "success"),
        (
            '{"code":"wpcf7_not_found","message":"The requested contact form was not found.",'
            '"data":{"status":404}}',
            "failure",
        ),
        ('{"status":"success","message":"Sent"}', "success"),
        ('{"foo":"bar"}', "unknown"),
    ],
)
def test_other_json_answers(body: str, outcome: str) -> None:
    assert judge(body, CF7, headers=JSON).outcome == outcome


def test_admin_ajax_zero_is_a_refusal() -> None:
    verdict = judge("0", ELEMENTOR, headers=HTML, final_url=ELEMENTOR.ajax_url)

    assert verdict.outcome == "failure"
    assert "admin-ajax" in verdict.reason


# Rendered pages ------------------------------------------------------------------------------


def test_gravity_confirmation() -> None:
    verdict = judge(read("gravity_response_ok.html"), GRAVITY)

    assert verdict.outcome == "success"
    assert verdict.evidence_snippet == (
        "Thanks for contacting us! We will get in touch with you shortly."
    )


def test_gravity_validation_errors() -> None:
    verdict = judge(read("gravity_response_invalid.html"), GRAVITY)

    assert verdict.outcome == "failure"
    assert verdict.messages[0] == (
        "There was a problem with your submission. Please review the fields below."
    )
    assert verdict.messages[1].startswith("Email: The email address entered is invalid")


def test_django_errorlist_is_a_failure_with_the_messages() -> None:
    verdict = judge(read("django_response_errors.html"), DJANGO)

    assert verdict.outcome == "failure"
    assert verdict.signal == "errors"
    assert verdict.messages == ("Enter a valid email address.", "This field is required.")
    assert len(verdict.evidence_snippet) <= 300


def test_thank_you_redirect() -> None:
    verdict = judge(
        read("thank_you.html"), HONEYPOT, final_url="https://pineandpixel.example/thank-you/"
    )

    assert verdict.outcome == "success"
    assert verdict.signal == "redirect"


def test_thank_you_wording_without_a_redirect() -> None:
    verdict = judge(read("thank_you.html"), HONEYPOT)

    assert verdict.outcome == "success"
    assert verdict.signal == "phrase"
    assert "Thank you for contacting us" in verdict.evidence_snippet
    assert len(verdict.evidence_snippet) <= 300


def test_unfollowed_redirect_to_a_thank_you_page() -> None:
    verdict = judge("", HONEYPOT, status=303, headers={"Location": "/contact/?sent=1"})

    assert verdict.outcome == "success"


@pytest.mark.parametrize(
    ("final", "outcome"),
    [
        ("https://pineandpixel.example/contact/?success=0", "failure"),
        ("https://pineandpixel.example/contact/?status=error", "failure"),
        ("https://pineandpixel.example/danke/", "success"),
        ("https://pineandpixel.example/merci.html", "success"),
        ("https://pineandpixel.example/contact/?submitted=true", "success"),
    ],
)
def test_redirect_urls(final: str, outcome: str) -> None:
    body = "<html><body><main><h1>Pine &amp; Pixel</h1></main></body></html>"
    assert judge(body, HONEYPOT, final_url=final).outcome == outcome


def test_webflow_page_coming_back_is_not_a_success() -> None:
    final = WEBFLOW.action + "?Name=Jane+Doe&Email=jane%40example.org&Message=sent+thanks"
    verdict = judge(read("webflow.html"), WEBFLOW, final_url=final)

    assert verdict.outcome == "unknown"


def test_webflow_done_block_shown_inline_is_a_success() -> None:
    body = read("webflow.html").replace(
        '<div class="w-form-done"', '<div class="w-form-done" style="display: block;"'
    )
    assert judge(body, WEBFLOW).outcome == "success"


def test_form_coming_back_with_our_values_is_a_failure() -> None:
    body = read("honeypot.html").replace(
        'name="mail" required>', 'name="mail" value="jane@example.org" required>'
    )
    sent = (("fullname", "Jane Doe"), ("mail", "jane@example.org"))
    verdict = judge(body, HONEYPOT, sent=sent)

    assert verdict.outcome == "failure"
    assert verdict.signal == "form_returned"


def test_form_coming_back_empty_is_unknown() -> None:
    verdict = judge(read("honeypot.html"), HONEYPOT)

    assert verdict.outcome == "unknown"
    assert "came back empty" in verdict.reason


def test_contact_page_promise_is_not_a_success() -> None:
    body = read("django.html").replace(
        "We usually answer within a day.", "We'll get back to you within 24 hours. Thank you!"
    )
    assert judge(body, DJANGO).outcome == "unknown"


def test_our_own_echoed_message_is_not_read_as_the_sites_answer() -> None:
    message = "Thank you for your message last week; here is our proposal."
    body = f"<html><body><main><h1>Preview</h1><p>{message}</p></main></body></html>"

    assert judge(body, DJANGO, sent=(("message", message),)).outcome == "unknown"


@pytest.mark.parametrize(
    "text",
    [
        "Vielen Dank für Ihre Nachricht! Wir melden uns in Kürze.",
        "Ihre Nachricht wurde erfolgreich versendet.",
        "Merci pour votre message, nous vous répondrons rapidement.",
        "Votre message a bien été envoyé.",
        "Gracias por tu mensaje. Te responderemos pronto.",
        "Su mensaje ha sido enviado correctamente.",
        "Grazie per averci contattato!",
        "Obrigado pelo seu contato!",
        "Bedankt voor uw bericht.",
        "Your message has been sent successfully.",
        "Thanks for reaching out! We'll be in touch.",
    ],
)
def test_success_wording_in_several_languages(text: str) -> None:
    body = f"<html><body><header><nav>Menu</nav></header><main><p>{text}</p></main></body></html>"
    assert judge(body, DJANGO).outcome == "success"


@pytest.mark.parametrize(
    "text",
    [
        "There was an error trying to send your message. Please try again later.",
        "Dieses Feld ist ein Pflichtfeld.",
        "Ce champ est obligatoire.",
        "Este campo es obligatorio.",
        "Ihre Nachricht konnte nicht gesendet werden.",
    ],
)
def test_failure_wording(text: str) -> None:
    body = f"<html><body><main><p>{text}</p></main></body></html>"
    verdict = judge(body, DJANGO)

    assert verdict.outcome == "failure"
    assert verdict.messages


def test_success_and_error_wording_together_is_unknown() -> None:
    body = (
        "<main><p>Thank you for your message.</p>"
        "<p>There was an error trying to send your message.</p></main>"
    )
    assert judge(body, DJANGO).outcome == "unknown"


def test_notices_and_alert_containers() -> None:
    success = '<main><div class="alert alert-success" role="alert">Sent, thanks!</div></main>'
    failure = '<main><div class="alert alert-danger">Please correct the errors.</div></main>'

    assert judge(success, DJANGO).outcome == "success"
    assert judge(failure, DJANGO).outcome == "failure"


def test_bootstrap_feedback_counts_only_when_shown() -> None:
    template = """<main><form method=post action="/contact/"><div class="mb-3">
      <input type=email name=email class="form-control{cls}" value="">
      <div class="invalid-feedback">Please enter a valid email.</div></div></form></main>"""

    assert judge(template.format(cls=""), DJANGO).outcome == "unknown"
    verdict = judge(template.format(cls=" is-invalid"), DJANGO)
    assert (verdict.outcome, verdict.messages) == ("failure", ("Please enter a valid email.",))


def test_hidden_error_templates_are_ignored() -> None:
    body = """<main><span class="error" style="display:none">Required</span>
      <span class="text-danger" style="visibility:hidden;">Email is required.</span>
      <div class="errors" hidden>Oops</div><p>Welcome</p></main>"""
    assert judge(body, DJANGO).outcome == "unknown"


# HTTP status and bot walls --------------------------------------------------------------------


def test_cloudflare_challenge_is_a_bot_challenge() -> None:
    verdict = judge(read("cloudflare_challenge.html"), DJANGO, status=403)

    assert verdict.outcome == "failure"
    assert verdict.reason.startswith("bot challenge")
    assert verdict.evidence_snippet == "Just a moment..."


def test_cloudflare_mitigation_header() -> None:
    verdict = judge("<html></html>", DJANGO, status=403, headers={"cf-mitigated": "challenge"})

    assert verdict.reason == "bot challenge: Cloudflare challenge (cf-mitigated)"


def test_cloudflare_script_on_a_normal_page_is_not_a_challenge() -> None:
    body = (
        read("thank_you.html")
        + '<script src="/cdn-cgi/challenge-platform/scripts/jsd/main.js"></script>'
    )
    assert judge(body, HONEYPOT).outcome == "success"


@pytest.mark.parametrize(("status", "retryable"), [(429, True), (500, True), (503, True)])
def test_rate_limits_and_server_errors_are_unknown_and_retryable(
    status: int, retryable: bool
) -> None:
    verdict = judge("<h1>Service unavailable</h1>", DJANGO, status=status)

    assert (verdict.outcome, verdict.retryable) == ("unknown", retryable)


@pytest.mark.parametrize("status", [400, 403, 404, 405, 422])
def test_client_errors_are_failures(status: int) -> None:
    verdict = judge(
        "<h1>Forbidden (403)</h1><p>CSRF verification failed.</p>", DJANGO, status=status
    )

    assert verdict.outcome == "failure"
    assert verdict.reason == f"HTTP {status}"
    assert "CSRF verification failed" in verdict.evidence_snippet


def test_nothing_recognisable_is_unknown() -> None:
    verdict = judge("<html><body><main><h1>Welcome</h1></main></body></html>", DJANGO)

    assert (verdict.outcome, verdict.reason) == ("unknown", "no success or failure signal")


def test_captcha_page_as_the_answer_is_a_failure() -> None:
    body = """<html><body><main><h1>Almost there</h1><p>Please verify you are not a robot.</p>
      <form method=post action="https://formspree.io/f/abc"><div class="g-recaptcha"
      data-sitekey="k"></div><button>Submit</button></form></main></body></html>"""
    verdict = judge(body, HONEYPOT, final_url="https://formspree.io/f/abc")

    assert verdict.outcome == "failure"
    assert "CAPTCHA" in verdict.reason


def test_jetpack_submission_container_is_a_success() -> None:
    body = """<main><div class="contact-form-submission"><p>Message Sent (<a href="/contact">go
      back</a>)</p></div></main>"""
    assert judge(body, DJANGO).outcome == "success"


def test_green_tick_class_alone_is_not_a_success() -> None:
    body = '<main><ul><li class="success" role="status">Included</li></ul></main>'
    assert judge(body, DJANGO).outcome == "unknown"


def test_success_wording_next_to_error_messages_is_unknown() -> None:
    body = """<main><p>Thank you for your message.</p>
      <div class="error">Please fill in all required fields.</div></main>"""
    verdict = judge(body, DJANGO)

    assert verdict.outcome == "unknown"
    assert verdict.messages == ("Please fill in all required fields.",)
