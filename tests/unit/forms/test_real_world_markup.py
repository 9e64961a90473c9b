"""The form builders' own markup, as found on real contact pages: each builder's honeypot
convention is left empty, CAPTCHAs are read from the form (not from any text on the
page), simple sums are answered, and endpoints resolve the way the plugin's script does.
Sources: tests/fixtures/forms/SOURCES.md."""

from __future__ import annotations

from dataclasses import replace

import pytest

from aicmo.cam.forms import FormField, ParsedForm, SenderProfile, analyze_page, fill_form
from aicmo.cam.forms.blockers import arithmetic_answer

URL = "https://site.example/contact/"
SENDER = SenderProfile(
    first_name="Alex",
    last_name="Martin",
    email="alex@aicmo.example",
    phone="+44 20 7946 0000",
    company="Aicmo Labs",
    city="Portland",
    state="Oregon",
)


def contact_form(inner: str, attrs: str = 'method="post" action="/send"', head: str = "") -> str:
    """A plain contact form around ``inner`` (name, email and message are always there)."""
    return (
        f"<html><head>{head}</head><body><h1>Contact us</h1><form {attrs}>"
        '<label for="n">Name</label><input id="n" name="name" type="text">'
        '<label for="e">Email</label><input id="e" name="email" type="email">'
        f"{inner}"
        '<label for="m">Message</label><textarea id="m" name="message"></textarea>'
        "<button type=submit>Send</button></form></body></html>"
    )


def chosen(html: str, url: str = URL) -> ParsedForm:
    analysis = analyze_page(html, url)
    assert analysis.chosen is not None, analysis.why
    return analysis.chosen


def field(form: ParsedForm, name: str) -> FormField:
    return next(f for f in form.fields if f.name == name)


# Each builder's honeypot convention --------------------------------------------------------

HONEYPOTS = {
    "formidable (FrmHoneypot::render_field)": (
        '<div id="frm_field_11_container"><label for="field_x7k2p">If you are human, leave this'
        ' field blank.</label><input id="field_x7k2p" type="text" class="frm_form_field'
        ' form-field frm_verify" name="item_meta[11]" value="" /></div>',
        "item_meta[11]",
    ),
    "formidable strict, generated frm__ class, Spanish": (
        '<div class="frm__65f1c2d3e4a5b"><label for="frm_email_2">Si eres humano, deja este'
        ' campo en blanco.</label><input type="email" class="frm__65f1c2d3e4a5b"'
        ' id="frm_email_2" name="frm_email_2" value="" /></div>',
        "frm_email_2",
    ),
    "contact form 7 honeypot plugin (renamed field)": (
        '<span class="wpcf7-form-control-wrap your-website-wrap" style="display:none'
        ' !important; visibility:hidden !important;"><input class="wpcf7-form-control'
        ' wpcf7-text" type="text" name="your-website" value="" size="40" tabindex="-1" />'
        '<span class="hp-message">Please leave this field empty.</span></span>',
        "your-website",
    ),
    "akismet in contact form 7 / jetpack / gravity forms": (
        '<p style="display: none !important;" class="akismet-fields-container"'
        ' data-prefix="ak_"><label>&#916;<textarea name="ak_hp_textarea" cols="45" rows="8"'
        ' maxlength="100"></textarea></label><input type="hidden" id="ak_js_1" name="ak_js"'
        ' value="182"/></p>',
        "ak_hp_textarea",
    ),
    "wpforms": (
        '<div class="wpforms-field wpforms-field-hp"><label for="wpforms-12-field-hp"'
        ' class="wpforms-field-label">Email</label><input type="text" name="wpforms[hp]"'
        ' id="wpforms-12-field-hp" class="wpforms-field-medium"></div>',
        "wpforms[hp]",
    ),
    "gravity forms": (
        '<div id="field_1_7" class="gfield gfield--type-honeypot gform_validation_container'
        " field_sublabel_below gfield--has-description field_description_below"
        ' gfield_visibility_visible"><label class="gfield_label gform-field-label"'
        ' for="input_1_7">Phone</label><div class="ginput_container"><input name="input_7"'
        ' id="input_1_7" type="text" value="" autocomplete="new-password"/></div>'
        '<div class="gfield_description" id="gfield_description_1_7">This field is for'
        " validation purposes and should be left unchanged.</div></div>",
        "input_7",
    ),
    "ninja forms": (
        '<div id="nf-field-hp-1-wrap" class="nf-field-hp-wrap"><label for="nf-field-hp-1"'
        ' aria-hidden="true">If you are a human seeing this field, please leave it empty.'
        '<input id="nf-field-hp-1" name="nf-field-hp" class="nf-element nf-field-hp"'
        ' type="text" value=""/></label></div>',
        "nf-field-hp",
    ),
    "elementor pro": (
        '<div class="elementor-field-type-honeypot elementor-field-group elementor-column'
        ' elementor-field-group-field_5d6e7f8 elementor-col-100"><input size="1" type="text"'
        ' name="form_fields[field_5d6e7f8]" id="form-field-field_5d6e7f8" class="elementor-field'
        ' elementor-size-sm " style="display:none !important;"></div>',
        "form_fields[field_5d6e7f8]",
    ),
    "fluent forms": (
        '<span style="display: none !important;"><input type="checkbox"'
        ' name="item__3__fluent_checkme_" value="1" style="display:none !important;"'
        ' tabindex="-1" aria-hidden="true"></span>',
        "item__3__fluent_checkme_",
    ),
    "netlify (docs: bot-field)": (
        '<p class="hidden"><label>Don\u2019t fill this out if you\u2019re human: <input'
        ' name="bot-field" /></label></p>',
        "bot-field",
    ),
    "formsubmit": ('<input type="text" name="_honey" style="display:none">', "_honey"),
    "formspree": ('<input type="text" name="_gotcha" style="display:none" />', "_gotcha"),
}


