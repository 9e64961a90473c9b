"""Read a page's forms the way a browser would, and pick the one a human would use to write in.

Pure: no network, no database, no clock. Input is the page's HTML text and its URL.

The parser is deliberately forgiving (``html.parser`` never refuses markup) and every rule
here errs on the side of *not* submitting: a CAPTCHA anywhere near the chosen form, a form
rendered by a third-party script, or a field that only a bot could see turns the step into an
operator task instead of a guess. Honeypots are spotted so that the filler leaves them exactly
as a browser would (empty), and hidden inputs are carried verbatim because CSRF tokens and
plugin bookkeeping fields are what make a submission acceptable to the site.

This module parses (the controls a form owns, their labels, the submitter, the action) and
puts the page's analysis together; the jobs it relies on have their own modules:
:mod:`.model` (the data), :mod:`.markup` (text and CSS hiding), :mod:`.roles` (field roles
and honeypots), :mod:`.blockers` (CAPTCHAs and script-only forms) and :mod:`.purpose` (what
a form is for, which builder made it).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import replace
from urllib.parse import urldefrag, urlsplit

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

from aicmo.cam.forms.blockers import (
    arithmetic_answer,
    form_captchas,
    js_blockers,
    page_captchas,
    page_signals,
)
from aicmo.cam.forms.markup import (
    CONTROL_NAMES,
    LABEL_SKIP,
    PageStyles,
    attr,
    base_url_of,
    classes,
    control_groups,
    control_kind,
    fold,
    has_attr,
    parse_html,
    safe_urljoin,
    squash,
    text_of,
    words,
)
from aicmo.cam.forms.model import (
    BUTTON_KINDS,
    CHOICE_KINDS,
    MULTIPART,
    TEXT_PLAIN,
    URLENCODED,
    Blocker,
    FormField,
    Method,
    PageAnalysis,
    ParsedForm,
)
from aicmo.cam.forms.purpose import CSRF_NAMES, classify_purpose, form_builder
from aicmo.cam.forms.roles import trap_reason

# Blocker, PageAnalysis and ParsedForm are re-exported: callers read them here with the
# analysis that returns them (``from aicmo.cam.forms import analysis as A``).
__all__ = [
    "Blocker",
    "FormField",
    "PageAnalysis",
    "ParsedForm",
    "analyze_page",
    "parse_forms",
    "parse_forms_in",
]


class _Page:
    """One parsed page: the tree, id and label indexes, styles and source offsets."""

    def __init__(self, html: str, page_url: str, soup: BeautifulSoup | None = None) -> None:
        self.raw = html
        self.page_url = urldefrag(page_url)[0] if page_url else ""
        self.soup = soup if soup is not None else parse_html(html)
        self.base = base_url_of(self.soup, self.page_url)
        self.styles = PageStyles(self.soup)
        self.signals = page_signals(self.soup, html)
        self.ids: dict[str, Tag] = {}
        self.labels_for: dict[str, list[Tag]] = {}
        for tag in self.soup.find_all(True):
            ident = attr(tag, "id")
            if ident:
                self.ids.setdefault(ident, tag)
            if tag.name == "label" and attr(tag, "for"):
                self.labels_for.setdefault(attr(tag, "for"), []).append(tag)
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", html)]
        self.form_ends = [m.start() for m in re.finditer(r"</form\s*>", html, re.I)]

    def offset(self, tag: Tag) -> int | None:
        line, column = tag.sourceline, tag.sourcepos
        if line is None or column is None or not 0 < line <= len(self.line_starts):
            return None
        return self.line_starts[line - 1] + column

    def resolve(self, href: str) -> str:
        return urldefrag(safe_urljoin(self.base, href))[0]


def _owned_controls(page: _Page, tops: list[Tag]) -> dict[int, list[Tag]]:
    """Controls per top-level form, the way a browser associates them.

    Nested ``<form>`` tags are ignored by browsers, so their controls belong to the outer
    form; ``form="id"`` overrides the ancestor; a control left outside by a prematurely
    closed form (``<td><form>…</td><td><input>``) still belongs to the last form opened
    before it when no ``</form>`` came in between, as in the HTML form-element pointer.
    """
    top_of: dict[int, Tag] = {}
    all_forms = page.soup.find_all("form")
    for form in all_forms:
        outer = form
        for parent in form.parents:
            if parent.name == "form":
                outer = parent
        top_of[id(form)] = outer
    by_id = {attr(f, "id"): top_of[id(f)] for f in reversed(all_forms) if attr(f, "id")}
    starts: list[tuple[int, Tag]] = []
    for form in all_forms:
        position = page.offset(form)
        if position is not None:
            starts.append((position, top_of[id(form)]))
    starts.sort(key=lambda item: item[0])
    start_offsets = [position for position, _ in starts]
    owned: dict[int, list[Tag]] = {id(form): [] for form in tops}
    for control in page.soup.find_all(CONTROL_NAMES):
        owner: Tag | None = None
        ancestor_form: Tag | None = None
        inert = False
        for parent in control.parents:
            if parent.name in ("textarea", "template", "option") or (
                parent.name == "select" and control.name != "select"
            ):
                inert = True
                break
            if parent.name == "form" and ancestor_form is None:
                ancestor_form = parent
        if inert:
            continue
        form_attr = attr(control, "form").strip()
        if form_attr:
            owner = by_id.get(form_attr)
        elif ancestor_form is not None:
            owner = top_of.get(id(ancestor_form))
        else:
            position = page.offset(control)
            if position is not None and start_offsets:
                at = bisect.bisect_left(start_offsets, position) - 1
                if at >= 0:
                    opened = start_offsets[at]
                    closed = bisect.bisect_left(page.form_ends, opened)
                    if closed >= len(page.form_ends) or page.form_ends[closed] > position:
                        owner = starts[at][1]
        if owner is not None and id(owner) in owned:
            owned[id(owner)].append(control)
    return owned


def _orphan_contact_fields(page: _Page) -> bool:
    """Contact-looking fields with no form at all: a script posts them."""
    has_textarea = has_email = False
    for control in page.soup.find_all(CONTROL_NAMES):
        if any(p.name == "form" for p in control.parents) or attr(control, "form"):
            continue
        if control.name == "textarea":
            has_textarea = True
        text = words(" ".join(attr(control, a) for a in ("type", "name", "id", "placeholder")))
        if control.name == "input" and re.search(r"\be ?mail\b", text):
            has_email = True
    return has_textarea and has_email


def _ancestors_in(control: Tag, form: Tag) -> list[Tag]:
    """Ancestors of ``control`` below ``form`` (all of them up to the body if outside it)."""
    result: list[Tag] = []
    for parent in control.parents:
        if parent is form or parent.name in ("form", "body", "html", "[document]"):
            break
        result.append(parent)
    return result


_LABELISH_TAGS = frozenset({"label", "legend", "span", "div", "p", "strong", "b", "dt", "th"})


def _is_labelish(tag: Tag) -> bool:
    if tag.name in ("label", "legend"):
        return True
    return tag.name in _LABELISH_TAGS and any("label" in c for c in classes(tag))


def _label_texts(control: Tag, page: _Page, ancestors: list[Tag]) -> tuple[list[str], set[int]]:
    """The control's own label texts (``for``, wrapping label, ARIA) and the label tags used."""
    texts: list[str] = []
    used: set[int] = set()
    ident = attr(control, "id")
    for label in page.labels_for.get(ident, []) if ident else []:
        texts.append(text_of(label))
        used.add(id(label))
    for parent in ancestors:
        if parent.name == "label" and attr(parent, "for") in ("", ident):
            if id(parent) not in used:
                texts.append(text_of(parent))
                used.add(id(parent))
            break
    for ref in attr(control, "aria-labelledby").split():
        target = page.ids.get(ref)
        if target is not None:
            texts.append(text_of(target))
            used.add(id(target))
    aria = attr(control, "aria-label")
    if aria:
        texts.append(aria)
    if not any(t.strip() for t in texts) and attr(control, "title"):
        texts.append(attr(control, "title"))
    return [squash(t) for t in texts if t.strip()], used


