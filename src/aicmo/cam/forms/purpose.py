"""What a form is for (contact, newsletter, search, login …) and which builder made it.

Pure. The purpose is scored from the fields' roles, the words around the form (attributes,
wrappers, buttons, headings) and its action; the builder (Contact Form 7, HubSpot, Django …)
from class names, field names and the action URL.
"""

from __future__ import annotations

import re

from bs4.element import Tag

from aicmo.cam.forms.markup import attr, classes, has_attr, text_of, words
from aicmo.cam.forms.model import BUTTON_KINDS, CHOICE_KINDS, FormField, Purpose
from aicmo.cam.forms.roles import infer_role

_BUILDER_LABELS = {
    "cf7": "Contact Form 7",
    "wpforms": "WPForms",
    "gravity": "Gravity Forms",
    "elementor": "Elementor Pro form",
    "divi": "Divi contact form",
    "fluent": "Fluent Forms",
    "formidable": "Formidable Forms",
    "ninja": "Ninja Forms",
    "hubspot": "HubSpot form",
    "webflow": "Webflow form",
    "netlify": "Netlify form",
    "formspree": "Formspree form",
    "django": "Django form",
    "rails": "Rails form",
    "laravel": "Laravel form",
    "aspnet": "ASP.NET WebForms form",
    "squarespace": "Squarespace form",
    "wix": "Wix form",
    "mailchimp": "Mailchimp signup form",
    "salesforce": "Salesforce web-to-lead form",
    "zoho": "Zoho Forms form",
    "formsubmit": "FormSubmit form",
}
_CONTACT_BUILDERS = frozenset(
    {"cf7", "wpforms", "gravity", "elementor", "divi", "fluent", "formidable", "ninja",
     "netlify", "formspree", "webflow", "hubspot", "salesforce", "zoho", "formsubmit"}
)  # fmt: skip
CSRF_NAMES = {
    "csrfmiddlewaretoken": "django",
    "authenticity_token": "rails",
    "_token": "laravel",
    "__viewstate": "aspnet",
}


def form_builder(
    form: Tag, ancestors: list[Tag], names: set[str], action: str, platform: str
) -> str:
    own = set(classes(form))
    around = {c for parent in ancestors[:4] for c in classes(parent)} | own
    low_names = {n.lower() for n in names}
    checks: tuple[tuple[bool, str], ...] = (
        ("wpcf7-form" in own or "_wpcf7" in low_names, "cf7"),
        ("wpforms-form" in own or "wpforms[id]" in low_names, "wpforms"),
        (
            any(n.startswith("gform_") for n in low_names)
            or any(n.startswith("is_submit_") for n in low_names)
            or "gform_wrapper" in around,
            "gravity",
        ),
        ("elementor-form" in own, "elementor"),
        (any(c.startswith("et_pb_contact") for c in around), "divi"),
        ("frm-fluent-form" in own or any("fluentform" in n for n in low_names), "fluent"),
        ("frm-show-form" in own or "frm_action" in low_names, "formidable"),
        ("hs-form" in own or any(c.startswith("hbspt") for c in around), "hubspot"),
        (
            has_attr(form, "data-netlify")
            or has_attr(form, "netlify")
            or has_attr(form, "netlify-honeypot")
            or has_attr(form, "data-netlify-honeypot"),
            "netlify",
        ),
        ("formspree.io" in action, "formspree"),
        ("formsubmit.co/" in action, "formsubmit"),
        ("zohopublic." in action or "/htmlrecords/submit" in action, "zoho"),
        ("list-manage.com" in action or "mc4wp-form" in own, "mailchimp"),
        ("webto.salesforce.com" in action, "salesforce"),
        ("w-form" in around or has_attr(form, "data-wf-page-id"), "webflow"),
        (
            any(c.startswith("sqs-block") for c in around) or platform == "squarespace",
            "squarespace",
        ),
        (platform == "wix", "wix"),
    )
    for matched, builder in checks:
        if matched:
            return builder
    for name, builder in CSRF_NAMES.items():
        if name in low_names:
            return builder
    return "generic"


