"""Why a form must not be submitted automatically: CAPTCHAs, script-only forms, embeds.

Pure. Page-level signals (CAPTCHA scripts, third-party form embeds, site platforms) are read
once per page; form-level checks look inside one form. Every blocker turns the step into an
operator task instead of a guess.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from bs4.element import Tag

from aicmo.cam.forms.markup import attr, classes, fold, has_attr, text_of, words
from aicmo.cam.forms.model import TEXT_KINDS, Blocker, BlockerKind, FormField, ParsedForm

_CAPTCHA_CLASS_KINDS: tuple[tuple[str, BlockerKind], ...] = (
    ("h-captcha", "hcaptcha"),
    ("hcaptcha", "hcaptcha"),
    ("cf-turnstile", "turnstile"),
    ("turnstile", "turnstile"),
    ("frc-captcha", "friendly_captcha"),
    ("friendly-captcha", "friendly_captcha"),
    ("recaptcha", "recaptcha"),
    ("captcha", "captcha"),
)
_CAPTCHA_FIELD_NAMES: tuple[tuple[str, BlockerKind], ...] = (
    ("g-recaptcha-response", "recaptcha"),
    ("_wpcf7_recaptcha_response", "recaptcha"),
    ("recaptcha", "recaptcha"),
    ("h-captcha-response", "hcaptcha"),
    ("cf-turnstile-response", "turnstile"),
    ("frc-captcha-solution", "friendly_captcha"),
    ("captcha", "captcha"),
    ("cptch", "captcha"),
    ("securimage", "captcha"),
)
#: An arithmetic question a person answers in their head ("What's 3 + 7?", "3 + 7 =").
#: Small numbers and a question mark or equals sign only: a phone placeholder such as
#: ``123-456-7890`` is digits and dashes, not a question.
_ARITHMETIC_RE = re.compile(
    r"(?:^|[^\w.-])(?P<a>\d{1,3})\s*(?P<op>[+x×*−-]|plus|minus|times|mal|fois|mas|menos|piu|meno"
    r"|mais|per|por)\s*(?P<b>\d{1,3})(?![\w.-])\s*(?:=\s*\??|\?)"
    r"|(?:what s|what is|whats|how much is|wie ?viel ist|combien (?:font|fait)|cuanto es|cuanto son"
    r"|quanto fa|quanto e|hoeveel is)\s+(?P<a2>\d{1,3})\s*(?P<op2>[+x×*−-]|plus|minus|times"
    r"|mal|fois|mas|menos|piu|meno|mais|per|por|und|et|y|e|en)\s*(?P<b2>\d{1,3})(?![\w.-])"
)
#: A question that is not arithmetic but asks for proof of a human (riddles, "type the
#: letters", "solve"): the filler cannot answer it honestly.
_MATH_CHALLENGE_RE = re.compile(r"\bsolve\b|\bsum of\b|\bresult of\b")
_HUMAN_CHECK_RE = re.compile(
    r"\bnot a robot\b|\bi am human\b|\bi m (?:a )?human\b|\bkein roboter\b|\bpas un robot\b"
    r"|\bno soy un robot\b|\bnon sono un robot\b|\bgeen robot\b|\bnao sou um robo\b"
    r"|\bcaptcha\b|\bsecurity (?:code|question|check)\b|\bsicherheits(?:code|frage)\b"
    r"|\bspam ?schutz\b|\banti ?spam\b|\bspam protection\b|\bcode de securite\b"
    r"|\bcodigo de seguridad\b|\bcodice di sicurezza\b|\bbeveiligingscode\b"
)
_CAPTCHA_LABELS = {
    "recaptcha": "reCAPTCHA",
    "hcaptcha": "hCaptcha",
    "turnstile": "Cloudflare Turnstile",
    "friendly_captcha": "Friendly Captcha",
    "captcha": "CAPTCHA",
}


_RECAPTCHA_SCRIPT_RE = re.compile(
    r"(?:google\.com|recaptcha\.net)/recaptcha/(?:api|enterprise)\.js(?P<query>\?[^\"'\s]*)?", re.I
)
_CAPTCHA_SCRIPTS: tuple[tuple[re.Pattern[str], BlockerKind, str], ...] = (
    (re.compile(r"hcaptcha\.com/1/api\.js", re.I), "hcaptcha", "hCaptcha script"),
    (
        re.compile(r"challenges\.cloudflare\.com/turnstile", re.I),
        "turnstile",
        "Cloudflare Turnstile script",
    ),
    (
        re.compile(r"friendly-?challenge|friendlycaptcha", re.I),
        "friendly_captcha",
        "Friendly Captcha script",
    ),
)
#: Hidden values that switch a service's CAPTCHA off (FormSubmit's ``_captcha=false``).
_OFF_VALUES = frozenset({"false", "0", "off", "no", "none", "disabled", "n"})
#: A widget drawn by a script call rather than found in the markup (explicit rendering).
_RENDER_CALL_RE = re.compile(
    r"\b(?P<kind>turnstile|grecaptcha(?:\.enterprise)?|hcaptcha)\.render\s*\("
    r"|\b(?P<friendly>friendlyChallenge)\.WidgetInstance\s*\("
)
_RENDER_KINDS: dict[str, BlockerKind] = {
    "turnstile": "turnstile",
    "grecaptcha": "recaptcha",
    "grecaptcha.enterprise": "recaptcha",
    "hcaptcha": "hcaptcha",
    "friendlychallenge": "friendly_captcha",
}
_WIDGET_CLASSES: tuple[tuple[str, BlockerKind], ...] = (
    ("cf-turnstile", "turnstile"),
    ("g-recaptcha", "recaptcha"),
    ("h-captcha", "hcaptcha"),
    ("frc-captcha", "friendly_captcha"),
)
_V3_INLINE_RE = re.compile(r"grecaptcha(?:\.enterprise)?\.execute\s*\(|\bwpcf7_recaptcha\b")
_EMBED_IFRAMES: tuple[tuple[str, str], ...] = (
    ("docs.google.com/forms", "Google Forms"),
    ("forms.gle/", "Google Forms"),
    ("jotform", "Jotform"),
    ("typeform.com", "Typeform"),
    ("hsforms.com", "HubSpot"),
    ("hsforms.net", "HubSpot"),
    ("forms.office.com", "Microsoft Forms"),
    ("forms.microsoft.com", "Microsoft Forms"),
    ("zohopublic", "Zoho Forms"),
    ("forms.zoho", "Zoho Forms"),
    ("cognitoforms.com", "Cognito Forms"),
    ("wufoo.com", "Wufoo"),
    ("paperform.co", "Paperform"),
    ("tally.so", "Tally"),
    ("airtable.com/embed", "Airtable"),
    ("formstack.com", "Formstack"),
    ("pardot.com", "Pardot"),
    ("123formbuilder", "123FormBuilder"),
    ("surveymonkey", "SurveyMonkey"),
    ("fillout.com", "Fillout"),
    ("formsite.com", "Formsite"),
    ("forms.monday.com", "monday.com forms"),
)
_EMBED_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("js.hsforms.net", "HubSpot form embed (js.hsforms.net)"),
    ("hsforms.net/forms", "HubSpot form embed (hsforms.net)"),
    ("embed.typeform.com", "Typeform embed (embed.typeform.com)"),
    ("jotform.com/jsform", "Jotform script embed"),
    ("ninja-forms", "Ninja Forms (rendered by JavaScript)"),
    ("static.cognitoforms.com", "Cognito Forms embed"),
    ("tally.so/widgets", "Tally embed"),
    ("webforms.pipedrive.com", "Pipedrive web form embed"),
    ("static.elfsight.com", "Elfsight widget"),
    ("paperform.co/__embed", "Paperform embed"),
    ("forms.zohopublic", "Zoho Forms embed"),
)
_EMBED_INLINE: tuple[tuple[str, str], ...] = (
    ("hbspt.forms.create", "HubSpot form embed (hbspt.forms.create)"),
    ("mktoforms2", "Marketo form (MktoForms2.loadForm)"),
    ("nfforms", "Ninja Forms (rendered by JavaScript)"),
)
_TYPEFORM_ATTRS = (
    "data-tf-widget", "data-tf-live", "data-tf-popup", "data-tf-slider", "data-tf-popover",
    "data-tf-sidetab",
)  # fmt: skip


@dataclass(slots=True)
class PageSignals:
    recaptcha_v3: str = ""
    scripts: dict[BlockerKind, str] = field(default_factory=dict)
    embeds: list[Blocker] = field(default_factory=list)
    platform: str = ""  # "wix" or "squarespace": every form is driven by the platform's JS
    ajaxurl: str = ""
    wpcf7_root: str = ""
    #: CAPTCHA widgets outside any ``<form>`` or drawn by a script call: a form a script
    #: builds is there for a person, behind the CAPTCHA.
    scripted_captcha: dict[BlockerKind, str] = field(default_factory=dict)


def _add_embed(signals: PageSignals, kind: BlockerKind, detail: str) -> None:
    """One blocker per vendor: the script tag and the call that uses it are the same embed."""
    vendor = detail.split()[0]
    if all(b.detail.split()[0] != vendor for b in signals.embeds):
        signals.embeds.append(Blocker(kind, detail))


def page_signals(soup: BeautifulSoup, raw: str) -> PageSignals:
    signals = PageSignals()
    low_raw = raw.lower()
    for script in soup.find_all("script"):
        src = attr(script, "src")
        body = script.get_text() if not src else ""
        match = _RECAPTCHA_SCRIPT_RE.search(src)
        if match:
            render = re.search(r"[?&]render=([^&]+)", match.group("query") or "")
            if render and render.group(1).lower() not in ("explicit", "onload"):
                signals.recaptcha_v3 = "reCAPTCHA v3 script (api.js?render=…) on the page"
            else:
                signals.scripts.setdefault("recaptcha", "reCAPTCHA script on the page")
        for pattern, kind, detail in _CAPTCHA_SCRIPTS:
            if pattern.search(src):
                signals.scripts.setdefault(kind, detail + " on the page")
        low_src = src.lower()
        for needle, detail in _EMBED_SCRIPTS:
            if needle in low_src:
                _add_embed(signals, "js_only", detail)
        if body:
            if _V3_INLINE_RE.search(body) and not signals.recaptcha_v3:
                signals.recaptcha_v3 = "reCAPTCHA v3 call (grecaptcha.execute) on the page"
            for call in _RENDER_CALL_RE.finditer(body):
                drawn = _RENDER_KINDS.get((call.group("kind") or call.group("friendly")).lower())
                if drawn is not None:
                    signals.scripted_captcha.setdefault(
                        drawn, f"{_CAPTCHA_LABELS[drawn]} widget drawn by a script call"
                    )
            low_body = body.lower()
            for needle, detail in _EMBED_INLINE:
                if needle in low_body:
                    _add_embed(signals, "js_only", detail)
    for frame in soup.find_all("iframe"):
        src = (attr(frame, "src") or attr(frame, "data-src")).lower()
        for needle, name in _EMBED_IFRAMES:
            if needle in src:
                _add_embed(signals, "iframe_embed", f"{name} form in an iframe ({needle})")
                break
    for tag in soup.find_all(True):
        names = classes(tag)
        ident = attr(tag, "id").lower()
        if "grecaptcha-badge" in names and not signals.recaptcha_v3:
            # The badge element, not a stylesheet rule naming it: themes and page builders
            # (Elementor Pro) ship ``.grecaptcha-badge`` CSS on every page.
            signals.recaptcha_v3 = "reCAPTCHA badge element on the page (invisible reCAPTCHA)"
        widget = next((k for c, k in _WIDGET_CLASSES if c in names), None)
        if widget is not None and not any(p.name == "form" for p in tag.parents):
            signals.scripted_captcha.setdefault(
                widget, f"{_CAPTCHA_LABELS[widget]} widget outside any <form>"
            )
        if any(has_attr(tag, a) for a in _TYPEFORM_ATTRS) or "typeform-widget" in names:
            _add_embed(signals, "js_only", "Typeform embed (data-tf-widget)")
        elif "hs-form-frame" in names or "hbspt-form" in names:
            _add_embed(signals, "js_only", "HubSpot form embed (hs-form-frame)")
        elif "nf-form-cont" in names or ident.startswith("nf-form-"):
            _add_embed(signals, "js_only", "Ninja Forms placeholder (nf-form-cont)")
        elif ident.startswith("mktoform_") and tag.name == "form" and not tag.find("input"):
            _add_embed(signals, "js_only", "Marketo form (mktoForm, built by JavaScript)")
        elif "form-block" in names and any(n.startswith("sqs-block") for n in names):
            _add_embed(signals, "js_only", "Squarespace form block (rendered by JavaScript)")
        elif any(n.startswith("elfsight-app-") for n in names):
            _add_embed(signals, "js_only", "Elfsight widget (rendered by JavaScript)")
        elif tag.name == "meta" and attr(tag, "name").lower() == "generator":
            content = attr(tag, "content").lower()
            if "wix.com" in content:
                signals.platform = "wix"
            elif "squarespace" in content:
                signals.platform = "squarespace"
    if not signals.platform and ("static.parastorage.com" in low_raw or "wixstatic.com" in low_raw):
        signals.platform = "wix"
    if not signals.platform and "static1.squarespace.com" in low_raw:
        signals.platform = "squarespace"
    if signals.platform == "wix" and not any(b.detail.startswith("Wix") for b in signals.embeds):
        _add_embed(signals, "js_only", "Wix site: forms are rendered and sent by Wix's JavaScript")
    ajax = re.search(r"\"ajax_?url\"\s*:\s*\"([^\"]+)\"", raw, re.I)
    if ajax:
        signals.ajaxurl = _json_string(ajax.group(1))
    cf7 = re.search(r"wpcf7\s*=\s*\{.*?\"root\"\s*:\s*\"([^\"]+)\"", raw, re.S)
    if cf7:
        signals.wpcf7_root = _json_string(cf7.group(1))
    return signals


def _json_string(escaped: str) -> str:
    try:
        value = json.loads(f'"{escaped}"')
    except ValueError:
        return escaped.replace("\\/", "/")
    return value if isinstance(value, str) else ""


_ADD_OPS = frozenset({"+", "plus", "mas", "piu", "mais", "und", "et", "y", "e", "en"})
_SUB_OPS = frozenset({"-", "−", "minus", "menos", "meno"})


def arithmetic_answer(text: str) -> str | None:
    """The answer to a simple sum a label asks ("What's 3 + 7?" → "10"), else ``None``.

    A person answers these in their head, so the filler may too; anything else that
    asks for proof of a human (images, riddles, widgets) stays a blocker.
    """
    flat = fold(text).replace("\u2019", " ").replace("'", " ")
    match = _ARITHMETIC_RE.search(flat)
    if match is None:
        return None
    a = int(match.group("a") or match.group("a2"))
    b = int(match.group("b") or match.group("b2"))
    op = match.group("op") or match.group("op2")
    if op in _ADD_OPS:
        return str(a + b)
    if op in _SUB_OPS:
        return str(a - b)
    return str(a * b)


def form_captchas(form: Tag, fields: list[FormField], controls: list[Tag]) -> list[Blocker]:
    found: dict[BlockerKind, str] = {}

    def note(kind: BlockerKind, detail: str) -> None:
        found.setdefault(kind, detail)

    for tag in [form, *form.find_all(True), *controls]:
        names = classes(tag)
        widget = False
        for name in names:
            kind = next((k for needle, k in _CAPTCHA_CLASS_KINDS if needle in name), None)
            if kind is not None:
                widget = True
                label = _CAPTCHA_LABELS[kind]
                note(kind, f"{label} widget in the form (class '{name}')")
        if has_attr(tag, "data-sitekey") and not widget:
            note("recaptcha", "CAPTCHA widget in the form (data-sitekey)")
        if has_attr(tag, "data-netlify-recaptcha"):
            note("recaptcha", "Netlify reCAPTCHA (data-netlify-recaptcha)")
        if "wpcf7-quiz" in names and tag.name == "input":
            question = tag.find_previous(class_="wpcf7-quiz-label")
            asked = text_of(question) if isinstance(question, Tag) else ""
            if arithmetic_answer(asked) is None:
                note("captcha", f"Contact Form 7 quiz question '{asked[:60]}'")
        if tag.name == "iframe":
            src = attr(tag, "src").lower()
            if "recaptcha" in src:
                note("recaptcha", "reCAPTCHA iframe in the form")
            elif "hcaptcha" in src:
                note("hcaptcha", "hCaptcha iframe in the form")
            elif "challenges.cloudflare.com" in src:
                note("turnstile", "Cloudflare Turnstile iframe in the form")
        if tag.name == "img" and "captcha" in attr(tag, "src").lower():
            note("captcha", "CAPTCHA image in the form")
    for f in fields:
        if f.answer:  # a sum a person works out: answered, not a wall
            continue
        ident = f"{f.name} {f.id}".lower()
        switched_off = f.kind == "hidden" and f.value.strip().lower() in _OFF_VALUES
        for needle, kind in _CAPTCHA_FIELD_NAMES:
            if needle in ident and not switched_off:
                note(kind, f"{_CAPTCHA_LABELS[kind]} field '{f.name or f.id}'")
                break
        if not f.visible:
            continue
        text = words(f"{f.label} {f.placeholder} {f.group_label}")
        if f.kind in TEXT_KINDS and _MATH_CHALLENGE_RE.search(text):
            note("captcha", f"math/text challenge '{f.description[:60]}'")
        elif _HUMAN_CHECK_RE.search(text):
            note("captcha", f"human verification field '{f.description[:60]}'")
    return [Blocker(kind, detail) for kind, detail in found.items()]


def js_blockers(
    form: Tag, builder: str, fields: list[FormField], action_attr: str
) -> list[Blocker]:
    blockers: list[Blocker] = []
    scheme = action_attr.strip().lower().partition(":")[0] if ":" in action_attr else ""
    if scheme == "javascript":
        blockers.append(Blocker("js_only", "the form's action is a javascript: URL"))
    elif scheme and scheme not in ("http", "https") and "/" not in scheme:
        blockers.append(
            Blocker("unsupported", f"the form's action is a {scheme}: URL, not a web server")
        )
    if attr(form, "method").strip().lower() == "dialog":
        blockers.append(Blocker("js_only", "method=dialog forms are not submitted to a server"))
    onsubmit = attr(form, "onsubmit").replace(" ", "").lower()
    if "returnfalse" in onsubmit or "preventdefault" in onsubmit:
        blockers.append(Blocker("js_only", "an onsubmit handler cancels the native submission"))
    visible = [f for f in fields if f.visible and f.kind != "hidden"]
    unnamed = [f for f in visible if not f.name]
    if visible and len(unnamed) * 2 >= len(visible):
        blockers.append(
            Blocker("js_only", "its fields have no name attribute: a script submits them")
        )
    detail = {
        "hubspot": "HubSpot form: submitted by HubSpot's JavaScript to its own API",
        "wix": "Wix form: rendered and sent by Wix's JavaScript",
        "squarespace": "Squarespace form: sent by Squarespace's JavaScript",
        "fluent": "Fluent Forms: only submitted through admin-ajax by its JavaScript",
    }.get(builder)
    if builder == "webflow" and not action_attr.strip():
        detail = "Webflow form without an action: Webflow's JavaScript posts it to its own API"
    if detail:
        blockers.append(Blocker("js_only", detail))
    return blockers


def page_captchas(forms: list[ParsedForm], signals: PageSignals) -> dict[int, list[Blocker]]:
    """Page-level CAPTCHA scripts and the forms they guard.

    reCAPTCHA v3 is invisible and guards every form; a v2-style script guards the forms with
    its widget, or every form when no widget is in the markup (the widget is rendered later).
    """
    extra: dict[int, list[Blocker]] = {form.index: [] for form in forms}
    for form in forms:
        if signals.recaptcha_v3:
            extra[form.index].append(Blocker("recaptcha", signals.recaptcha_v3))
    for kind, detail in signals.scripts.items():
        if kind == "recaptcha" and signals.recaptcha_v3:
            continue
        guarded = [f for f in forms if any(b.kind == kind for b in f.blockers)]
        if guarded:
            continue
        for form in forms:
            extra[form.index].append(
                Blocker(kind, f"{detail}; the widget is rendered by JavaScript")
            )
    return extra