def _context_label(
    control: Tag, ancestors: list[Tag], used: set[int], page: _Page
) -> tuple[str, bool]:
    """A caption found near the control: ``(text, sole)``, ``sole`` when its wrapper holds
    only this control (then it is the control's label, else the label of its group)."""
    node: Tag = control
    for parent in ancestors[:4]:
        if id(parent) in used:  # inside its own wrapping label: already read
            node = parent
            continue
        groups = control_groups(parent)
        if groups > 8:
            break
        text = ""
        for child in parent.children:
            if child is node:
                break
            if not isinstance(child, Tag) or id(child) in used or not _is_labelish(child):
                continue
            target = attr(child, "for")
            if target and target != attr(control, "id") and target in page.ids:
                continue
            if child.find(CONTROL_NAMES) is None:
                text = text_of(child)
        if not text:
            parts: list[str] = []
            for sibling in node.previous_siblings:
                if isinstance(sibling, Tag):
                    if id(sibling) in used or sibling.name in CONTROL_NAMES:
                        break
                    if sibling.find(CONTROL_NAMES) is not None:
                        break
                    if sibling.name not in ("a", "img", "script", "style", "svg", "button"):
                        parts.append(text_of(sibling))
                elif type(sibling) is NavigableString:
                    parts.append(str(sibling))
            text = squash(" ".join(reversed(parts)))
            if len(text) > 120:
                text = ""
        if text:
            return text, groups <= 1
        node = parent
    return "", False