_SEARCH_NAMES = frozenset(
    {"q", "s", "query", "search", "keyword", "keywords", "term", "searchterm", "search_query",
     "k", "search-query", "searchword", "suche", "recherche", "buscar"}
)  # fmt: skip
_SEARCH_WORD_RE = re.compile(
    r"\bsearch\w*|\bsuche\w*|\brecherche\w*|\bbuscar\b|\bcerca\b|\bzoeken\b"
)
_NEWSLETTER_CONTEXT_RE = re.compile(
    r"\bnewsletters?\b|\bsubscribe\b|\bsubscription\b|\bsign ?up\b|\bmailing list\b"
    r"|\bjoin (?:our|the) (?:list|community|newsletter)\b|\babonn\w*|\bs inscrire\b"
    r"|\binscri\w*|\bsuscrib\w*|\biscriv\w*|\bnieuwsbrief\b|\binschrijven\b|\baanmelden\b"
    r"|\bassinar\b|\binscreva\w*|\bboletin\b|\binfolettre\b|\blettre d information\b"
    r"|\bmc4wp\b|\bmailchimp\b|\bklaviyo\b|\bnewsletter\w*"
)
_MAILING_HOSTS = (
    "list-manage.com", "mailchimp", "klaviyo", "sibforms.com", "sendinblue", "brevo",
    "mailerlite", "convertkit", "kit.com", "substack.com", "createsend", "aweber",
    "getresponse", "campaign-archive", "mailpoet", "newsletter",
)  # fmt: skip
_CONTACT_WORD_RE = re.compile(
    r"\bcontact\w*|\bkontakt\w*|\bcontatt\w*|\bcontato\b|\bget in touch\b|\breach us\b"
    r"|\bwrite to us\b|\bschreiben sie uns\b|\bmessage\b|\bnachricht\b|\bmensaje\b"
    r"|\bmessaggio\b|\bmensagem\b|\bbericht\b|\benquir\w*|\binquir\w*|\banfrage\w*"
    r"|\bquote\b|\bangebot\b|\bdevis\b|\bpresupuesto\b|\bpreventivo\b|\bofferte\b"
    r"|\borcamento\b|\bcall ?back\b|\bruckruf\w*|\bbook(?:ing)? (?:a |an )?(?:call|meeting|demo"
    r"|consultation|appointment)\b|\bappointment\b|\bconsultation\b|\bschedule a\b|\btermin\w*"
    r"|\brendez vous\b|\brappel\b|\bcita\b|\bllamada\b|\brichiam\w*|\bappuntamento\b"
    r"|\bterugbel\w*|\bafspraak\b|\bagendar\b|\bligamos\b|\bsend\b|\bsenden\b|\babsenden\b|\benvoyer\b"
    r"|\benviar\b|\binvia\w*|\bverstuur\w*|\bverzenden\b"
)
_SIGNUP_RE = re.compile(
    r"\bregist\w*|\bsign ?up\b|\bcreate (?:an |your )?account\b|\bkonto erstellen\b"
    r"|\bcreer un compte\b|\bcrear cuenta\b|\bcrea(?:re)? account\b|\baccount aanmaken\b"
    r"|\bconfirm password\b|\brepeat password\b"
)


def _context_text(form: Tag, ancestors: list[Tag], fields: list[FormField]) -> str:
    """Words around a form that say what it is for: attributes, wrappers, buttons, headings."""
    parts = [attr(form, a) for a in ("id", "class", "name", "action", "aria-label", "data-name")]
    for parent in ancestors[:4]:
        parts += [parent.name or "", attr(parent, "id"), attr(parent, "class")]
    parts += [f.value for f in fields if f.kind in ("submit", "image", "button") and f.value]
    for button in form.find_all("button"):
        parts.append(text_of(button))
    for f in fields:
        if f.visible:
            parts += [f.placeholder, f.label]
    parts.append(text_of(form)[:400])
    node: Tag = form
    for _ in range(3):
        for sibling in list(node.previous_siblings)[:3]:
            if isinstance(sibling, Tag):
                heading = (
                    sibling
                    if sibling.name in ("h1", "h2", "h3", "h4", "h5", "h6")
                    else sibling.find(("h1", "h2", "h3", "h4", "h5", "h6"))
                )
                if isinstance(heading, Tag):
                    parts.append(text_of(heading)[:120])
        up = node.parent
        if up is None or up.name in ("body", "html", "[document]"):
            break
        node = up
    return words(" ".join(parts))


