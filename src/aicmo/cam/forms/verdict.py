"""Decide from the server's answer whether a contact-form submission went through.

Pure: no network, no database, no clock. Input is what the submitter got back after following
redirects: status, final URL, headers and body.

The rule is to never claim success without a signal. Structured answers come first (the
Contact Form 7 REST JSON, WordPress ``admin-ajax`` JSON of WPForms and Elementor, the
confirmation blocks of Gravity Forms, WPForms, Contact Form 7 and Webflow), then validation
errors echoed by the framework (Django ``errorlist``, Rails, ASP.NET, Bootstrap), then a
thank-you redirect, then wording. Wording is matched in visible text only (scripts, hidden
templates and our own echoed values are ignored) and, on a page that contains both success and
error wording, nothing is concluded.

HTTP 429 and 5xx answers are ``unknown`` with ``retryable=True``: the message may or may not
have been recorded, so the caller decides (usually: an operator looks before any retry, since a
duplicate submission annoys the lead more than a late one).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import parse_qsl, urldefrag, urlsplit

from bs4 import BeautifulSoup
from bs4.element import Tag

from aicmo.cam.forms.analysis import parse_forms_in
from aicmo.cam.forms.markup import (
    SNIPPET_MAX,
    PageStyles,
    attr,
    classes,
    dedupe_messages,
    fold,
    has_attr,
    iter_text,
    parse_html,
    snippet_of,
    squash,
    text_of,
    words,
)
from aicmo.cam.forms.model import BUTTON_KINDS, TEXT_KINDS, Outcome, ParsedForm, Verdict
from aicmo.cam.forms.verdict_json import judge_json


def _header(headers: Mapping[str, str], name: str) -> str:
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), "")


# Bot challenges and HTTP status -------------------------------------------------------------

_CHALLENGE_MARKERS: tuple[tuple[str, str, bool], ...] = (
    # (needle in the lowercased body, name, conclusive even with HTTP 200)
    ("cf_chl_opt", "Cloudflare challenge", True),
    ("<title>just a moment...</title>", "Cloudflare challenge", True),
    ("attention required! | cloudflare", "Cloudflare block page", True),
    ("cf-browser-verification", "Cloudflare browser check", True),
    ("checking your browser before accessing", "browser check", True),
    ("captcha-delivery.com", "DataDome challenge", True),
    ("px-captcha", "PerimeterX challenge", True),
    ("incapsula incident id", "Imperva/Incapsula block", True),
    ("_incapsula_resource", "Imperva/Incapsula challenge", True),
    ("sucuri website firewall", "Sucuri firewall block", True),
    ("ddos-guard", "DDoS-Guard challenge", False),
    ("awswaf", "AWS WAF challenge", False),
    ("challenge-platform", "Cloudflare challenge", False),
    ("cf-chl", "Cloudflare challenge", False),
    ("enable javascript and cookies to continue", "browser check", False),
    ("verify you are human", "human verification", False),
    ("are you a robot", "human verification", False),
)


def _challenge(status: int, headers: Mapping[str, str], low_body: str) -> str:
    if _header(headers, "cf-mitigated").lower() == "challenge":
        return "Cloudflare challenge (cf-mitigated)"
    blocked_status = status in (403, 429, 503)
    for needle, name, conclusive in _CHALLENGE_MARKERS:
        if needle in low_body and (conclusive or blocked_status):
            return name
    return ""


# Redirect URLs --------------------------------------------------------------------------------

_SUCCESS_TOKENS = frozenset(
    {"thank", "thanks", "thankyou", "danke", "dankeschon", "dank", "merci", "gracias", "grazie",
     "obrigado", "obrigada", "bedankt", "success", "successful", "sent", "confirmation",
     "confirmed", "gesendet", "versendet", "envoye", "enviado", "inviato", "verzonden",
     "verstuurd", "submitted", "received", "bestatigung", "sucesso", "exito"}
)  # fmt: skip
_FAILURE_TOKENS = frozenset({"error", "errors", "fail", "failed", "failure", "invalid", "fehler"})
_NEGATIVE_VALUES = frozenset({"0", "false", "no", "n", "off"})


def _url_signals(url: str, ignore: frozenset[str]) -> tuple[set[str], set[str]]:
    """``(success tokens, failure tokens)`` a URL carries in its path and short parameters.

    Parameters named like the form's fields are skipped (a GET form echoes what we typed);
    ``?success=0`` is a failure, ``?sent=1``/``?submitted=true`` a success.
    """
    parts = urlsplit(url)
    path = set(words(parts.path).split())
    good, bad = path & _SUCCESS_TOKENS, path & _FAILURE_TOKENS
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in ignore or len(value) > 24:
            continue
        key_words, value_words = set(words(key).split()), set(words(value).split())
        if key_words & _SUCCESS_TOKENS:
            (bad if value_words & _NEGATIVE_VALUES else good).update(key_words & _SUCCESS_TOKENS)
        bad |= (key_words | value_words) & _FAILURE_TOKENS
        good |= value_words & _SUCCESS_TOKENS
    return good, bad


def _judge_url(final_url: str, submitted_url: str, form: ParsedForm) -> Verdict | None:
    final = urldefrag(final_url)[0]
    if not final or final in (urldefrag(submitted_url)[0], form.action):
        return None
    ignore = frozenset(f.name for f in form.fields if f.name)
    good, bad = _url_signals(final, ignore)
    before, _ = _url_signals(form.page_url or submitted_url, ignore)
    good -= before  # a contact page living at /contact-success-stories/ proves nothing
    evidence = f"final URL {final}"[:SNIPPET_MAX]
    if good and not bad:
        return Verdict("success", "redirected to a thank-you URL", (), evidence, "redirect")
    if bad and not good:
        return Verdict("failure", "redirected to an error URL", (), evidence, "redirect")
    return None


# HTML answers ---------------------------------------------------------------------------------


class _Html:
    """The answer page: tree, styles and a visibility test that knows builder conventions."""

    def __init__(self, body: str) -> None:
        self.soup: BeautifulSoup = parse_html(body)
        self.styles = PageStyles(self.soup)
        self.tags: list[Tag] = list(self.soup.find_all(True))

    def hidden(self, tag: Tag) -> bool:
        names = classes(tag)
        if "w-form-done" in names or "w-form-fail" in names:
            # Webflow hides both blocks in its stylesheet; its script shows one inline.
            return "display:block" not in attr(tag, "style").replace(" ", "").lower()
        if "invalid-feedback" in names or "valid-feedback" in names:
            # Bootstrap shows these only next to an .is-invalid control (or with d-block).
            parent = tag.parent
            shown = "d-block" in names or (
                isinstance(parent, Tag) and parent.find(class_="is-invalid") is not None
            )
            return not shown
        return bool(self.styles.hidden_by(tag))

    def visible_text(self, root: Tag) -> str:
        skip = frozenset({"script", "style", "template", "noscript", "svg", "head", "title",
                          "textarea", "select", "option", "datalist"})  # fmt: skip
        return squash("".join(iter_text(root, skip, self.hidden)))

    def is_shown(self, tag: Tag) -> bool:
        if self.hidden(tag):
            return False
        return not any(isinstance(p, Tag) and p.name != "[document]" and self.hidden(p)
                       for p in tag.parents)  # fmt: skip

    def find_shown(self, predicate: Callable[[Tag], bool]) -> list[Tag]:
        return [t for t in self.tags if predicate(t) and self.is_shown(t)]


def _has_class(*names: str) -> Callable[[Tag], bool]:
    wanted = frozenset(names)
    return lambda tag: bool(wanted & set(classes(tag)))


def _field_name_of(tag: Tag) -> str:
    for parent in tag.parents:
        name = attr(parent, "data-name")
        if name:
            return name
    return ""


def _judge_cf7_html(page: _Html) -> Verdict | None:
    for form in page.soup.find_all("form"):
        names = classes(form)
        if "wpcf7-form" not in names:
            continue
        status = attr(form, "data-status").lower() or next(
            (
                n
                for n in names
                if n in ("sent", "invalid", "failed", "spam", "aborted", "unaccepted")
            ),
            "",
        )
        output = form.find(class_="wpcf7-response-output")
        output_text = text_of(output) if isinstance(output, Tag) else ""
        if status == "sent":
            return Verdict(
                "success", "Contact Form 7: sent", (), snippet_of(output_text), "cf7_html"
            )
        if status in ("invalid", "failed", "spam", "aborted", "unaccepted", "mail_failed"):
            tips = [
                f"{_field_name_of(tip)}: {text_of(tip)}" if _field_name_of(tip) else text_of(tip)
                for tip in form.find_all(class_="wpcf7-not-valid-tip")
            ]
            found = dedupe_messages(tips or [output_text])
            return Verdict(
                "failure", f"Contact Form 7: {status}", found, snippet_of(output_text), "cf7_html"
            )
    return None


def _judge_gravity_html(page: _Html) -> Verdict | None:
    confirmation = page.find_shown(
        lambda t: (
            "gform_confirmation_message" in classes(t)
            or attr(t, "id").startswith("gform_confirmation_message")
        )
    )
    if confirmation:
        text = page.visible_text(confirmation[0])
        return Verdict(
            "success", "Gravity Forms confirmation", (), snippet_of(text), "gravity_html"
        )
    errors = page.find_shown(
        _has_class("gform_validation_errors", "validation_error", "gform_submission_error")
    )
    fields = page.find_shown(_has_class("gfield_error"))
    if not errors and not fields:
        return None
    messages: list[str] = [page.visible_text(e) for e in errors[:1]]
    for f in fields:
        label = f.find(class_="gfield_label")
        message = f.find(class_=("gfield_validation_message", "validation_message"))
        if isinstance(message, Tag):
            prefix = (
                f"{text_of(label).replace('*', '').strip()}: " if isinstance(label, Tag) else ""
            )
            messages.append(prefix + page.visible_text(message))
    found = dedupe_messages(messages)
    return Verdict(
        "failure",
        "Gravity Forms validation errors",
        found,
        snippet_of(" ".join(found)),
        "gravity_html",
    )


def _judge_wpforms_html(page: _Html) -> Verdict | None:
    confirmation = page.find_shown(
        _has_class("wpforms-confirmation-container-full", "wpforms-confirmation-container")
    )
    if confirmation:
        text = page.visible_text(confirmation[0])
        return Verdict("success", "WPForms confirmation", (), snippet_of(text), "wpforms_html")
    errors = page.find_shown(
        _has_class("wpforms-error", "wpforms-error-container", "wpforms-error-alert")
    )
    texts = [page.visible_text(e) for e in errors]
    found = dedupe_messages(texts)
    if found:
        snippet = snippet_of(" ".join(found))
        return Verdict("failure", "WPForms validation errors", found, snippet, "wpforms_html")
    return None


def _judge_webflow_html(page: _Html) -> Verdict | None:
    for tag in page.soup.find_all(class_=("w-form-done", "w-form-fail")):
        if page.hidden(tag):
            continue
        text = page.visible_text(tag)
        if "w-form-done" in classes(tag):
            return Verdict(
                "success", "Webflow success block shown", (), snippet_of(text), "webflow"
            )
        return Verdict(
            "failure", "Webflow failure block shown", dedupe_messages([text]), snippet_of(text)
        )
    return None


def _judge_divi_html(page: _Html) -> Verdict | None:
    for box in page.find_shown(_has_class("et-pb-contact-message")):
        text = page.visible_text(box)
        if not text:
            continue
        if box.find(class_="et_pb_contact_error_text") is not None:
            items = [text_of(li) for li in box.find_all("li")]
            return Verdict(
                "failure", "Divi form errors", dedupe_messages(items or [text]), snippet_of(text)
            )
        return Verdict("success", "Divi form message", (), snippet_of(text), "divi")
    return None


#: Containers only rendered when the server found errors (never present on a fresh form).
_STRONG_ERROR_CLASSES = frozenset(
    {
        "errorlist", "field-validation-error", "validation-summary-errors", "parsley-errors-list",
        "nf-error-msg", "frm_error", "frm_error_style", "field_with_errors", "has-error",
        "is-invalid", "form-field-error", "fieldwitherrors", "error_explanation",
    }
)  # fmt: skip
_WEAK_ERROR_CLASSES = frozenset(
    {
        "error", "errors", "alert-danger", "alert-error", "form-error", "field-error",
        "error-message", "errormessage", "message-error", "notice-error", "msg-error",
        "text-danger", "error-text", "help-inline", "input-error", "form-errors",
    }
)  # fmt: skip


def _strong_errors(page: _Html) -> list[str]:
    messages: list[str] = []
    for tag in page.find_shown(lambda t: bool(_STRONG_ERROR_CLASSES & set(classes(t)))):
        if tag.name in ("input", "select", "textarea"):
            continue
        names = set(classes(tag))
        if names & {"field_with_errors", "has-error", "is-invalid"}:
            help_block = tag.find(class_=("help-block", "invalid-feedback", "error"))
            if isinstance(help_block, Tag):
                messages.append(page.visible_text(help_block))
            continue
        items = tag.find_all("li")
        messages += [page.visible_text(li) for li in items] or [page.visible_text(tag)]
    explanation = page.soup.find(id="error_explanation")
    if isinstance(explanation, Tag) and page.is_shown(explanation):
        messages += [page.visible_text(li) for li in explanation.find_all("li")]
    for feedback in page.find_shown(_has_class("invalid-feedback")):
        messages.append(page.visible_text(feedback))
    for control in page.soup.find_all(("input", "select", "textarea")):
        if attr(control, "aria-invalid").lower() != "true" or not page.is_shown(control):
            continue
        for ref in (
            attr(control, "aria-describedby") + " " + attr(control, "aria-errormessage")
        ).split():
            target = page.soup.find(id=ref)
            if isinstance(target, Tag) and page.is_shown(target):
                messages.append(page.visible_text(target))
                break
        else:
            messages.append(f"{attr(control, 'name') or attr(control, 'id')}: marked invalid")
    return list(dedupe_messages(messages))


def _weak_errors(page: _Html) -> list[str]:
    tags = page.find_shown(lambda t: bool(_WEAK_ERROR_CLASSES & set(classes(t))))
    texts = [page.visible_text(t) for t in tags if t.name not in ("input", "select", "textarea")]
    return [t for t in dedupe_messages(texts) if len(t) <= 300]


_STRONG_SUCCESS_RE = re.compile(
    r"thank(?:s| you) (?:so much )?for (?:contacting|your (?:message|enquiry|inquiry|request|"
    r"submission|email|interest and message)|reaching out|getting in touch|submitting|writing)"
    r"|(?:message|enquiry|inquiry|request|submission|form) (?:has been|was|is) "
    r"(?:successfully )?(?:sent|received|submitted|delivered)"
    r"|successfully (?:sent|submitted|received)|we (?:have )?received your (?:message|enquiry|"
    r"inquiry|request)|submission (?:has been |was )?received|message sent"
    r"|vielen dank fur ihre (?:nachricht|anfrage|mitteilung|e ?mail)"
    r"|danke fur ihre (?:nachricht|anfrage)"
    r"|(?:nachricht|anfrage) (?:wurde|ist) (?:erfolgreich )?(?:gesendet|versendet|ubermittelt|"
    r"verschickt|abgeschickt|eingegangen)|erfolgreich (?:gesendet|versendet|ubermittelt)"
    r"|merci pour votre (?:message|demande)|merci de nous avoir contacte"
    r"|votre (?:message|demande) a (?:bien )?ete (?:envoye|transmis|recu)|message envoye"
    r"|gracias por (?:su|tu) (?:mensaje|consulta)|gracias por (?:contactar|ponerte|ponerse)"
    r"|(?:su|tu) mensaje (?:ha sido|fue|se ha) (?:enviado|recibido)|mensaje enviado"
    r"|grazie per (?:averci contattato|il (?:tuo )?messaggio)|messaggio (?:e stato )?inviato"
    r"|obrigad[oa] (?:pelo|por) (?:seu |sua |o )?(?:contato|contacto|mensagem)"
    r"|mensagem (?:foi )?enviada|bedankt voor (?:je|uw) (?:bericht|aanvraag)"
    r"|(?:je|uw) bericht is (?:verzonden|verstuurd|ontvangen)|dank u voor uw bericht"
)
_WEAK_SUCCESS_RE = re.compile(
    r"\bthank you\b|\bthanks\b|we(?: ll| will) (?:get back|be in touch|respond|reply|contact you)"
    r"|\bwir melden uns\b|\bvielen dank\b|\bdanke\b|\bmerci\b|nous vous repondrons"
    r"|nous reviendrons vers vous|\bgracias\b|nos pondremos en contacto|\bgrazie\b"
    r"|ti risponderemo|\bobrigad[oa]\b|entraremos em contato|\bbedankt\b|we nemen contact"
)
_STRONG_FAILURE_RE = re.compile(
    r"there was (?:an error|a problem)|an error (?:has )?occurred|could not be sent"
    r"|(?:failed|unable) to send|could not send|this field is required|field is required"
    r"|please enter a valid|please fill (?:in|out)|konnte nicht (?:gesendet|versendet|ubermittelt)"
    r"|fehler beim (?:senden|versenden)|ein fehler ist aufgetreten|ist ein pflichtfeld"
    r"|bitte (?:geben sie eine gultige|fullen sie)|une erreur (?:s est produite|est survenue)"
    r"|n a pas pu etre envoye|ce champ est (?:obligatoire|requis)|veuillez (?:remplir|saisir)"
    r"|se ha producido un error|ha ocurrido un error|no se (?:ha )?pudo enviar"
    r"|este campo es (?:obligatorio|requerido)|si e verificato un errore"
    r"|non e stato possibile inviare|questo campo e obbligatorio|ocorreu um erro"
    r"|nao foi possivel enviar|este campo e obrigatorio|er is een fout opgetreden"
    r"|kon niet worden verzonden|dit veld is verplicht|captcha (?:verification )?failed"
    r"|please (?:complete|verify) the captcha"
)
_SUCCESS_CLASSES = frozenset(
    {
        "alert-success", "success-message", "message-success", "form-success", "notice-success",
        "msg-success", "success", "successbox", "success-box", "form-submitted", "thank-you",
        "thankyou", "contact-success", "contact-form-submission",
    }
)  # fmt: skip


#: Classes that say "success message" on their own (a bare ``success`` may be a green tick).
_SUCCESS_BOX_CLASSES = _SUCCESS_CLASSES - {"success"}


def _without(text: str, sent: Sequence[tuple[str, str]]) -> str:
    """``text`` minus the values we submitted (an echoed message must not judge itself)."""
    for _, value in sent:
        flat = squash(value)
        if len(flat) >= 12:
            text = text.replace(flat, " ")
    return text


def _notices(page: _Html) -> list[Tag]:
    return page.find_shown(
        lambda t: (
            attr(t, "role").lower() in ("alert", "status")
            or (has_attr(t, "aria-live") and t.name not in ("button", "input"))
            or bool(_SUCCESS_CLASSES & set(classes(t)))
        )
    )


def _judge_notices(page: _Html, sent: Sequence[tuple[str, str]]) -> Verdict | None:
    for notice in _notices(page):
        text = _without(page.visible_text(notice), sent)
        folded = fold(text)
        if not text.strip():
            continue
        failure = _STRONG_FAILURE_RE.search(folded)
        success = _STRONG_SUCCESS_RE.search(folded) or _WEAK_SUCCESS_RE.search(folded)
        if success and not failure:
            return Verdict("success", "success notice", (), snippet_of(text), "notice")
        if failure and not success:
            return Verdict(
                "failure", "error notice", dedupe_messages([text]), snippet_of(text), "notice"
            )
        if not failure and bool(_SUCCESS_BOX_CLASSES & set(classes(notice))):
            return Verdict("success", "success notice", (), snippet_of(text), "notice")
    return None


def _main_text(page: _Html, sent: Sequence[tuple[str, str]]) -> str:
    root = page.soup.find("main") or page.soup.find(None, {"role": "main"})
    if isinstance(root, Tag):
        return _without(page.visible_text(root), sent)
    body = page.soup.find("body")
    base = body if isinstance(body, Tag) else page.soup
    skip = frozenset({"script", "style", "template", "noscript", "svg", "head", "title",
                      "textarea", "select", "option", "datalist", "header", "nav", "footer",
                      "aside"})  # fmt: skip
    return _without(squash("".join(iter_text(base, skip, page.hidden))), sent)


def _errors_verdict(reason: str, errors: Sequence[str]) -> Verdict:
    """A failure the page shows by its error messages."""
    shown = tuple(errors)
    return Verdict("failure", reason, shown, snippet_of(" ".join(shown)), "errors")


def _judge_phrases(text: str) -> Verdict | None:
    folded = fold(text)
    success = _STRONG_SUCCESS_RE.search(folded)
    failure = _STRONG_FAILURE_RE.search(folded)
    if success:
        snippet = snippet_of(text, success.start(), success.end())
        if failure:
            why = "the page has both success and error wording"
            return Verdict("unknown", why, (), snippet, "phrase")
        return Verdict("success", "success wording on the page", (), snippet, "phrase")
    if failure:
        snippet = snippet_of(text, failure.start(), failure.end())
        return Verdict("failure", "error wording on the page", (snippet,), snippet, "phrase")
    return None


_CAPTCHA_WIDGET_RE = re.compile(r"recaptcha|h-captcha|hcaptcha|cf-turnstile|frc-captcha")


def _captcha_wall(page: _Html, form: ParsedForm) -> str:
    """A CAPTCHA widget in the answer to a form that had none: the service wants proof of a
    human before it accepts the message (Formspree's free plan does this, for one)."""
    if form.blockers:
        return ""
    for tag in page.tags:
        found = next((n for n in classes(tag) if _CAPTCHA_WIDGET_RE.search(n)), "")
        if not found and tag.name == "iframe":
            found = "recaptcha" if "recaptcha" in attr(tag, "src").lower() else ""
        if found and page.is_shown(tag):
            return found
    return ""


def _came_back(
    page: _Html, body: str, final_url: str, form: ParsedForm, sent: Sequence[tuple[str, str]]
) -> str:
    """``filled`` when our form is rendered again with our values, ``empty`` without, else ""."""
    wanted = {
        f.name for f in form.fields if f.name and f.kind != "hidden" and f.kind not in BUTTON_KINDS
    }
    if not wanted:
        return ""
    ours = {squash(v) for _, v in sent if squash(v)}
    for candidate in parse_forms_in(page.soup, body, final_url or form.action):
        names = {f.name for f in candidate.fields if f.name}
        if len(wanted & names) < max(1, 0.6 * len(wanted)):
            continue
        for f in candidate.fields:
            if f.name not in wanted or not f.visible or f.kind not in TEXT_KINDS:
                continue
            value = squash(f.value)
            if value and (not ours or value in ours):
                return "filled"
        return "empty"
    return ""


def judge_response(
    status_code: int,
    final_url: str,
    headers: Mapping[str, str],
    body: str,
    *,
    form: ParsedForm,
    submitted_url: str,
    sent: Sequence[tuple[str, str]] = (),
) -> Verdict:
    """Judge the answer to a form submission. ``sent`` is the payload (optional but better:
    our own echoed values are then neither read as wording nor mistaken for the site's)."""
    body = body or ""
    low = body.lower()
    decided = judge_json(body, _header(headers, "content-type"))
    if decided is not None and decided.outcome != "unknown":
        return decided
    if body.strip() in ("0", "-1"):
        return Verdict(
            "failure",
            f"WordPress admin-ajax refused the request (answer {body.strip()})",
            (),
            body.strip(),
            "admin_ajax",
        )
    challenge = _challenge(status_code, headers, low)
    if challenge:
        page = _Html(body)
        title = page.soup.find("title")
        snippet = text_of(title) if isinstance(title, Tag) else ""
        return Verdict(
            "failure", f"bot challenge: {challenge}", (), snippet_of(snippet), "challenge"
        )
    if 300 <= status_code < 400:
        location = _header(headers, "location")
        by_url = _judge_url(location, submitted_url, form) if location else None
        if by_url is not None:
            return by_url
        return Verdict("unknown", f"HTTP {status_code} redirect not followed", (), location[:300])
    if status_code == 429 or status_code >= 500:
        what = "rate limited" if status_code == 429 else "server error"
        return Verdict(
            "unknown",
            f"{what} (HTTP {status_code}): the message may or may not have been recorded",
            (),
            snippet_of(text_of(_Html(body).soup)) if body else "",
            "http_status",
            retryable=True,
        )
    if decided is not None:
        return decided
    page = _Html(body)
    if status_code >= 400:
        messages = _strong_errors(page) or _weak_errors(page)
        main = _main_text(page, sent)
        return Verdict(
            "failure",
            f"HTTP {status_code}",
            tuple(messages),
            snippet_of(" ".join(messages) or main),
            "http_status",
        )
    for judge in (
        _judge_cf7_html,
        _judge_gravity_html,
        _judge_wpforms_html,
        _judge_webflow_html,
        _judge_divi_html,
    ):
        verdict = judge(page)
        if verdict is not None:
            return verdict
    strong = _strong_errors(page)
    if strong:
        return _errors_verdict("validation errors echoed", strong)
    by_url = _judge_url(final_url, submitted_url, form)
    if by_url is not None:
        return by_url
    by_notice = _judge_notices(page, sent)
    if by_notice is not None:
        return by_notice
    weak = _weak_errors(page)
    by_phrase = _judge_phrases(_main_text(page, sent))
    if weak and by_phrase is not None and by_phrase.outcome != "failure":
        reason = "the page has both success wording and error messages"
        return Verdict("unknown", reason, tuple(weak), by_phrase.evidence_snippet, "phrase")
    if weak:
        return _errors_verdict("error messages on the page", weak)
    if by_phrase is not None:
        return by_phrase
    captcha = _captcha_wall(page, form)
    if captcha:
        return Verdict(
            "failure", f"the answer is a CAPTCHA challenge ({captcha})", (), "", "challenge"
        )
    back = _came_back(page, body, final_url, form, sent)
    if back == "filled":
        return Verdict(
            "failure",
            "the form came back with our values and no message: the site rejected it",
            (),
            "",
            "form_returned",
        )
    if back == "empty":
        return Verdict(
            "unknown",
            "the form came back empty without a success or error message",
            (),
            "",
            "form_returned",
        )
    main = _main_text(page, sent)
    return Verdict("unknown", "no success or failure signal", (), snippet_of(main), "none")


__all__ = ["Outcome", "Verdict", "judge_response"]