_REQUIRED_CLASSES = frozenset(
    {
        "required", "is-required", "wpcf7-validates-as-required", "wpforms-field-required",
        "gfield_contains_required", "elementor-field-required", "field-required",
        "form-required", "validate[required]", "gfield--required", "nf-required",
        "frm_required_field", "et_pb_contact_field_required",
    }
)  # fmt: skip
_REQUIRED_TEXT_RE = re.compile(
    r"\*|\brequired\b|\bpflicht\w*|\bobligatoire\b|\bobligatorio\b|\bverplicht\b"
    r"|\bobbligatorio\b|\bobrigatorio\b|\brequis\b"
)


def _is_required(control: Tag, kind: str, raw_labels: str, ancestors: list[Tag]) -> bool:
    if kind == "hidden" or kind in BUTTON_KINDS:
        return False
    if has_attr(control, "required") or attr(control, "aria-required").lower() == "true":
        return True
    if set(classes(control)) & _REQUIRED_CLASSES or attr(control, "data-required") in (
        "true",
        "1",
        "required",
    ):
        return True
    for parent in ancestors[:3]:
        if set(classes(parent)) & _REQUIRED_CLASSES:
            return True
    return bool(_REQUIRED_TEXT_RE.search(fold(raw_labels)))


def _options(select: Tag) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Enabled options as ``(value, label)`` and what the select submits by default."""
    enabled: list[tuple[str, str]] = []
    chosen: list[tuple[str, bool]] = []
    first_enabled: str | None = None
    multiple = has_attr(select, "multiple")
    for option in select.find_all("option"):
        label = text_of(option, LABEL_SKIP) or attr(option, "label")
        value = attr(option, "value") if has_attr(option, "value") else label
        disabled = has_attr(option, "disabled") or any(
            p.name == "optgroup" and has_attr(p, "disabled") for p in option.parents
        )
        if not disabled:
            enabled.append((value, label))
            if first_enabled is None:
                first_enabled = value
        if has_attr(option, "selected"):
            chosen.append((value, disabled))
    if multiple:
        return tuple(enabled), tuple(v for v, disabled in chosen if not disabled)
    if chosen:
        value, disabled = chosen[-1]
        return tuple(enabled), (() if disabled else (value,))
    return tuple(enabled), (() if first_enabled is None else (first_enabled,))


def _disabled(control: Tag, ancestors: list[Tag]) -> bool:
    if has_attr(control, "disabled"):
        return True
    for parent in ancestors:
        if parent.name == "fieldset" and has_attr(parent, "disabled"):
            legend = parent.find("legend")
            return not any(legend is a for a in ancestors)
    return False


def _max_length(control: Tag) -> int | None:
    raw = attr(control, "maxlength").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _clean_label(text: str) -> str:
    return squash(text.replace("*", " ")).strip(" :\u00a0")


def _build_field(control: Tag, form: Tag, page: _Page, trap_names: set[str]) -> FormField:
    kind = control_kind(control)
    ancestors = _ancestors_in(control, form)
    if kind in BUTTON_KINDS:
        own, used = [text_of(control, LABEL_SKIP) or attr(control, "value")], set[int]()
        context, sole = "", False
    else:
        own, used = _label_texts(control, page, ancestors)
        context, sole = _context_label(control, ancestors, used, page)
    label = " ".join(dict.fromkeys(own)) if own else (context if sole else "")
    group = context if context and (own or not sole) and context != label else ""
    for parent in ancestors:
        if parent.name == "fieldset" and not group:
            legend = parent.find("legend")
            if isinstance(legend, Tag) and not any(p is legend for p in control.parents):
                group = text_of(legend)
            break
    raw_labels = f"{label} {group if kind in CHOICE_KINDS or not own else ''}"
    name = attr(control, "name")
    value = ""
    options: tuple[tuple[str, str], ...] = ()
    selected: tuple[str, ...] = ()
    if kind == "textarea":
        value = control.get_text()
        value = value[1:] if value.startswith("\n") else value
    elif kind == "select":
        options, selected = _options(control)
        value = selected[0] if selected else ""
    elif kind in CHOICE_KINDS:
        value = attr(control, "value") if has_attr(control, "value") else "on"
    else:
        value = attr(control, "value")
    reason = trap_reason(control, kind, label, ancestors, page.styles, trap_names)
    answer = ""
    if kind in ("text", "number", "tel") and not reason:
        answer = arithmetic_answer(label) or arithmetic_answer(attr(control, "placeholder")) or ""
    return FormField(
        name=name,
        kind=kind,
        required=_is_required(control, kind, raw_labels, ancestors),
        label=_clean_label(label),
        placeholder=squash(attr(control, "placeholder")),
        id=attr(control, "id"),
        value=value,
        options=options,
        honeypot=bool(reason),
        honeypot_reason=reason,
        checked=has_attr(control, "checked"),
        disabled=_disabled(control, ancestors),
        readonly=has_attr(control, "readonly"),
        max_length=_max_length(control),
        autocomplete=attr(control, "autocomplete").strip().lower(),
        group_label=_clean_label(group),
        selected=selected,
        multiple=has_attr(control, "multiple"),
        answer=answer,
    )


def _with_radio_options(fields: list[FormField]) -> list[FormField]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for f in fields:
        if f.kind == "radio" and f.name:
            groups.setdefault(f.name, []).append((f.value, f.label))
    if not groups:
        return fields
    return [
        replace(f, options=tuple(groups[f.name])) if f.kind == "radio" and f.name else f
        for f in fields
    ]


_SEND_WORDS_RE = re.compile(
    r"\bsend\w*|\bsubmit\w*|\bcontact\w*|\bsenden\b|\babsenden\b|\babschicken\b"
    r"|\bverschicken\b|\benvoyer\b|\benviar\b|\binvia\w*|\bverstuur\w*|\bverzend\w*"
    r"|\benquir\w*|\binquir\w*|\banfrage\w*|\brequest\b|\bmessage\b|\bnachricht\b"
)
_OTHER_BUTTON_RE = re.compile(
    r"\bsearch\w*|\bgo\b|\bsuche\w*|\brecherche\w*|\bbuscar\b|\bcerca\b|\bzoeken\b"
    r"|\blog ?in\b|\bsign ?in\b|\bsubscribe\w*|\babonn\w*|\bcancel\w*|\breset\b|\bback\b"
    r"|\bprevious\b|\bzuruck\b|\bupload\w*|\bdelete\b|\bremove\b"
)
_POSTBACK_RE = re.compile(r"__doPostBack\(\s*'([^']*)'\s*,\s*'([^']*)'")


def _button_score(f: FormField, after_message: bool) -> int:
    text = words(f"{f.label} {f.value} {f.name} {f.id}")
    score = 2 if _SEND_WORDS_RE.search(text) else 0
    if _OTHER_BUTTON_RE.search(text):
        score -= 3
    return score + (1 if after_message else 0)


def _pick_submitter(form: Tag, fields: list[FormField]) -> tuple[list[FormField], int | None, str]:
    """The button a person would press to send the message: ``(fields, index, note)``.

    With one submit button it is that one. With several (a WebForms page wraps the site
    search and the contact form in one ``<form>``), the one that says "send" and follows
    the message box wins over "Search"/"Go". When only a ``__doPostBack`` link says "send",
    the WebForms event fields are set as its script would, and no button is sent.
    """
    message_at = next((i for i, f in enumerate(fields) if f.kind == "textarea"), len(fields))
    candidates = [
        (_button_score(f, i > message_at), -i, i)
        for i, f in enumerate(fields)
        if f.kind in ("submit", "image") and not f.disabled
    ]
    best = max(candidates) if candidates else None
    names = {f.name for f in fields}
    if "__EVENTTARGET" in names and (best is None or best[0] <= 0):
        for tag in form.find_all(("a", "button", "input")):
            match = _POSTBACK_RE.search(attr(tag, "href") + " " + attr(tag, "onclick"))
            label = words(text_of(tag) or attr(tag, "value") or attr(tag, "title"))
            if match and (best is None or _SEND_WORDS_RE.search(label)):
                values = {"__EVENTTARGET": match.group(1), "__EVENTARGUMENT": match.group(2)}
                updated = [
                    replace(f, value=values[f.name])
                    if f.kind == "hidden" and f.name in values
                    else f
                    for f in fields
                ]
                return updated, None, f"ASP.NET postback link: __EVENTTARGET={match.group(1)}"
    return fields, (best[2] if best is not None else None), ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


_CF7_NAMESPACE = "contact-form-7/v1"


def _cf7_feedback_url(root: str, form_id: str) -> str:
    """The REST feedback URL under Contact Form 7's localized API root.

    CF7 5.4+ gives the REST root (``/wp-json/``); 5.0-5.3 gave the root with the plugin's
    namespace already on it (``/wp-json/contact-form-7/v1``); sites without pretty
    permalinks give ``/index.php?rest_route=/``. The namespace is added only when missing.
    """
    route = f"contact-forms/{form_id}/feedback"
    if not root.endswith("/"):
        root += "/"
    if not root.rstrip("/").endswith(_CF7_NAMESPACE):
        root += _CF7_NAMESPACE + "/"
    return root + route


def _ajax(
    builder: str, form: Tag, fields: list[FormField], page: _Page
) -> tuple[str, tuple[tuple[str, str], ...], str]:
    """The plugin's own AJAX endpoint: ``(url, extra params, note)``."""
    origin = _origin(page.page_url) or _origin(page.base)
    # Localized script settings are often relative (WooCommerce's "ajax_url" is
    # "/wp-admin/admin-ajax.php"): resolve them against the page like a browser does.
    ajaxurl = page.resolve(page.signals.ajaxurl) if page.signals.ajaxurl else ""
    admin_ajax = ajaxurl or (f"{origin}/wp-admin/admin-ajax.php" if origin else "")
    values = {f.name: f.value for f in fields if f.kind == "hidden"}
    if builder == "cf7" and values.get("_wpcf7", "").isdigit():
        root = page.signals.wpcf7_root or (f"{origin}/wp-json/" if origin else "")
        if root:
            url = _cf7_feedback_url(page.resolve(root), values["_wpcf7"])
            return url, (), "Contact Form 7 also answers JSON at its REST feedback endpoint"
    if builder == "elementor" and admin_ajax:
        params = (("action", "elementor_pro_forms_send_form"), ("referrer", page.page_url))
        return (
            admin_ajax,
            params,
            "Elementor Pro processes submissions only via admin-ajax.php "
            "(action=elementor_pro_forms_send_form); a plain POST to the page is likely "
            "ignored: prefer ajax_url with ajax_params",
        )
    if builder == "wpforms" and "wpforms-ajax-form" in classes(form) and admin_ajax:
        return (
            admin_ajax,
            (("action", "wpforms_submit"),),
            "WPForms AJAX form: a plain POST works, admin-ajax (action=wpforms_submit) too",
        )
    return "", (), ""