def classify_purpose(
    form: Tag, ancestors: list[Tag], fields: list[FormField], builder: str, action: str
) -> tuple[Purpose, int, list[str]]:
    visible = [f for f in fields if f.visible and f.kind not in BUTTON_KINDS]
    roles = {infer_role(f) for f in visible}
    textareas = [f for f in visible if f.kind == "textarea"]
    typed = [f for f in visible if f.kind not in CHOICE_KINDS]
    passwords = [f for f in visible if f.kind == "password"]
    has_email = "email" in roles
    has_phone = "phone" in roles
    has_name = bool(roles & {"full_name", "first_name", "last_name"})
    context = _context_text(form, ancestors, fields)
    attrs_text = words(" ".join([attr(form, "id"), attr(form, "class"), attr(form, "action")]))
    action_low = action.lower()
    reasons: list[str] = []
    role_search = attr(form, "role") == "search" or any(
        attr(p, "role") == "search" or p.name == "search" for p in ancestors[:3]
    )
    search_input = any(f.kind == "search" for f in visible) or (
        len(typed) == 1 and typed[0].name.lower() in _SEARCH_NAMES
    )
    search_action = bool(re.search(r"/search\b|[?&]s=", action_low)) or bool(
        _SEARCH_WORD_RE.search(attrs_text)
    )
    comment = (
        "wp-comments-post" in action_low
        or attr(form, "id") == "commentform"
        or "comment-form" in classes(form)
        or any(f.name == "comment_post_ID" for f in fields)
    )
    checkout = bool(
        re.search(r"\b(?:add to cart|woocommerce cart|checkout|cart)\b", attrs_text)
    ) or any(f.name in ("add-to-cart", "quantity") or f.name.startswith("billing_") for f in fields)
    mailing_action = next((h for h in _MAILING_HOSTS if h in action_low), "")
    newsletter_word = _NEWSLETTER_CONTEXT_RE.search(context)
    contact_word = _CONTACT_WORD_RE.search(context)

    score = 0
    for present, points, why in (
        (bool(textareas), 35, "message textarea"),
        (has_email, 20, "email field"),
        (has_name, 10, "name field"),
        (has_phone, 5, "phone field"),
        ("subject" in roles, 5, "subject field"),
    ):
        if present:
            score += points
            reasons.append(why)
    if contact_word:
        score += 15
        reasons.append(f"contact wording '{contact_word.group()}'")
    if builder in _CONTACT_BUILDERS:
        score += 10
        reasons.append(f"{_BUILDER_LABELS[builder]} markup")
    if len(visible) > 15:
        score -= 10
    if any(f.kind == "file" for f in visible):
        score -= 5

    purpose: Purpose
    if (role_search or search_input or search_action) and not textareas:
        purpose, score = "search", min(score, 5)
        what = "role=search" if role_search else "search input" if search_input else "search action"
        reasons = [what]
    elif passwords and not textareas:
        signup = len(passwords) > 1 or bool(_SIGNUP_RE.search(context))
        purpose, score = ("signup" if signup else "login"), min(score, 5)
        reasons = ["password field" + ("s" if len(passwords) > 1 else "")]
        if signup:
            reasons.append("registration wording")
    elif comment:
        purpose, score = "comment", min(score, 10)
        reasons = ["WordPress comment form (wp-comments-post)"]
    elif checkout and not textareas:
        purpose, score = "checkout", min(score, 5)
        reasons = ["shop cart/checkout form"]
    elif (
        not textareas
        and (has_email or any(f.kind == "email" for f in visible))
        and len(typed) <= 3
        and (newsletter_word or mailing_action or builder == "mailchimp")
    ):
        purpose, score = "newsletter", min(score, 10)
        count = "one email field" if len(typed) == 1 else f"{len(typed)} fields incl. email"
        reasons = [count]
        if newsletter_word:
            reasons.append(f"'{newsletter_word.group()}'")
        if mailing_action:
            reasons.append(f"mailing-list action ({mailing_action})")
    elif (textareas and (has_email or has_phone or has_name or contact_word)) or (
        (has_email or has_phone)
        and len(typed) >= 2
        and (contact_word or builder in _CONTACT_BUILDERS)
    ):
        purpose = "contact"
    else:
        purpose = "unknown"
        if not visible:
            reasons = ["no visible fields"]
    return purpose, max(0, min(100, score)), reasons