@pytest.mark.parametrize(("markup", "name"), HONEYPOTS.values(), ids=list(HONEYPOTS))
def test_each_builders_honeypot_is_recognised_and_never_filled(markup: str, name: str) -> None:
    form = chosen(contact_form(markup))
    trap = field(form, name)

    assert trap.honeypot, trap
    result = fill_form(form, SENDER, subject="Hi", message="Hello there")
    assert result.ok, result.problems
    assert dict(result.payload).get(name, "") in ("", None)
    assert name not in result.mapping


def test_a_netlify_honeypot_named_by_the_form_attribute_is_left_empty() -> None:
    markup = '<p class="hidden"><label>Leave empty: <input name="extra-info" /></label></p>'
    attrs = 'name="contact" method="POST" data-netlify="true" netlify-honeypot="extra-info"'
    form = chosen(contact_form(markup, attrs))
    assert field(form, "extra-info").honeypot


@pytest.mark.parametrize(
    "label",
    [
        "If you are human, leave this field blank.",
        "Bitte dieses Feld leer lassen.",
        "Wenn Sie ein Mensch sind, dieses Feld nicht ausfüllen.",
        "Si vous êtes humain, laissez ce champ vide.",
        "Si eres humano, deja este campo en blanco.",
        "Se sei umano, lascia questo campo vuoto.",
        "Se você é humano, deixe este campo em branco.",
        "Als je een mens bent, laat dit veld leeg.",
    ],
)
def test_a_leave_it_empty_label_makes_a_honeypot_in_every_language_the_filler_writes(
    label: str,
) -> None:
    markup = f'<label for="t">{label}</label><input type="email" id="t" name="extra_email">'
    form = chosen(contact_form(markup))
    assert field(form, "extra_email").honeypot
    payload = dict(fill_form(form, SENDER, subject="Hi", message="Hello").payload)
    assert payload["extra_email"] == "" and payload["email"] == SENDER.email


def test_a_leave_blank_if_hint_about_something_else_is_no_honeypot() -> None:
    markup = (
        '<label for="c">Company (leave blank if you write as a private person)</label>'
        '<input id="c" name="company" type="text">'
    )
    form = chosen(contact_form(markup))
    assert not field(form, "company").honeypot


