"""Filling contact forms: what a browser would post, with the sender's details mapped in."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicmo.cam.forms import FillResult, ParsedForm, SenderProfile, analyze_page, fill_form

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "forms"

SENDER = SenderProfile(
    first_name="Jane",
    last_name="Doe",
    email="jane@example.org",
    phone="+49 30 1234567",
    company="Example GmbH",
    website="https://example.org",
    job_title="Head of Partnerships",
    country="Germany",
)
SUBJECT = "Partnership idea"
MESSAGE = "Hello,\nwe would like to propose a partnership."


def form_of(name: str, url: str = "https://site.example/contact/") -> ParsedForm:
    analysis = analyze_page((FIXTURES / name).read_text(encoding="utf-8"), url)
    assert analysis.chosen is not None, analysis.why
    return analysis.chosen


def form_from(html: str, url: str = "https://x.example/contact") -> ParsedForm:
    analysis = analyze_page(html, url)
    assert analysis.chosen is not None, analysis.why
    return analysis.chosen


def fill(form: ParsedForm, sender: SenderProfile = SENDER, **kwargs: str) -> FillResult:
    return fill_form(
        form,
        sender,
        subject=kwargs.get("subject", SUBJECT),
        message=kwargs.get("message", MESSAGE),
    )


def test_cf7_payload_is_what_a_browser_posts() -> None:
    result = fill(form_of("cf7.html", "https://acme-widgets.example/contact/"))

    assert result.ok, result.problems
    assert result.payload == (
        ("_wpcf7", "123"),
        ("_wpcf7_version", "5.9.3"),
        ("_wpcf7_locale", "en_US"),
        ("_wpcf7_unit_tag", "wpcf7-f123-p45-o1"),
        ("_wpcf7_container_post", "45"),
        ("_wpcf7_posted_data_hash", ""),
        ("your-name", "Jane Doe"),
        ("your-email", "jane@example.org"),
        ("your-subject", SUBJECT),
        ("your-message", MESSAGE),
        ("acceptance-privacy", "1"),
        ("_wpcf7_ak_hp_textarea", ""),
        ("_wpcf7_ak_js", "182"),
    )
    assert result.mapping == {
        "your-name": "full_name",
        "your-email": "email",
        "your-subject": "subject",
        "your-message": "message",
        "acceptance-privacy": "consent",
    }
    assert result.unmapped_required == ()


def test_wpforms_first_last_gdpr_and_newsletter_left_unticked() -> None:
    result = fill(form_of("wpforms.html", "https://brightside-dental.example/get-in-touch/"))
    payload = dict(result.payload)

    assert result.ok, result.problems
    assert payload["wpforms[fields][1][first]"] == "Jane"
    assert payload["wpforms[fields][1][last]"] == "Doe"
    assert payload["wpforms[fields][2]"] == "jane@example.org"
    assert payload["wpforms[fields][5]"] == "+49 30 1234567"
    assert payload["wpforms[fields][6][]"].startswith("I consent")
    assert "wpforms[fields][7][]" not in payload  # "monthly newsletter with offers"
    assert payload["wpforms[hp]"] == ""
    assert payload["wpforms[submit]"] == "wpforms-submit"
    assert payload["wpforms[id]"] == "87"
    assert any("newsletter" in p for p in result.problems)


def test_gravity_forms_sub_fields_and_bookkeeping() -> None:
    result = fill(form_of("gravity.html", "https://northwind-consulting.example/contact-us/"))
    payload = dict(result.payload)

    assert result.ok, result.problems
    assert (payload["input_1.3"], payload["input_1.6"]) == ("Jane", "Doe")
    assert payload["input_5"] == "Example GmbH"
    assert payload["input_4"] == ""  # the "Comments" honeypot
    for name in ("is_submit_1", "gform_submit", "gform_unique_id", "state_1",
                 "gform_target_page_number_1", "gform_source_page_number_1",
                 "gform_field_values"):  # fmt: skip
        assert name in payload
    assert result.mapping["input_3"] == "message"


def test_django_truncates_to_maxlength_and_says_so() -> None:
    result = fill(form_of("django.html"), subject="A rather long subject line for this form")
    payload = dict(result.payload)

    assert payload["subject"] == "A rather long subjec"
    assert payload["csrfmiddlewaretoken"].startswith("W7xk")
    assert any("maxlength" in p for p in result.problems)
    assert result.ok


def test_honeypots_are_sent_empty_and_the_visible_website_is_filled() -> None:
    result = fill(form_of("honeypot.html"))
    payload = dict(result.payload)

    assert (payload["fax"], payload["url"], payload["nickname"]) == ("", "", "")
    assert payload["website"] == "https://example.org"
    assert payload["send"] == "1"
    assert result.ok


def test_german_form_name_pairing_consent_and_newsletter() -> None:
    result = fill(form_of("german_contact.html"))
    payload = dict(result.payload)

    assert result.ok, result.problems
    assert payload["vorname"] == "Jane"
    assert payload["name"] == "Doe"  # "Name" next to "Vorname" is the family name
    assert payload["mail"] == "jane@example.org"
    assert payload["firma"] == "Example GmbH"
    assert payload["betreff"] == SUBJECT
    assert payload["datenschutz"] == "1"
    assert "newsletter" not in payload
    assert payload["anrede"] == ""  # optional salutation left as the browser sends it
    assert payload["_token"] == "Xk9vQ2mL7pR4sT1uW8yZ3aB6cD0eF5gH2iJ7kL9m"


def test_required_fields_it_cannot_map_are_reported_not_guessed() -> None:
    result = fill(form_of("required_unmappable.html"))

    assert not result.ok
    assert result.unmapped_required == ("Order number", "Budget (EUR)")
    assert dict(result.payload)["budget"] == ""


def test_required_phone_without_a_sender_phone_is_unmapped() -> None:
    sender = SenderProfile(first_name="Jane", last_name="Doe", email="jane@example.org")
    result = fill(form_of("required_unmappable.html"), sender)

    assert "Phone" in result.unmapped_required
    assert any("no phone" in p for p in result.problems)


def test_select_topic_and_country_are_chosen_from_their_options() -> None:
    result = fill(form_of("select_topic.html"))
    payload = dict(result.payload)

    assert payload["topic"] == "partner"
    assert payload["country"] == "DE"
    assert payload["company_size"] == "1-10"
    assert result.mapping["topic"] == "subject"
    assert result.mapping["company_size"] == "select-default"
    assert payload["message"] == MESSAGE[:40]
    assert any("Partnership enquiry" in p for p in result.problems)
    assert result.ok


def test_country_select_without_a_matching_option_is_unmapped_when_required() -> None:
    sender = SenderProfile(first_name="A", last_name="B", email="a@b.example", country="Japan")
    result = fill(form_of("select_topic.html"), sender)

    assert "Country" in result.unmapped_required


def test_topic_select_falls_back_to_the_first_real_option_with_a_note() -> None:
    html = """<form method=post><input type=email name=email><textarea name=m></textarea>
      <select name=reason required><option value="">-- Select --</option>
      <option>Returns</option><option>Warranty</option></select></form>"""
    result = fill(form_from(html))

    assert dict(result.payload)["reason"] == "Returns"
    assert any("first option" in p for p in result.problems)


def test_required_unknown_select_and_salutation_are_not_guessed() -> None:
    html = """<form method=post><input type=email name=email><textarea name=m></textarea>
      <label>Anrede <select name=anrede required><option value="">Bitte wählen</option>
      <option>Frau</option><option>Herr</option></select></label>
      <label>Budget <select name=budget required><option value="">Choose</option>
      <option>5k</option><option>50k</option></select></label></form>"""
    result = fill(form_from(html))

    assert result.unmapped_required == ("Anrede", "Budget")


def test_required_salutation_with_a_no_answer_option_uses_it() -> None:
    html = """<form method=post><input type=email name=email><textarea name=m></textarea>
      <label>Anrede <select name=anrede required><option value="">Bitte wählen</option>
      <option>Frau</option><option>Herr</option><option value=na>Keine Angabe</option>
      </select></label></form>"""
    result = fill(form_from(html))

    assert dict(result.payload)["anrede"] == "na"
    assert result.ok


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (("Nombre", "Apellidos"), ("Jane", "Doe")),
        (("Prénom", "Nom"), ("Jane", "Doe")),
        (("Nome", "Cognome"), ("Jane", "Doe")),
        (("Voornaam", "Achternaam"), ("Jane", "Doe")),
        (("Nome", "Sobrenome"), ("Jane", "Doe")),
    ],
)
def test_multilingual_name_pairs(labels: tuple[str, str], expected: tuple[str, str]) -> None:
    html = f"""<form method=post><label>{labels[0]} <input name=a required></label>
      <label>{labels[1]} <input name=b required></label>
      <label>Correo / E-mail <input name=c></label><label>Mensaje <textarea name=d>
      </textarea></label></form>"""
    payload = dict(fill(form_from(html)).payload)

    assert (payload["a"], payload["b"]) == expected
    assert payload["c"] == "jane@example.org"


@pytest.mark.parametrize(
    ("label", "value"),
    [
        ("Téléphone", "+49 30 1234567"),
        ("Teléfono", "+49 30 1234567"),
        ("Telefoonnummer", "+49 30 1234567"),
        ("Société", "Example GmbH"),
        ("Empresa", "Example GmbH"),
        ("Azienda", "Example GmbH"),
        ("Bedrijfsnaam", "Example GmbH"),
        ("Courriel", "jane@example.org"),
        ("Asunto", SUBJECT),
        ("Oggetto", SUBJECT),
        ("Onderwerp", SUBJECT),
        ("Assunto", SUBJECT),
        ("Objet", SUBJECT),
        ("Vor- und Nachname", "Jane Doe"),
        ("Nome e cognome", "Jane Doe"),
        ("Full name", "Jane Doe"),
        ("Company website", "https://example.org"),
        ("Job title", "Head of Partnerships"),
        ("Land", "Germany"),
    ],
)
def test_multilingual_single_fields(label: str, value: str) -> None:
    html = f"""<form method=post><label>{label} <input name=x></label>
      <input type=email name=e><textarea name=m></textarea></form>"""
    assert dict(fill(form_from(html)).payload)["x"] == value


@pytest.mark.parametrize(
    ("label", "ticked"),
    [
        ("Ich akzeptiere die Datenschutzerklärung", True),
        ("J'accepte la politique de confidentialité (RGPD)", True),
        ("Acepto la política de privacidad", True),
        ("Accetto l'informativa sulla privacy", True),
        ("Ik ga akkoord met de privacyverklaring", True),
        ("Li e concordo com a política de privacidade", True),
        ("I agree to the terms and conditions", True),
        ("Subscribe me to the newsletter", False),
        ("I agree to receive marketing emails", False),
        ("Ja, ich möchte Neuigkeiten und Angebote per E-Mail erhalten", False),
        ("Send me a copy of this message", False),
    ],
)
def test_consent_is_ticked_and_marketing_never(label: str, ticked: bool) -> None:
    html = f"""<form method=post><input type=email name=e><textarea name=m></textarea>
      <label><input type=checkbox name=box value=yes> {label}</label></form>"""
    payload = dict(fill(form_from(html)).payload)

    assert ("box" in payload) is ticked


def test_pre_ticked_newsletter_box_is_unticked_and_other_defaults_kept() -> None:
    html = """<form method=post><input type=email name=e><textarea name=m></textarea>
      <label><input type=checkbox name=news checked> Keep me updated with news</label>
      <label><input type=checkbox name=copy value=1 checked> Send me a copy</label>
      <label><input type=radio name=pref value=mail checked> Mail</label>
      <label><input type=radio name=pref value=phone> Phone</label></form>"""
    payload = fill(form_from(html)).payload

    assert ("news", "on") not in payload
    assert ("copy", "1") in payload
    assert ("pref", "mail") in payload and ("pref", "phone") not in payload


def test_required_unknown_checkbox_is_unmapped() -> None:
    html = """<form method=post><input type=email name=e><textarea name=m></textarea>
      <label><input type=checkbox name=owner required> I own the property</label></form>"""
    result = fill(form_from(html))

    assert result.unmapped_required == ("I own the property",)
    assert not result.ok


def test_checkbox_group_keeps_multiple_defaults() -> None:
    html = """<form method=post><input type=email name=e><textarea name=m></textarea>
      <fieldset><legend>Services</legend>
      <label><input type=checkbox name="svc[]" value=a checked> Design</label>
      <label><input type=checkbox name="svc[]" value=b checked> Build</label>
      <label><input type=checkbox name="svc[]" value=c> Host</label></fieldset></form>"""
    payload = fill(form_from(html)).payload

    assert [v for k, v in payload if k == "svc[]"] == ["a", "b"]


def test_radio_topic_group_is_chosen_like_a_select() -> None:
    html = """<form method=post><input type=email name=e><textarea name=m></textarea>
      <fieldset><legend>Topic *</legend>
      <label><input type=radio name=topic value=s required> Support</label>
      <label><input type=radio name=topic value=g> General enquiry</label></fieldset></form>"""
    result = fill(form_from(html))

    assert ("topic", "g") in result.payload
    assert result.ok


def test_netlify_form_name_is_added_when_the_build_did_not() -> None:
    html = """<form name="contact" method="POST" data-netlify="true">
      <input type=email name=email><textarea name=message></textarea></form>"""
    result = fill(form_from(html))

    assert result.payload[0] == ("form-name", "contact")


def test_image_submit_sends_coordinates_and_only_the_pressed_button_is_sent() -> None:
    html = """<form method=post><input type=email name=email><textarea name=msg></textarea>
      <input type=image name=send src=/send.png><button name=other value=x>Other</button></form>"""
    payload = fill(form_from(html)).payload

    assert ("send.x", "1") in payload and ("send.y", "1") in payload
    assert all(name != "other" for name, _ in payload)


def test_two_textareas_keep_the_message_in_the_one_that_says_message() -> None:
    html = """<form method=post><input type=email name=email>
      <label>Address <textarea name=address></textarea></label>
      <label>Your message <textarea name=body></textarea></label></form>"""
    result = fill(form_from(html))

    assert dict(result.payload)["body"] == MESSAGE
    assert dict(result.payload)["address"] == ""
    assert result.mapping == {"email": "email", "body": "message"}


def test_a_callback_form_takes_the_phone_and_says_the_message_is_not_sent() -> None:
    html = """<form method=post action=/callback><label>Name <input name=n></label>
      <label>Phone <input type=tel name=p></label><button>Request callback</button></form>"""
    result = fill(form_from(html))

    assert result.ok
    assert dict(result.payload)["p"] == "+49 30 1234567"
    assert any("no message box" in p for p in result.problems)


def test_form_without_message_or_contact_field_is_not_ok() -> None:
    html = """<form method=post action=/enquiry><label>Name <input name=n></label>
      <label>Email <input type=email name=e></label><button>Send</button></form>"""
    result = fill(form_from(html))

    assert not result.ok
    assert "no message field was filled" in result.problems


def test_blocked_form_is_never_ok() -> None:
    result = fill(form_of("recaptcha.html"))

    assert not result.ok
    assert any(p.startswith("blocked (recaptcha)") for p in result.problems)
    assert dict(result.payload)["_token"].startswith("pL8k")


def test_aspnet_payload_carries_viewstate_and_event_target() -> None:
    result = fill(form_of("aspnet.html", "https://greenfield.example/Contact.aspx"))
    payload = dict(result.payload)

    assert payload["__EVENTTARGET"] == "ctl00$MainContent$lnkSend"
    assert payload["__VIEWSTATE"].startswith("/wEPDw")
    assert payload["ctl00$MainContent$txtMessage"] == MESSAGE
    assert "ctl00$btnSearch" not in payload
    assert result.ok
