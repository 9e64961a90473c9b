"""Form analysis on pages modelled on what real form builders emit (tests/fixtures/forms)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aicmo.cam.forms import FormField, PageAnalysis, ParsedForm, analyze_page, parse_forms

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "forms"


def analyze(name: str, url: str = "https://site.example/contact/") -> PageAnalysis:
    return analyze_page((FIXTURES / name).read_text(encoding="utf-8"), url)


def chosen(analysis: PageAnalysis) -> ParsedForm:
    assert analysis.chosen is not None, analysis.why
    return analysis.chosen


def field(form: ParsedForm, name: str) -> FormField:
    return next(f for f in form.fields if f.name == name)


def honeypots(form: ParsedForm) -> set[str]:
    return {f.name for f in form.fields if f.honeypot}


def blocker_kinds(form: ParsedForm) -> set[str]:
    return {b.kind for b in form.blockers}


# WordPress builders ---------------------------------------------------------------------------


def test_cf7_picks_the_contact_form_over_the_header_search() -> None:
    analysis = analyze("cf7.html", "https://acme-widgets.example/contact/")
    form = chosen(analysis)

    assert [f.purpose for f in analysis.forms] == ["search", "contact"]
    assert form.index == 1
    assert form.builder == "cf7"
    assert form.action == "https://acme-widgets.example/contact/"  # fragment dropped
    assert form.method == "POST"
    assert form.blockers == ()
    assert analysis.submittable
    assert "#1 search (role=search)" in analysis.why
    assert analysis.why.endswith("picked form #2")
    assert field(form, "_wpcf7").value == "123"
    assert field(form, "your-name").required
    assert field(form, "your-name").label == "Your name"
    assert not field(form, "your-message").required
    assert honeypots(form) == {"_wpcf7_ak_hp_textarea"}
    assert form.ajax_url == (
        "https://acme-widgets.example/wp-json/contact-form-7/v1/contact-forms/123/feedback"
    )


def test_wpforms_reads_sub_labels_and_its_honeypot() -> None:
    form = chosen(analyze("wpforms.html", "https://brightside-dental.example/get-in-touch/"))

    assert form.builder == "wpforms"
    assert form.enctype == "multipart/form-data"
    first = field(form, "wpforms[fields][1][first]")
    assert (first.label, first.group_label, first.required) == ("First", "Name", True)
    assert honeypots(form) == {"wpforms[hp]"}
    assert field(form, "wpforms[hp]").label == "Message"  # the trap borrows a real label
    assert field(form, "wpforms[token]").value == "a3f9c2e1d4b5a6978877665544332211"
    assert form.submitter is not None
    assert form.fields[form.submitter].name == "wpforms[submit]"
    assert form.ajax_url == "https://brightside-dental.example/wp-admin/admin-ajax.php"
    assert ("action", "wpforms_submit") in form.ajax_params


def test_gravity_forms_complex_name_field_and_validation_container() -> None:
    form = chosen(analyze("gravity.html", "https://northwind-consulting.example/contact-us/"))

    assert form.builder == "gravity"
    assert form.action == "https://northwind-consulting.example/contact-us/"
    last = field(form, "input_1.6")
    assert (last.label, last.group_label, last.required) == ("Last", "Name", True)
    assert honeypots(form) == {"input_4"}
    assert "honeypot" in field(form, "input_4").honeypot_reason
    assert field(form, "state_1").value.startswith("WyJbXSIs")
    assert field(form, "gform_field_values").kind == "hidden"


def test_elementor_form_notes_its_admin_ajax_endpoint() -> None:
    form = chosen(analyze("elementor.html", "https://sunhill-creative.example/contact/"))

    assert form.builder == "elementor"
    assert form.action == "https://sunhill-creative.example/contact/"
    assert form.ajax_url == "https://sunhill-creative.example/wp-admin/admin-ajax.php"
    assert dict(form.ajax_params) == {
        "action": "elementor_pro_forms_send_form",
        "referrer": "https://sunhill-creative.example/contact/",
    }
    assert any("admin-ajax" in reason for reason in form.reasons)
    assert honeypots(form) == {"form_fields[field_9f8e7d6]"}


# Frameworks -----------------------------------------------------------------------------------


def test_django_form_keeps_the_csrf_token() -> None:
    form = chosen(analyze("django.html", "https://fieldnotes.example/contact/"))

    assert form.builder == "django"
    assert field(form, "csrfmiddlewaretoken").kind == "hidden"
    assert field(form, "subject").max_length == 20
    assert field(form, "message").value == ""  # the newline after <textarea> is not content
    assert any("csrfmiddlewaretoken" in reason for reason in form.reasons)


def test_aspnet_webforms_postback_link_sets_the_event_target() -> None:
    form = chosen(analyze("aspnet.html", "https://greenfield.example/Contact.aspx"))

    assert form.builder == "aspnet"
    assert form.action == "https://greenfield.example/Contact.aspx"
    assert field(form, "__EVENTTARGET").value == "ctl00$MainContent$lnkSend"
    assert form.submitter is None  # the header's "Go" button is the site search
    assert field(form, "ctl00$MainContent$txtPhone").label == "Telephone"  # table cell text
    assert field(form, "__VIEWSTATE").value.startswith("/wEPDw")


def test_netlify_honeypot_named_by_the_form_attribute() -> None:
    form = chosen(analyze("netlify.html", "https://adabyte.example/contact/"))

    assert form.builder == "netlify"
    assert form.action == "https://adabyte.example/thanks/"
    assert honeypots(form) == {"bot-field"}
    assert "netlify-honeypot" in field(form, "bot-field").honeypot_reason


def test_webflow_form_is_blocked_because_webflow_posts_it_with_javascript() -> None:
    analysis = analyze("webflow.html", "https://www.foxglove-studio.example/contact")
    form = chosen(analysis)

    assert form.builder == "webflow"
    assert blocker_kinds(form) == {"js_only"}
    assert not analysis.submittable
    assert "must not be submitted automatically" in analysis.why


# Honeypots ------------------------------------------------------------------------------------


def test_honeypots_hidden_by_style_block_inline_style_and_tabindex() -> None:
    form = chosen(analyze("honeypot.html", "https://pineandpixel.example/contact/"))

    assert honeypots(form) == {"fax", "url", "nickname"}
    assert "form-row--extra" in field(form, "fax").honeypot_reason
    assert "left:-9999px" in field(form, "url").honeypot_reason
    assert "tabindex=-1" in field(form, "nickname").honeypot_reason
    website = field(form, "website")
    assert not website.honeypot  # a visible website field is legit


def test_hidden_inputs_are_never_honeypots() -> None:
    html = """<form method=post><div style="display:none">
      <input type=hidden name=_token value=abc><input type=hidden name=hp value=1></div>
      <input name=email type=email><textarea name=message></textarea></form>"""
    form = parse_forms(html, "https://x.example/")[0]

    assert honeypots(form) == set()
    assert field(form, "hp").value == "1"


def test_modern_wpforms_honeypot_hidden_by_a_descendant_css_rule() -> None:
    html = """<style>#wpforms-9-field_4-container { position: absolute !important;
      overflow: hidden !important; height: 1px !important; width: 1px !important; }
      #wpforms-9-field_4-container input { visibility: hidden; }</style>
      <form class="wpforms-form" method="post"><div id="wpforms-9-field_4-container"
      class="wpforms-field wpforms-field-text"><label for="f4">Company</label>
      <input type="text" id="f4" name="wpforms[fields][4]"></div>
      <input type="email" name="wpforms[fields][2]"><textarea name="wpforms[fields][3]">
      </textarea></form>"""
    form = parse_forms(html, "https://x.example/")[0]

    assert honeypots(form) == {"wpforms[fields][4]"}


def test_custom_styled_checkbox_and_hidden_form_steps_are_not_honeypots() -> None:
    html = """<form method=post>
      <label><input type=checkbox name=privacy style="opacity:0;position:absolute">
        I accept the privacy policy</label>
      <div class="step-2" style="display:none"><input name=a><input name=b><input name=c></div>
      <input type=email name=email><textarea name=msg></textarea></form>"""
    form = parse_forms(html, "https://x.example/")[0]

    assert honeypots(form) == set()


@pytest.mark.parametrize(
    "snippet",
    [
        '<input name="hp_trap" type="text">',
        '<p class="ohnohoney"><input name="x" type="text"></p>',
        '<input name="_gotcha" type="text">',
        '<div class="d-none"><input name="extra" type="text"></div>',
        '<div aria-hidden="true"><input name="extra" type="text"></div>',
        '<input name="extra" type="text" hidden>',
        '<label>Leave this field empty <input name="extra" type="text"></label>',
        '<input name="extra" style="width:0;height:0;overflow:hidden">',
    ],
)
def test_honeypot_signals(snippet: str) -> None:
    html = f"<form method=post>{snippet}<input type=email name=email><textarea name=m>"
    form = parse_forms(html + "</textarea></form>", "https://x.example/")[0]

    assert len(honeypots(form)) == 1, form.fields


# Blockers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("recaptcha.html", "recaptcha"),
        ("recaptcha_v3.html", "recaptcha"),
        ("hcaptcha.html", "hcaptcha"),
        ("turnstile.html", "turnstile"),
    ],
)
def test_captcha_blocks_the_chosen_contact_form(name: str, kind: str) -> None:
    analysis = analyze(name)
    form = chosen(analysis)

    assert form.purpose == "contact"
    assert kind in blocker_kinds(form)
    assert not analysis.submittable


def test_recaptcha_v3_script_is_a_page_blocker_for_the_chosen_form() -> None:
    analysis = analyze("recaptcha_v3.html")

    assert [b.kind for b in analysis.page_blockers] == ["recaptcha"]
    assert "v3" in analysis.page_blockers[0].detail


def test_hubspot_embed_without_a_form_is_a_js_only_page_blocker() -> None:
    analysis = analyze("hubspot_embed.html")

    assert analysis.chosen is None
    assert [b.kind for b in analysis.page_blockers] == ["js_only"]
    assert "HubSpot" in analysis.page_blockers[0].detail
    assert "no contact form" in analysis.why and "HubSpot" in analysis.why


def test_typeform_embed_is_reported() -> None:
    analysis = analyze("typeform_embed.html")

    assert analysis.forms == ()
    assert analysis.why.startswith("no form on the page")
    assert any("Typeform" in b.detail for b in analysis.page_blockers)


@pytest.mark.parametrize(
    ("html", "kind", "needle"),
    [
        (
            '<iframe src="https://form.jotform.com/241234567890"></iframe>',
            "iframe_embed",
            "Jotform",
        ),
        (
            '<iframe src="https://docs.google.com/forms/d/e/1FAIpQL/viewform?embedded=true">',
            "iframe_embed",
            "Google Forms",
        ),
        ('<div class="nf-form-cont" id="nf-form-3-cont"></div>', "js_only", "Ninja Forms"),
        (
            '<meta name="generator" content="Wix.com Website Builder"><div id="SITE_CONTAINER">',
            "js_only",
            "Wix",
        ),
        (
            '<script src="https://js.hsforms.net/forms/embed/2468013.js" defer></script>'
            '<div class="hs-form-frame" data-form-id="x"></div>',
            "js_only",
            "HubSpot",
        ),
        ('<div class="elfsight-app-1234abcd"></div>', "js_only", "Elfsight"),
        (
            "<div><input type=email name=email><textarea name=message></textarea>"
            "<button onclick=send()>Send</button></div>",
            "js_only",
            "outside any <form>",
        ),
    ],
)
def test_embeds_without_a_usable_form(html: str, kind: str, needle: str) -> None:
    analysis = analyze_page(html, "https://x.example/contact")

    assert analysis.chosen is None
    assert any(b.kind == kind and needle in b.detail for b in analysis.page_blockers), (
        analysis.page_blockers
    )


@pytest.mark.parametrize(
    ("extra", "kind"),
    [
        ('<div class="frc-captcha" data-sitekey="FCMG"></div>', "friendly_captcha"),
        (
            "<label for=c>Security question: the capital of France?</label>"
            "<input id=c name=quiz type=text>",
            "captcha",
        ),
        ("<label>Solve the puzzle <input name=answer type=text></label>", "captcha"),
        ('<img src="/captcha.php?r=1"><input name=code type=text>', "captcha"),
        ("<label><input type=checkbox name=human required> I am not a robot</label>", "captcha"),
        ('<div data-netlify-recaptcha="true"></div>', "recaptcha"),
        (
            '<span class="wpcf7-form-control-wrap"><input name="captcha-170" type=text></span>',
            "captcha",
        ),
        ('<input type=hidden name="_wpcf7_recaptcha_response" value="">', "recaptcha"),
    ],
)
def test_captcha_signals_inside_a_form(extra: str, kind: str) -> None:
    html = (
        "<form method=post><input name=name><input type=email name=email>"
        f"<textarea name=message></textarea>{extra}<button>Send</button></form>"
    )
    form = chosen(analyze_page(html, "https://x.example/contact"))

    assert kind in blocker_kinds(form), form.blockers


def test_recaptcha_v2_script_without_any_widget_blocks_every_form() -> None:
    html = """<script src="https://www.google.com/recaptcha/api.js?render=explicit"></script>
      <form method=post><input name=name><input type=email name=email>
      <textarea name=message></textarea></form>"""
    analysis = analyze_page(html, "https://x.example/contact")

    assert blocker_kinds(chosen(analysis)) == {"recaptcha"}
    assert analysis.page_blockers


def test_recaptcha_widget_in_the_login_form_does_not_block_the_contact_form() -> None:
    html = """<script src="https://www.google.com/recaptcha/api.js"></script>
      <form action=/login method=post><input name=user><input type=password name=pw>
        <div class="g-recaptcha" data-sitekey="k"></div></form>
      <form action=/contact method=post><input name=name><input type=email name=email>
        <textarea name=message></textarea></form>"""
    analysis = analyze_page(html, "https://x.example/contact")

    assert analysis.submittable
    assert chosen(analysis).index == 1


@pytest.mark.parametrize(
    "form_tag",
    [
        '<form action="javascript:void(0)">',
        '<form onsubmit="submitContact(); return false;">',
        '<form class="hs-form stacked" action="">',
    ],
)
def test_script_driven_forms_are_blocked(form_tag: str) -> None:
    html = f"{form_tag}<input name=name><input type=email name=email><textarea name=message>"
    form = chosen(analyze_page(html + "</textarea></form>", "https://x.example/contact"))

    assert "js_only" in blocker_kinds(form)


def test_fields_without_names_mean_a_script_submits_them() -> None:
    html = """<form><input placeholder="Name"><input type=email placeholder="Email">
      <textarea placeholder="Message"></textarea><button>Send</button></form>"""
    form = chosen(analyze_page(html, "https://x.example/contact"))

    assert "js_only" in blocker_kinds(form)


# Choosing among several forms -----------------------------------------------------------------


def test_multi_form_page_explains_every_form_and_picks_the_contact_form() -> None:
    analysis = analyze("multi_form.html", "https://orbit-outdoor.example/pages/contact")

    assert [f.purpose for f in analysis.forms] == ["search", "login", "contact", "newsletter"]
    assert chosen(analysis).form_id == "contact_form"
    assert "#1 search (role=search)" in analysis.why
    assert "#2 login (password field)" in analysis.why
    assert "#4 newsletter (one email field" in analysis.why
    assert analysis.why.endswith("→ picked form #3")


def test_newsletter_only_page_has_no_contact_form() -> None:
    analysis = analyze("newsletter_only.html", "https://slowkitchen.example/recipes/")

    assert analysis.chosen is None
    assert analysis.forms[0].purpose == "newsletter"
    assert "list-manage.com" in analysis.why
    assert analysis.why.endswith("→ no contact form")
    assert honeypots(analysis.forms[0]) == {"b_0a1b2c3d4e5f6a7b8c9d0e1f2_3a4b5c6d7e"}


def test_unblocked_contact_form_is_preferred_over_a_blocked_one() -> None:
    html = """<form action=/a method=post><input name=name><input type=email name=email>
        <textarea name=message></textarea><div class="h-captcha" data-sitekey=k></div></form>
      <form action=/b method=post><input type=email name=email>
        <textarea name=message></textarea></form>"""
    analysis = analyze_page(html, "https://x.example/")

    assert chosen(analysis).action == "https://x.example/b"


def test_wordpress_comment_form_is_not_a_contact_form() -> None:
    html = """<form action="https://blog.example/wp-comments-post.php" method="post"
        id="commentform" class="comment-form"><textarea name="comment"></textarea>
        <input name="author"><input name="email" type="email"><input name="url">
        <input type="hidden" name="comment_post_ID" value="12"></form>"""
    analysis = analyze_page(html, "https://blog.example/a-post/")

    assert analysis.forms[0].purpose == "comment"
    assert analysis.chosen is None


def test_signup_form_is_not_a_login_form() -> None:
    html = """<form action=/register method=post><input type=email name=email>
      <input type=password name=p1><input type=password name=p2></form>"""
    assert parse_forms(html, "https://x.example/")[0].purpose == "signup"


# Labels, defaults and association -------------------------------------------------------------


def test_german_labels_and_required_markers() -> None:
    form = chosen(analyze("german_contact.html", "https://mueller-soehne.example/kontakt/"))

    assert field(form, "vorname").required
    assert field(form, "vorname").label == "Vorname"
    assert field(form, "mail").label == "E-Mail-Adresse"
    assert field(form, "vorname").group_label == "Ihre Kontaktdaten"
    assert field(form, "datenschutz").required
    assert not field(form, "newsletter").required


def test_select_defaults_follow_the_browser() -> None:
    form = chosen(analyze("select_topic.html"))

    country = field(form, "country")
    assert country.selected == ()  # the disabled placeholder is selected but never sent
    assert ("DE", "Germany") in country.options
    assert field(form, "topic").selected == ("",)
    assert field(form, "company_size").selected == ("1-10",)


def test_inputs_outside_the_form_join_it_through_the_form_attribute() -> None:
    html = """<form id=contact method=post action=/send><input name=name></form>
      <textarea name=message form=contact></textarea>
      <input type=email name=email form=contact><input name=stray>"""
    form = parse_forms(html, "https://x.example/")[0]

    assert [f.name for f in form.fields] == ["name", "message", "email"]
    assert form.purpose == "contact"


def test_form_closed_early_by_table_markup_keeps_its_fields() -> None:
    html = """<table><tr><td><form action="/mail.cgi" method="post"><b>Name</b></td>
      <td><input name="realname"></td></tr><tr><td>E-mail</td><td><input name="email"></td></tr>
      <tr><td>Message</td><td><textarea name="comments"></textarea></td></tr>
      <tr><td><input type=submit value=Send></td></tr></table></form>
      <form action=/other><input name=q></form>"""
    forms = parse_forms(html, "https://x.example/")

    assert [f.name for f in forms[0].fields] == ["realname", "email", "comments", ""]
    assert forms[0].purpose == "contact"
    assert [f.name for f in forms[1].fields] == ["q"]


def test_nested_forms_are_merged_into_the_outer_form_like_browsers_do() -> None:
    html = "<form action=/a><input name=a><form action=/b><input name=b></form><input name=c>"
    forms = parse_forms(html, "https://x.example/")

    assert len(forms) == 1
    assert [f.name for f in forms[0].fields] == ["a", "b", "c"]


def test_action_resolves_against_base_href_and_defaults_to_the_page() -> None:
    html = '<base href="https://cdn.x.example/en/"><form action="send"></form><form></form>'
    forms = parse_forms(html, "https://x.example/contact?lang=en#top")

    assert forms[0].action == "https://cdn.x.example/en/send"
    assert forms[1].action == "https://x.example/contact?lang=en"
    assert forms[1].method == "GET"


def test_labels_from_aria_placeholder_and_wrappers() -> None:
    html = """<form method=post>
      <span id=l1>Your company</span><input name=c1 aria-labelledby=l1>
      <input name=c2 aria-label="Phone number">
      <div class="field"><span class="field-label">Website</span><div><input name=c3></div></div>
      <p>Subject: <input name=c4></p></form>"""
    form = parse_forms(html, "https://x.example/")[0]

    assert [f.label for f in form.fields] == ["Your company", "Phone number", "Website", "Subject"]


def test_disabled_fieldset_and_unnamed_controls() -> None:
    html = """<form method=post><fieldset disabled><input name=a></fieldset>
      <input name=b disabled><input value=unnamed></form>"""
    form = parse_forms(html, "https://x.example/")[0]

    assert field(form, "a").disabled and field(form, "b").disabled
    assert form.fields[-1].name == ""


@pytest.mark.parametrize(
    "html",
    [
        "",
        "<form",
        "<form><input name=a",
        "<<<>>><form action='\x00'><select name=s><option>a<option selected>b</form>",
        "<form><textarea name=t>unclosed <input name=x></form>",
        "<form action='http://[::1'><input name=a></form>",
        "<style>{{}}.a{display:none}}}</style><form><div class=a><input name=z></div></form>",
        "\ufeff<html><body><form method=dialog><input name=a></form></body></html>",
    ],
)
def test_malformed_markup_never_raises(html: str) -> None:
    analysis = analyze_page(html, "https://x.example/")

    assert isinstance(analysis.why, str)


def test_mailto_action_is_unsupported() -> None:
    html = """<form action="mailto:info@x.example" method=post enctype=text/plain>
      <input name=name><input type=email name=email><textarea name=message></textarea></form>"""
    form = chosen(analyze_page(html, "https://x.example/contact"))

    assert blocker_kinds(form) == {"unsupported"}
    assert form.enctype == "text/plain"


def test_squarespace_form_block_is_a_js_only_embed() -> None:
    html = """<div class="sqs-block form-block sqs-block-form" data-block-type="9">
      <div class="sqs-block-content"><div class="form-wrapper"></div></div></div>"""
    analysis = analyze_page(html, "https://x.example/contact")

    assert [b.kind for b in analysis.page_blockers] == ["js_only"]
    assert "Squarespace" in analysis.page_blockers[0].detail