# CAPTCHAs: the widget, its script or its field in the form -------------------------------


def test_a_stylesheet_rule_for_the_recaptcha_badge_is_no_captcha() -> None:
    head = "<style>.grecaptcha-badge{visibility:hidden;}</style>"
    form = chosen(contact_form("", head=head))
    assert form.blockers == ()


def test_the_recaptcha_badge_element_is_one() -> None:
    html = contact_form("").replace(
        "</body>", '<div class="grecaptcha-badge" data-style="bottomright"></div></body>'
    )
    assert {b.kind for b in chosen(html).blockers} == {"recaptcha"}


def test_formsubmits_captcha_switch_turned_off_is_no_captcha_and_turned_on_is() -> None:
    off = chosen(contact_form('<input type="hidden" name="_captcha" value="false">'))
    assert off.blockers == ()
    on = chosen(contact_form('<input type="hidden" name="captcha_token" value="a1b2">'))
    assert {b.kind for b in on.blockers} == {"captcha"}


@pytest.mark.parametrize(
    "placeholder", ["123-456-7890", "+1 (555) 123-4567", "555-0100", "06 12 34 56 78"]
)
def test_a_phone_placeholder_is_not_a_maths_question(placeholder: str) -> None:
    markup = (
        '<label for="p">Phone</label>'
        f'<input id="p" type="tel" name="phone" placeholder="{placeholder}">'
    )
    form = chosen(contact_form(markup))
    assert form.blockers == () and field(form, "phone").answer == ""
    assert dict(fill_form(form, SENDER, subject="Hi", message="Hello").payload)["phone"] == (
        SENDER.phone
    )


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("What's 3 + 7?", "10"),
        ("What is 12 - 5?", "7"),
        ("3 x 4 = ?", "12"),
        ("2 + 2 =", "4"),
        ("Wie viel ist 3 plus 4?", "7"),
        ("Combien font 6 + 1 ?", "7"),
        ("¿Cuánto es 5 más 3?", "8"),
        ("Quanto fa 9 meno 4?", "5"),
    ],
)
def test_a_simple_sum_is_answered_honestly(question: str, answer: str) -> None:
    assert arithmetic_answer(question) == answer
    markup = f'<label for="q">{question}</label><input id="q" name="captcha_sum" type="text">'
    form = chosen(contact_form(markup))
    assert form.blockers == ()
    result = fill_form(form, SENDER, subject="Hi", message="Hello")
    assert result.ok and dict(result.payload)["captcha_sum"] == answer


@pytest.mark.parametrize(
    "text", ["123-456-7890", "Call 555-0100 today", "Since 1987", "Room 12", "Date 2024-01-05"]
)
def test_numbers_that_ask_nothing_have_no_answer(text: str) -> None:
    assert arithmetic_answer(text) is None


def test_a_contact_form_7_quiz_that_is_not_a_sum_stays_a_captcha() -> None:
    quiz = (
        '<span class="wpcf7-form-control-wrap" data-name="quiz-capital"><label><span'
        ' class="wpcf7-quiz-label">The capital of Japan?</span> <input size="40"'
        ' class="wpcf7-form-control wpcf7-quiz" autocomplete="off" aria-required="true"'
        ' type="text" name="quiz-capital" /></label><input type="hidden"'
        ' name="_wpcf7_quiz_answer_quiz-capital" value="9f8e" /></span>'
    )
    form = chosen(contact_form(quiz))
    assert {b.kind for b in form.blockers} == {"captcha"}
    assert "capital of Japan" in form.blockers[0].detail


def test_a_turnstile_drawn_by_a_script_with_no_form_is_a_page_blocker() -> None:
    html = (
        '<html><body><h1>Contact</h1><div id="widget-container"></div>'
        '<script src="https://challenges.cloudflare.com/turnstile/v0/api.js?render=explicit">'
        "</script><script>turnstile.render('#widget-container', {sitekey: 'k'});</script>"
        "</body></html>"
    )
    analysis = analyze_page(html, URL)
    assert analysis.chosen is None
    assert [b.kind for b in analysis.page_blockers] == ["turnstile"]