def _build_form(index: int, form: Tag, controls: list[Tag], page: _Page) -> ParsedForm:
    trap = attr(form, "netlify-honeypot") or attr(form, "data-netlify-honeypot")
    trap_names = {trap.strip()} if trap.strip() else set()
    fields = [_build_field(control, form, page, trap_names) for control in controls]
    fields = _with_radio_options(fields)
    fields, submitter, postback = _pick_submitter(form, fields)
    token = attr(form, "data-token")
    wpforms_note = ""
    if (
        token
        and "wpforms-form" in classes(form)
        and all(f.name != "wpforms[token]" for f in fields)
    ):
        # WPForms' script copies data-token into this hidden input when the form is sent.
        fields.append(FormField(name="wpforms[token]", kind="hidden", value=token))
        wpforms_note = "WPForms anti-spam token (data-token) added as its script does"
    action_attr = attr(form, "action")
    action = page.resolve(action_attr) if action_attr.strip() else page.page_url
    method: Method = "POST" if attr(form, "method").strip().lower() == "post" else "GET"
    netlify = any(has_attr(form, a) for a in ("netlify", "data-netlify"))
    if netlify and method == "GET" and attr(form, "data-netlify").lower() != "false":
        method = "POST"  # Netlify only records POSTed forms; its markup often omits method
    enctype = attr(form, "enctype").strip().lower()
    if enctype not in (URLENCODED, MULTIPART, TEXT_PLAIN):
        enctype = URLENCODED
    ancestors = [p for p in form.parents if p.name != "[document]"]
    names = {f.name for f in fields if f.name}
    builder = form_builder(form, ancestors, names, action.lower(), page.signals.platform)
    purpose, score, reasons = classify_purpose(form, ancestors, fields, builder, action)
    outside = [c for c in controls if not any(p is form for p in c.parents)]
    blockers = form_captchas(form, fields, outside)
    blockers += js_blockers(form, builder, fields, action_attr)
    ajax_url, ajax_params, ajax_note = _ajax(builder, form, fields, page)
    notes: list[str] = []
    if ajax_note:
        notes.append(ajax_note)
    if postback:
        notes.append(postback)
    if wpforms_note:
        notes.append(wpforms_note)
    csrf = sorted(n for n in names if n.lower() in CSRF_NAMES or n == "__EVENTVALIDATION")
    if csrf:
        notes.append("carries " + ", ".join(csrf))
    honeypots = [f.name or f.id for f in fields if f.honeypot]
    if honeypots:
        notes.append("honeypot " + ", ".join(honeypots) + " left empty")
    if builder == "netlify" and "form-name" not in names:
        notes.append("Netlify form without form-name: the filler adds it")
    return ParsedForm(
        index=index,
        action=action,
        method=method,
        enctype=enctype,
        fields=tuple(fields),
        purpose=purpose,
        score=score,
        reasons=tuple(reasons + notes),
        blockers=tuple(blockers),
        form_id=attr(form, "id"),
        form_name=attr(form, "name") or attr(form, "data-name"),
        builder=builder,
        ajax_url=ajax_url,
        ajax_params=ajax_params,
        page_url=page.page_url,
        submitter=submitter,
    )