def test_a_widget_outside_any_form_is_a_page_blocker_but_a_bare_site_wide_script_is_not() -> None:
    widget = '<html><body><div class="cf-turnstile" data-sitekey="k"></div></body></html>'
    assert [b.kind for b in analyze_page(widget, URL).page_blockers] == ["turnstile"]
    script = (
        '<html><body><p>About us</p><script src="https://www.google.com/recaptcha/api.js'
        '?render=KEY"></script></body></html>'
    )
    assert analyze_page(script, URL).page_blockers == ()


# Endpoints -------------------------------------------------------------------------------

CF7 = (
    '<form action="/contact/#wpcf7-f5-o1" method="post" class="wpcf7-form">'
    '<input type="hidden" name="_wpcf7" value="5"><label>Name<input name="your-name"></label>'
    '<label>Email<input type="email" name="your-email"></label>'
    '<label>Message<textarea name="your-message"></textarea></label>'
    '<input type="submit" value="Send"></form>'
)


@pytest.mark.parametrize(
    ("root", "endpoint"),
    [
        ("https:\\/\\/s.example\\/wp-json\\/", "https://s.example/wp-json/"),
        ("https:\\/\\/s.example\\/wp-json\\/contact-form-7\\/v1", "https://s.example/wp-json/"),
        ("https:\\/\\/s.example\\/wp-json\\/contact-form-7\\/v1\\/", "https://s.example/wp-json/"),
        ("\\/wp-json\\/", "https://site.example/wp-json/"),
        (
            "https:\\/\\/s.example\\/index.php?rest_route=\\/",
            "https://s.example/index.php?rest_route=/",
        ),
    ],
)
def test_the_contact_form_7_rest_endpoint_gets_the_plugin_namespace_once(
    root: str, endpoint: str
) -> None:
    api = f'{{"root":"{root}","namespace":"contact-form-7\\/v1"}}'
    script = f'<script>var wpcf7 = {{"api":{api}}};</script>'
    form = chosen(f"<html><body>{CF7}{script}</body></html>")
    assert form.ajax_url == f"{endpoint}contact-form-7/v1/contact-forms/5/feedback"


def test_a_relative_admin_ajax_url_is_resolved_against_the_page() -> None:
    html = (
        '<html><body><form class="elementor-form" method="post" name="Contact">'
        '<input type="hidden" name="form_id" value="1a2b"><label for=n>Name</label>'
        '<input id=n name="form_fields[name]"><label for=e>Email</label>'
        '<input id=e type=email name="form_fields[email]"><label for=m>Message</label>'
        '<textarea id=m name="form_fields[message]"></textarea><button>Send</button></form>'
        '<script>var ElementorProFrontendConfig = {"ajaxurl":"\\/wp-admin\\/admin-ajax.php"};'
        "</script></body></html>"
    )
    form = chosen(html, "https://north.example/contact/")
    assert form.ajax_url == "https://north.example/wp-admin/admin-ajax.php"


@pytest.mark.parametrize("attrs", ['name="contact" netlify', 'name="contact" data-netlify="true"'])
def test_a_netlify_form_without_a_method_is_posted(attrs: str) -> None:
    assert chosen(contact_form("", attrs)).method == "POST"


def test_a_form_without_a_method_that_is_not_netlifys_stays_get() -> None:
    assert chosen(contact_form("", 'action="/send"')).method == "GET"


# What a form asks for ------------------------------------------------------------------


ZOHO_CALLBACK = (
    "<html><body><h2>Request a Callback</h2><form action='https://forms.zohopublic.com/a/form/"
    "Callback/formperma/k/htmlRecords/submit' name='form' method='POST'"
    " enctype='multipart/form-data'><input type=hidden name=zf_referrer_name value=''>"
    "<ul><li><label class='zf-labelName'>Name <em>*</em></label><span><input type=text"
    " name='Name_First'/> <label>First</label></span><span><input type=text name='Name_Last'/>"
    " <label>Last</label></span></li><li><label class='zf-labelName'>Phone <em>*</em></label>"
    "<span><input type=text compname=PhoneNumber name='PhoneNumber_countrycode'/>"
    "<label>Number</label></span></li><li><button>Submit</button></li></ul></form></body></html>"
)


def test_a_callback_form_with_name_and_phone_only_is_a_contact_form_sent_with_the_phone() -> None:
    form = chosen(ZOHO_CALLBACK)
    assert form.builder == "zoho"
    result = fill_form(form, SENDER, subject="Hi", message="Hello")
    assert result.ok
    payload = dict(result.payload)
    assert payload["PhoneNumber_countrycode"] == SENDER.phone
    assert (payload["Name_First"], payload["Name_Last"]) == ("Alex", "Martin")
    no_phone = SenderProfile(first_name="Alex", last_name="Martin", email="a@aicmo.example")
    assert not fill_form(form, no_phone, subject="Hi", message="Hello").ok


def test_a_title_box_before_the_message_is_the_subject_and_beside_the_company_the_job() -> None:
    subject = (
        '<html><body><form method="post" action="/send"><label for="n">Name</label>'
        '<input id="n" name="name"><label for="e">Email</label><input id="e" type="email"'
        ' name="email"><label for="t">Title *</label><input id="t" name="f5" required>'
        '<label for="m">Message</label><textarea id="m" name="message"></textarea>'
        "<button>Send</button></form></body></html>"
    )
    result = fill_form(chosen(subject), SENDER, subject="A question", message="Hello")
    assert result.ok and result.mapping.get("f5") == "subject"
    assert dict(result.payload)["f5"] == "A question"

    job = contact_form(
        '<label for="c">Company</label><input id="c" name="company">'
        '<label for="t">Title</label><input id="t" name="title">'
        '<label for="p">Phone</label><input id="p" type="tel" name="phone">'
    )
    founder = replace(SENDER, job_title="Founder")
    result = fill_form(chosen(job), founder, subject="A question", message="Hello")
    assert result.mapping.get("title") == "job_title" and dict(result.payload)["title"] == "Founder"


def test_required_city_and_state_come_from_the_sender_and_a_state_select_picks_its_option() -> None:
    markup = (
        '<label for="c">City *</label><input id="c" name="city" required>'
        '<label for="s">State *</label><select id="s" name="state" required>'
        '<option value="">Select a state</option><option value="OR">Oregon</option>'
        '<option value="WA">Washington</option></select>'
    )
    form = chosen(contact_form(markup))
    result = fill_form(form, SENDER, subject="Hi", message="Hello")
    assert result.ok, result.problems
    assert dict(result.payload)["city"] == "Portland" and dict(result.payload)["state"] == "OR"
    nowhere = SenderProfile(first_name="Alex", last_name="Martin", email="a@aicmo.example")
    missing = fill_form(form, nowhere, subject="Hi", message="Hello")
    assert not missing.ok and len(missing.unmapped_required) == 2


def test_a_message_box_that_warns_about_card_numbers_is_no_honeypot() -> None:
    html = contact_form("").replace(
        '<label for="m">Message</label>',
        '<label for="m">Message (please do not enter card numbers)</label>',
    )
    form = chosen(html)
    assert not field(form, "message").honeypot
    assert fill_form(form, SENDER, subject="Hi", message="Hello").ok


def test_a_form_that_asks_an_email_but_has_no_message_box_is_no_callback_form() -> None:
    html = (
        '<html><body><form method="post" action="/quote"><label for="n">Name</label>'
        '<input id="n" name="name"><label for="e">Email</label><input id="e" type="email"'
        ' name="email"><label for="p">Phone</label><input id="p" type="tel" name="phone">'
        "<button>Get a quote</button></form></body></html>"
    )
    result = fill_form(chosen(html), SENDER, subject="Hi", message="Hello")
    assert not result.ok and "no message field was filled" in result.problems