def _parse(page: _Page) -> list[ParsedForm]:
    tops = [f for f in page.soup.find_all("form") if not any(p.name == "form" for p in f.parents)]
    owned = _owned_controls(page, tops)
    forms = [_build_form(i, form, owned[id(form)], page) for i, form in enumerate(tops)]
    extra = page_captchas(forms, page.signals)
    result: list[ParsedForm] = []
    for form in forms:
        added = [b for b in extra[form.index] if b not in form.blockers]
        if added:
            form = replace(form, blockers=form.blockers + tuple(added))
        result.append(form)
    return result


def parse_forms(html: str, page_url: str) -> list[ParsedForm]:
    """Every top-level form of the page with fields, purpose, score, reasons and blockers."""
    return _parse(_Page(html, page_url))


def parse_forms_in(soup: BeautifulSoup, html: str, page_url: str) -> list[ParsedForm]:
    """:func:`parse_forms` for a caller that already parsed ``html`` into ``soup`` (big
    pages take a while to parse; the tree is only read)."""
    return _parse(_Page(html, page_url, soup))


def _summary(form: ParsedForm) -> str:
    reasons = ", ".join(form.reasons[:3]) if form.reasons else "no clear signal"
    return f"#{form.number} {form.purpose} ({reasons})"


def analyze_page(html: str, page_url: str) -> PageAnalysis:
    """Pick the page's contact form and explain the choice (or why there is none).

    Among contact forms the one without blockers wins, then the higher score, then the one
    with more visible fields, then the first on the page: a quick-contact widget next to a
    reCAPTCHA-guarded main form is still a way in.
    """
    page = _Page(html, page_url)
    forms = _parse(page)
    contacts = [f for f in forms if f.purpose == "contact"]
    chosen = (
        max(
            contacts,
            key=lambda f: (
                not f.blockers,
                f.score,
                sum(1 for x in f.fields if x.visible),
                -f.index,
            ),
        )
        if contacts
        else None
    )
    embeds = list(page.signals.embeds)
    for kind, detail in page.signals.scripted_captcha.items():
        # No <form> to read, but a CAPTCHA waits for one: a script builds the form.
        embeds.append(Blocker(kind, f"{detail}: the form is built and sent by JavaScript"))
    if _orphan_contact_fields(page):
        embeds.append(
            Blocker("js_only", "contact fields outside any <form>: a script submits them")
        )
    page_blockers: list[Blocker] = []
    if chosen is None:
        page_blockers = embeds
    else:
        page_scripts = {page.signals.recaptcha_v3, *page.signals.scripts.values()} - {""}
        page_blockers = [
            b for b in chosen.blockers if any(b.detail.startswith(d) for d in page_scripts)
        ]
    if not forms:
        why = "no form on the page"
    else:
        count = f"{len(forms)} form{'s' if len(forms) > 1 else ''}"
        why = f"{count}: " + "; ".join(_summary(f) for f in forms)
    if chosen is not None:
        why += f" → picked form #{chosen.number}"
        if chosen.blockers:
            why += " but it must not be submitted automatically: " + "; ".join(
                f"{b.kind}: {b.detail}" for b in chosen.blockers
            )
    else:
        why += " → no contact form"
        if embeds:
            why += "; the page embeds " + "; ".join(b.detail for b in embeds)
    return PageAnalysis(
        page_url=page.page_url,
        forms=tuple(forms),
        chosen=chosen,
        why=why,
        page_blockers=tuple(page_blockers),
    )
