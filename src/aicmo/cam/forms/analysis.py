"""Read a page's forms the way a browser would, and pick the one a human would use to write in.

Pure: no network, no database, no clock. Input is the page's HTML text and its URL.

The parser is deliberately forgiving (``html.parser`` never refuses markup) and every rule
here errs on the side of *not* submitting: a CAPTCHA anywhere near the chosen form, a form
rendered by a third-party script, or a field that only a bot could see turns the step into an
operator task instead of a guess. Honeypots are spotted so that the filler leaves them exactly
as a browser would (empty), and hidden inputs are carried verbatim because CSRF tokens and
plugin bookkeeping fields are what make a submission acceptable to the site.
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal
from urllib.parse import urldefrag, urljoin, urlsplit

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PageElement, Tag

Purpose = Literal[
    "contact", "newsletter", "search", "login", "signup", "comment", "checkout", "unknown"
]
BlockerKind = Literal[
    "recaptcha",
    "hcaptcha",
    "turnstile",
    "friendly_captcha",
    "captcha",
    "js_only",
    "iframe_embed",
    "unsupported",
]
Method = Literal["GET", "POST"]

URLENCODED = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
TEXT_PLAIN = "text/plain"

#: Kinds of ``<input>`` a browser knows; anything else is rendered (and submitted) as text.
_INPUT_KINDS = frozenset(
    {
        "text", "email", "tel", "url", "number", "date", "datetime-local", "time", "month",
        "week", "color", "range", "search", "password", "hidden", "checkbox", "radio", "file",
        "submit", "image", "reset", "button",
    }
)  # fmt: skip
#: Kinds that take typed text (what a honeypot, a name or an email field looks like).
TEXT_KINDS = frozenset({"text", "email", "tel", "url", "number", "search", "password", "textarea"})
BUTTON_KINDS = frozenset({"submit", "image", "reset", "button"})
CHOICE_KINDS = frozenset({"checkbox", "radio"})


# Dataclasses ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Blocker:
    """Why the form must not be submitted automatically (the step becomes an operator task)."""

    kind: BlockerKind
    detail: str


@dataclass(frozen=True, slots=True)
class FormField:
    """One form control as a browser sees it (unnamed controls are listed but never sent).

    ``value`` is the markup's default (a textarea's text, a select's default choice);
    ``options`` lists ``(value, label)`` pairs of a select's enabled options, or of a radio
    group for each of its radios; ``selected`` holds what the select submits untouched.
    ``group_label`` is the caption of the wrapper the field sits in (a fieldset legend, a
    Gravity Forms ``gfield_label``), which names sub-fields labelled only "First"/"Last".
    """

    name: str
    kind: str
    required: bool = False
    label: str = ""
    placeholder: str = ""
    id: str = ""
    value: str = ""
    options: tuple[tuple[str, str], ...] = ()
    honeypot: bool = False
    honeypot_reason: str = ""
    checked: bool = False
    disabled: bool = False
    readonly: bool = False
    max_length: int | None = None
    autocomplete: str = ""
    group_label: str = ""
    selected: tuple[str, ...] = ()
    multiple: bool = False

    @property
    def visible(self) -> bool:
        """A control a human can see and type into or tick."""
        return self.kind != "hidden" and self.kind not in BUTTON_KINDS and not self.honeypot

    @property
    def description(self) -> str:
        """Everything that names the field, for messages: label, else placeholder, else name."""
        return self.label or self.group_label or self.placeholder or self.name or self.id


@dataclass(frozen=True, slots=True)
class ParsedForm:
    """A ``<form>`` with its fields in submission order and what it is for.

    ``index`` is the 0-based position on the page (``#index+1`` in :attr:`PageAnalysis.why`).
    ``action`` is absolute, fragment-free, and defaults to the page URL like a browser does.
    ``ajax_url``/``ajax_params`` describe the plugin's own AJAX endpoint when it has one
    (Contact Form 7 REST, Elementor/WPForms ``admin-ajax.php``): POST the payload plus
    ``ajax_params`` there as multipart; :mod:`aicmo.cam.forms.verdict` reads the JSON answer.
    ``submitter`` indexes the button a person would press (sent with the data when named).
    """

    index: int
    action: str
    method: Method
    enctype: str
    fields: tuple[FormField, ...]
    purpose: Purpose = "unknown"
    score: int = 0
    reasons: tuple[str, ...] = ()
    blockers: tuple[Blocker, ...] = ()
    form_id: str = ""
    form_name: str = ""
    builder: str = "generic"
    ajax_url: str = ""
    ajax_params: tuple[tuple[str, str], ...] = ()
    page_url: str = ""
    submitter: int | None = None

    @property
    def number(self) -> int:
        """1-based position, as written in explanations."""
        return self.index + 1


@dataclass(frozen=True, slots=True)
class PageAnalysis:
    """All forms of a page, the contact form picked (if any) and why."""

    page_url: str
    forms: tuple[ParsedForm, ...]
    chosen: ParsedForm | None
    why: str
    page_blockers: tuple[Blocker, ...] = ()

    @property
    def submittable(self) -> bool:
        """A contact form was found and nothing forbids submitting it automatically."""
        return self.chosen is not None and not self.chosen.blockers and not self.page_blockers


# Text helpers (shared with filling, verdict and discovery) -----------------------------------

_NON_WORD_RE = re.compile(r"[^0-9a-z]+")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])")


def squash(text: str) -> str:
    """Collapse whitespace runs to one space and trim."""
    return " ".join(text.split())


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` ("Téléphone" → "telephone")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> str:
    """Folded words separated by single spaces: ``your-name``/``firstName`` → ``your name``."""
    return _NON_WORD_RE.sub(" ", fold(_CAMEL_RE.sub(" ", text))).strip()


def attr(tag: Tag, name: str) -> str:
    """An attribute as one string (multi-valued ``class`` joined by spaces)."""
    value = tag.get(name)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return " ".join(value)


def classes(tag: Tag) -> list[str]:
    return attr(tag, "class").lower().split()


def has_attr(tag: Tag, name: str) -> bool:
    return tag.get(name) is not None


_TEXT_SKIP = frozenset({"script", "style", "template", "noscript", "svg", "head", "title"})
_LABEL_SKIP = _TEXT_SKIP | {"select", "option", "textarea", "datalist"}


_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "fieldset",
        "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "legend", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tbody",
        "td", "tfoot", "th", "thead", "tr", "ul", "option", "button", "input", "select",
        "textarea", "label", "img",
    }
)  # fmt: skip


def iter_text(
    root: Tag, skip: frozenset[str] = _TEXT_SKIP, hidden: Callable[[Tag], bool] | None = None
) -> Iterator[str]:
    """Text nodes under ``root`` in document order, a space standing for each block boundary
    (so "<p>Thanks</p><p>We…" does not read "ThanksWe"); no recursion, pages nest deeply."""
    stack: list[tuple[Iterator[PageElement], bool]] = [(iter(root.children), False)]
    while stack:
        children, block = stack[-1]
        for child in children:
            if isinstance(child, Tag):
                if child.name in skip or (hidden is not None and hidden(child)):
                    continue
                is_block = child.name in _BLOCK_TAGS
                if is_block:
                    yield " "
                stack.append((iter(child.children), is_block))
                break
            if type(child) is NavigableString:
                yield str(child)
        else:
            stack.pop()
            if block:
                yield " "


def text_of(root: Tag, skip: frozenset[str] = _LABEL_SKIP) -> str:
    """Whitespace-collapsed text of ``root`` without option lists, scripts or textareas."""
    return squash("".join(iter_text(root, skip)))


def parse_html(html: str) -> BeautifulSoup:
    """Parse anything; garbage becomes an empty document rather than an exception."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return BeautifulSoup(html, "html.parser")
        except Exception:  # the stdlib parser can still assert on some broken markup
            return BeautifulSoup("", "html.parser")


def base_url_of(soup: BeautifulSoup, page_url: str) -> str:
    """The URL relative links resolve against: the first ``<base href>``, else the page."""
    base = soup.find("base", href=True)
    if isinstance(base, Tag):
        href = attr(base, "href").strip()
        if href and not href.lower().startswith(("javascript:", "data:")):
            return safe_urljoin(page_url, href)
    return page_url


def safe_urljoin(base: str, href: str) -> str:
    try:
        return urljoin(base, href.strip())
    except ValueError:  # e.g. an invalid IPv6 literal in the href
        return base


# Inline styles and <style> blocks -------------------------------------------------------------

_NUMBER_RE = re.compile(r"-?\d+(?:\.\d+)?")
_OFFSCREEN_PROPS = ("left", "top", "right", "bottom", "margin-left", "margin-top", "text-indent")


def _declarations(css: str) -> dict[str, str]:
    decls: dict[str, str] = {}
    for part in css.split(";"):
        prop, sep, value = part.partition(":")
        if sep:
            cleaned = value.lower().replace("!important", "").strip()
            decls[prop.strip().lower()] = cleaned
    return decls


def _number(value: str) -> float | None:
    match = _NUMBER_RE.search(value)
    return float(match.group()) if match else None


def hiding_reason(css: str) -> str:
    """Which declaration in ``css`` takes the element out of sight ("" if none does)."""
    decls = _declarations(css)
    if decls.get("display", "").startswith("none"):
        return "display:none"
    if decls.get("visibility", "") in ("hidden", "collapse"):
        return "visibility:hidden"
    opacity = decls.get("opacity")
    if opacity is not None and _number(opacity) == 0:
        return "opacity:0"
    positioned = decls.get("position", "") in ("absolute", "fixed", "relative")
    for prop in _OFFSCREEN_PROPS:
        value = decls.get(prop)
        number = _number(value) if value else None
        if number is not None and (number <= -999 or (positioned and number <= -100)):
            return f"{prop}:{value} (off-screen)"
    overflow_hidden = "hidden" in decls.get("overflow", "") or "clip" in decls.get("overflow", "")
    for prop in ("height", "max-height", "width", "max-width"):
        value = decls.get(prop)
        number = _number(value) if value is not None else None
        if number is not None and number <= 1 and overflow_hidden:
            return f"{prop}:{value} with overflow:hidden"
    clip = decls.get("clip", "")
    if clip.startswith("rect(") and all(_number(n) in (0, 1) for n in re.findall(r"[\d.]+", clip)):
        return "clip:rect (visually hidden)"
    if decls.get("clip-path", "").replace(" ", "") in ("inset(50%)", "circle(0)", "inset(100%)"):
        return "clip-path (visually hidden)"
    if re.search(r"scale\(\s*0\s*\)", decls.get("transform", "")):
        return "transform:scale(0)"
    return ""


@dataclass(frozen=True, slots=True)
class _CssRule:
    tag: str
    id: str
    classes: frozenset[str]
    attrs: tuple[tuple[str, str | None], ...]
    reason: str
    selector: str
    ancestor: _CssRule | None = None

    def matches(self, tag: Tag) -> bool:
        if not self.matches_self(tag):
            return False
        if self.ancestor is None:
            return True
        return any(self.ancestor.matches_self(parent) for parent in tag.parents)

    def matches_self(self, tag: Tag) -> bool:
        if self.tag and tag.name != self.tag:
            return False
        if self.id and attr(tag, "id") != self.id:
            return False
        if self.classes and not self.classes <= set(attr(tag, "class").split()):
            return False
        for name, value in self.attrs:
            if not has_attr(tag, name) or (value is not None and attr(tag, name) != value):
                return False
        return True


_COMPOUND_RE = re.compile(r"^(?P<tag>[a-zA-Z][a-zA-Z0-9-]*)?(?P<rest>(?:[.#][-\w]+|\[[^\]]+\])*)$")
_SIMPLE_RE = re.compile(
    r"(?P<sym>[.#])(?P<ident>[-\w]+)"
    r"|\[\s*(?P<attr>[-\w:]+)\s*(?:=\s*[\"']?(?P<value>[^\"'\]]*)[\"']?\s*)?\]"
)


def _compile_compound(compound: str, reason: str, selector: str) -> _CssRule | None:
    match = _COMPOUND_RE.match(compound)
    if match is None or not compound:  # pseudo-classes, universal selectors, operators
        return None
    ident, names, attrs = "", set[str](), list[tuple[str, str | None]]()
    for simple in _SIMPLE_RE.finditer(match.group("rest")):
        if simple.group("sym") == "#":
            ident = simple.group("ident")
        elif simple.group("sym") == ".":
            names.add(simple.group("ident"))
        else:
            attrs.append((simple.group("attr").lower(), simple.group("value")))
    return _CssRule(
        (match.group("tag") or "").lower(), ident, frozenset(names), tuple(attrs), reason, selector
    )


def _compile_selector(selector: str, reason: str) -> _CssRule | None:
    """A rule for ``selector``'s last compound, with the compound before it (if any) as an
    ancestor condition: enough for ``.hp-wrap``, ``#field_4-container input`` and the like."""
    compounds = [c for c in re.split(r"\s*[>+~]\s*|\s+", selector.strip()) if c]
    if not compounds:
        return None
    rule = _compile_compound(compounds[-1], reason, selector)
    if rule is None:
        return None
    sibling = re.search(r"[+~]\s*[^+~>\s]+\s*$", selector)
    if len(compounds) > 1 and not sibling:
        ancestor = _compile_compound(compounds[-2], reason, selector)
        if ancestor is None:
            return None
        rule = replace(rule, ancestor=ancestor)
    if not (rule.id or rule.classes or rule.attrs or rule.ancestor is not None):
        return None  # a bare element selector hides a whole kind of tag: not a trap
    return rule


def css_hiding_rules(css: str) -> list[_CssRule]:
    """Top-level rules of a stylesheet that hide what they select (``@media`` etc. skipped)."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    rules: list[_CssRule] = []
    depth, selector_start, body_start, selector = 0, 0, 0, ""
    for brace in re.finditer(r"[{}]", css):
        if brace.group() == "{":
            if depth == 0:
                selector = css[selector_start : brace.start()].strip()
                body_start = brace.end()
            depth += 1
            continue
        if depth == 0:
            selector_start = brace.end()
            continue
        depth -= 1
        if depth:
            continue
        selector_start = brace.end()
        body = css[body_start : brace.start()]
        if selector.startswith("@") or "{" in body:
            continue
        reason = hiding_reason(body)
        if not reason:
            continue
        for part in selector.split(","):
            rule = _compile_selector(part, reason)
            if rule is not None:
                rules.append(rule)
    return rules


#: Framework classes that mean "not displayed" wherever the stylesheet lives (Bootstrap,
#: Tailwind, WordPress core, Foundation).
_HIDDEN_CLASSES = frozenset(
    {
        "hidden", "d-none", "hide", "is-hidden", "visually-hidden", "visuallyhidden", "sr-only",
        "screen-reader-text", "invisible", "display-none", "u-hidden", "hidden-field",
    }
)  # fmt: skip


class PageStyles:
    """Page CSS rules indexed for the ancestor walks of honeypot and visibility checks."""

    def __init__(self, soup: BeautifulSoup) -> None:
        self.by_class: dict[str, list[_CssRule]] = {}
        self.by_id: dict[str, list[_CssRule]] = {}
        self.other: list[_CssRule] = []
        for style in soup.find_all("style"):
            for rule in css_hiding_rules(style.get_text()):
                if rule.id:
                    self.by_id.setdefault(rule.id, []).append(rule)
                elif rule.classes:
                    self.by_class.setdefault(min(rule.classes), []).append(rule)
                else:
                    self.other.append(rule)

    def hidden_by(self, tag: Tag) -> str:
        """Why ``tag`` itself is out of sight ("" if it is not, as far as the markup tells)."""
        if has_attr(tag, "hidden"):
            return "hidden attribute"
        inline = hiding_reason(attr(tag, "style"))
        if inline:
            return f"inline style {inline}"
        names = attr(tag, "class").split()
        candidates = list(self.other)
        candidates += self.by_id.get(attr(tag, "id"), [])
        for name in names:
            candidates += self.by_class.get(name, [])
        for rule in candidates:
            if rule.matches(tag):
                return f"page CSS '{squash(rule.selector)}' ({rule.reason})"
        hidden_class = next((n for n in names if n.lower() in _HIDDEN_CLASSES), "")
        if hidden_class:
            return f"class '{hidden_class}'"
        return ""


# Role guessing (shared with filling) ----------------------------------------------------------

Role = str

_ROLE_PATTERNS: tuple[tuple[Role, re.Pattern[str]], ...] = tuple(
    (role, re.compile(pattern))
    for role, pattern in (
        (
            "full_name",
            r"\bfull ?name\b|\bfullname\b|\b(?:first|given) (?:name )?(?:and|und|or) "
            r"(?:last|family|sur) ?name\b|\bvor (?:und )?(?:nach|zu) ?name\b"
            r"|\bname (?:und )?vorname\b"
            r"|\bvorname (?:und )?(?:nach)?name\b|\bnome e cognome\b|\bnombre y apellidos?\b"
            r"|\bnom (?:et )?prenom\b|\bprenom (?:et )?nom\b|\bnome completo\b|\bnombre completo\b"
            r"|\bnom complet\b|\bvoor en achternaam\b|\bvolledige naam\b|\bvollstandiger name\b"
            r"|\bcontact person\b|\bansprechpartner(?:in)?\b|\bpersona de contacto\b",
        ),
        (
            "email",
            r"\be ?mail\b|\bemail ?address\b|\bemailadres\b|\bmail\b|\bcourriel\b|\bcorreo\b"
            r"|\be ?mail ?adresse\b|\bmailadres\b|\bepost\b",
        ),
        (
            "phone",
            r"\bphone\b|\bphone ?number\b|\btelephone\b|\btel\b|\btelefon\w*|\btelefono\b"
            r"|\btelefoon\w*|\bmobile\b|\bmobil\w*|\bcell\b|\bcellphone\b|\bcellulare\b|\bhandy\b"
            r"|\bportable\b|\bcelular\b|\bmovil\b|\bgsm\b|\bfone\b|\brufnummer\b|\bwhatsapp\b",
        ),
        (
            "website",
            r"\bwebsite\b|\bweb ?site\b|\burl\b|\bhomepage\b|\bsite web\b|\bsitio web\b"
            r"|\bweb ?seite\b|\binternet ?seite\b|\binternetadresse\b|\bsito(?: web| internet)?\b"
            r"|\bwebadres\b|\bsite\b|\bdomain\b|\bwww\b",
        ),
        (
            "company",
            r"\bcompany\b|\bcompanyname\b|\bfirma\b|\bfirmenname\b|\bunternehmen\b|\bsociete\b"
            r"|\bentreprise\b|\bempresa\b|\bbedrijf\w*|\bazienda\b|\borgani[sz]ation\b"
            r"|\borganisatie\b|\borganizzazione\b|\borganizacion\b|\borganizacao\b|\bbusiness\b"
            r"|\bditta\b|\braison sociale\b|\bemployer\b|\binstitution\b|\bagency\b|\bagentur\b",
        ),
        (
            "job_title",
            r"\bjob ?title\b|\bjobtitle\b|\bposition\b|\bjob\b|\bfunktion\b|\bberuf\b"
            r"|\bfonction\b|\bposte\b|\bcargo\b|\bpuesto\b|\bfunctie\b|\bruolo\b|\bmansione\b",
        ),
        (
            "first_name",
            r"\bfirst ?name\b|\bfirstname\b|\bfirst\b|\bfname\b|\bgiven ?name\b|\bforename\b"
            r"|\bvorname\b|\bprenom\b|\bvoornaam\b|\bprimeiro nome\b",
        ),
        (
            "last_name",
            r"\blast ?name\b|\blastname\b|\blast\b|\blname\b|\bsurname\b|\bfamily ?name\b"
            r"|\bnachname\b|\bfamilienname\b|\bzuname\b|\bnom de famille\b|\bapellidos?\b"
            r"|\bachternaam\b|\bcognome\b|\bsobrenome\b|\bapelido\b",
        ),
        ("country", r"\bcountry\b|\bland\b|\bpays\b|\bpais\b|\bpaese\b|\bnazione\b"),
        (
            "subject",
            r"\bsubject\b|\bbetreff\b|\bobjet\b|\basunto\b|\bonderwerp\b|\boggetto\b"
            r"|\bassunto\b|\btopic\b|\bregarding\b|\bthema\b|\bsujet\b|\bmotivo\b|\breason\b"
            r"|\bconcerning\b|\b(?:inquiry|enquiry|request) type\b"
            r"|\bargomento\b|\btema\b|\bbetreft\b",
        ),
        (
            "message",
            r"\bmessage\b|\bnachricht\b|\bmensaje\b|\bbericht\b|\bmessaggio\b|\bmensagem\b"
            r"|\bcomments?\b|\bkommentar\b|\bcommentaire\b|\bcomentarios?\b|\bcommento\b"
            r"|\bopmerking\w*|\binquiry\b|\benquiry\b|\banfrage\b|\banliegen\b|\bdemande\b"
            r"|\bconsulta\b|\brichiesta\b|\bquestion\b|\bfrage\b|\bmitteilung\b|\bvraag\b"
            r"|\bdescription\b|\bbeschreibung\b|\bpergunta\b|\bduvida\b|\bmsg\b|\byour request\b"
            r"|\bhow can we help\b|\bwie konnen wir (?:ihnen )?helfen\b",
        ),
        (
            "full_name",
            r"\bname\b|\bnames\b|\bnaam\b|\bnom\b|\bnombre\b|\bnome\b|\bnamn\b|\bnavn\b"
            r"|\bimie\b|\bcontact name\b",
        ),
    )
)
_NEWSLETTER_RE = re.compile(
    r"\bnewsletters?\b|\bsubscribe\b|\bsubscription\b|\bmarketing\b|\bnews\b|\bupdates\b"
    r"|\boffers\b|\bpromotion\w*|\bpromo\b|\bmailing\b|\bcommunications\b|\babonn\w*"
    r"|\binscri\w*|\bsuscrib\w*|\biscriv\w*|\biscrizione\b|\bnieuwsbrief\b|\baanmelden\b"
    r"|\bwerbung\b|\bwerbe\w*|\bangebote\b|\bneuigkeiten\b|\binformiert\b|\bboletin\b"
    r"|\bpublicidad\b|\bofertas\b|\bnovidades\b|\bkeep me (?:updated|informed|posted)\b"
    r"|\bopt ?in\b"
    r"|\bsign me up\b|\bcommerciales?\b|\bcommerciali\b|\bprospection\b"
)
_CONSENT_RE = re.compile(
    r"\bprivacy\b|\bdatenschutz\w*|\bdsgvo\b|\bgdpr\b|\brgpd\b|\blgpd\b|\bavg\b|\bconsent\w*"
    r"|\beinwillig\w*|\bzustimm\w*|\bstimme\b|\bakzeptier\w*|\bagree\w*|\baccept\w*"
    r"|\bacept\w*|\baccett\w*|\bakkoord\b|\bterms\b|\bconditions\b|\bagb\b"
    r"|\bconfidentialite\b|\bprivacidad\b|\bproteccion de datos\b|\bprotezione dei dati\b"
    r"|\binformativa\b|\bprivacidade\b|\bconcordo\b|\baceito\b|\bautorizo\b|\bconsentimento\b"
    r"|\btoestemming\b|\bprivacyverklaring\b|\bprivacybeleid\b|\bdonnees personnelles\b"
    r"|\bpersonal data\b|\bpersonenbezogen\w*|\bkenntnis\b|\bgelezen\b|\bi have read\b"
    r"|\bj ai lu\b|\bhe leido\b|\bho letto\b|\bdatos personales\b|\bdati personali\b"
    r"|\bdados pessoais\b|\bpersoonsgegevens\b"
)
_SALUTATION_RE = re.compile(
    r"\bsalutation\b|\banrede\b|\bcivilite\b|\btratamiento\b|\baanhef\b|\bgender\b"
    r"|\bgeschlecht\b|\btitle\b|\btitel\b|\bsexo\b|\bgenere\b"
)
_SELECT_SUBJECT_RE = re.compile(
    r"\binterest\w*|\bdepartment\b|\babteilung\b|\bservices?\b|\bcategor\w*|\bkategorie\b"
    r"|\btype\b|\bart der\b|\bhelp\b|\bhelfen\b|\baider\b|\bayudar\w*|\baiutar\w*|\bajudar\b"
    r"|\bhelpen\b"
)
_ROLE_PRIORITY = {role: index for index, (role, _) in enumerate(_ROLE_PATTERNS)}
_AUTOCOMPLETE_ROLES = {
    "given-name": "first_name",
    "family-name": "last_name",
    "name": "full_name",
    "email": "email",
    "tel": "phone",
    "tel-national": "phone",
    "tel-local": "phone",
    "mobile": "phone",
    "organization": "company",
    "url": "website",
    "organization-title": "job_title",
    "country": "country",
    "country-name": "country",
}
_KIND_ROLES = {"email": "email", "tel": "phone", "url": "website"}


def _text_role(text: str) -> Role | None:
    """The most specific role a single text names ("Company name" → company, not a name)."""
    if not text:
        return None
    for role, pattern in _ROLE_PATTERNS:
        if pattern.search(text):
            return role
    return None


def _sources(f: FormField) -> list[tuple[str, int]]:
    """What names a field, with how much each source is trusted."""
    return [
        (words(f.label), 3),
        (words(f.placeholder), 2),
        (words(f.name), 2),
        (words(f.id), 1),
        (words(f.group_label), 1),
    ]


def infer_role(f: FormField) -> Role | None:
    """The sender attribute a field asks for, from its type, autocomplete, label, name, id.

    Each naming source votes for its most specific role, weighted by trust (a visible label
    beats a generated ``id``); the input type and ``autocomplete`` are decisive when set.
    Checkboxes answer ``consent``/``newsletter``; selects and radios ``country``/``subject``/
    ``salutation``; a textarea is always the message (the filler keeps one if there are more).
    """
    texts = _sources(f)
    joined = " ".join(text for text, _ in texts)
    if f.kind == "checkbox":
        if _NEWSLETTER_RE.search(joined):
            return "newsletter"
        return "consent" if _CONSENT_RE.search(joined) else None
    if f.kind in ("select", "radio"):
        role = _vote(texts)
        if role == "country" or _looks_like_country_list(f.options):
            return "country"
        if role in ("subject", "message") or _SELECT_SUBJECT_RE.search(joined):
            return "subject"
        if _SALUTATION_RE.search(joined):
            return "salutation"
        return None
    if f.kind not in TEXT_KINDS or f.kind in ("password", "search"):
        return None
    for token in f.autocomplete.lower().split():
        if token in _AUTOCOMPLETE_ROLES:
            return _AUTOCOMPLETE_ROLES[token]
    if f.kind in _KIND_ROLES:
        return _KIND_ROLES[f.kind]
    if f.kind == "textarea":  # the one free-text box; several of them are sorted out later
        return "message"
    return _vote(texts)


def _vote(texts: Iterable[tuple[str, int]]) -> Role | None:
    votes: dict[Role, int] = {}
    for text, weight in texts:
        role = _text_role(text)
        if role is not None:
            votes[role] = votes.get(role, 0) + weight
    if not votes:
        return None
    return max(votes, key=lambda role: (votes[role], -_ROLE_PRIORITY[role]))


_COUNTRY_NAMES = frozenset(
    {"germany", "deutschland", "france", "spain", "espana", "italy", "italia", "netherlands",
     "united states", "united kingdom", "austria", "osterreich", "switzerland", "schweiz",
     "belgium", "belgique", "portugal", "canada", "australia", "brazil", "brasil", "mexico"}
)  # fmt: skip


def _looks_like_country_list(options: tuple[tuple[str, str], ...]) -> bool:
    if len(options) < 20:
        return False
    labels = {fold(label) for _, label in options}
    return len(labels & _COUNTRY_NAMES) >= 3


# Honeypots and CAPTCHAs -----------------------------------------------------------------------

_HONEYPOT_SUBSTRINGS = (
    "honeypot", "ohnohoney", "gform_validation_container", "wpforms-field-hp", "akismet",
    "ak_hp", "_gotcha", "_honey", "field_hp", "hp-message", "hpinput",
)  # fmt: skip
_HONEYPOT_TOKENS = frozenset({"hp", "hpt", "hpot", "botcheck", "nospam"})
_HONEYPOT_NAMES = frozenset({"bot-field", "bot_field", "botfield", "botcheck", "_gotcha", "_honey"})
_HONEYPOT_LABEL_RE = re.compile(
    r"leave (?:this )?(?:field )?(?:blank|empty)|(?:do not|don ?t|dont) fill"
    r"|if you (?:are|re) (?:a )?human|should be left (?:unchanged|empty|blank)"
    r"|left unchanged|nicht ausfullen|leer lassen|laisser (?:ce champ )?vide|ne pas remplir"
    r"|dejar (?:en blanco|vacio)|no rellenar|lasciare vuoto|non compilare|deixe (?:em branco|vazio)"
    r"|leeg laten|niet invullen"
)
_OFF_AUTOCOMPLETE = frozenset({"off", "nope", "new-password", "false", "no"})


def _token_hint(values: Iterable[str]) -> str:
    for value in values:
        low = value.lower()
        hit = next((s for s in _HONEYPOT_SUBSTRINGS if s in low), "")
        if hit:
            return hit
        tokens = set(_NON_WORD_RE.split(low))
        token = next(iter(tokens & _HONEYPOT_TOKENS), "")
        if token:
            return token
    return ""


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
    ("_wpcf7_quiz", "captcha"),
    ("securimage", "captcha"),
)
_MATH_CHALLENGE_RE = re.compile(
    r"\d+\s*(?:[+x×*−-]|plus|minus|mal|fois|mas|piu|mais)\s*\d+\s*(?:=|\?|$)"
    r"|\b(?:what|how much) is \d|\bwie ?viel ist\b|\bcombien (?:font|fait)\b|\bcuanto es\b"
    r"|\bquanto fa\b|\bhoeveel is\b|\bsolve\b|\bsum of\b"
)
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


# Page-level signals ---------------------------------------------------------------------------

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
class _PageSignals:
    recaptcha_v3: str = ""
    scripts: dict[BlockerKind, str] = field(default_factory=dict)
    embeds: list[Blocker] = field(default_factory=list)
    platform: str = ""  # "wix" or "squarespace": every form is driven by the platform's JS
    ajaxurl: str = ""
    wpcf7_root: str = ""


def _add_embed(signals: _PageSignals, kind: BlockerKind, detail: str) -> None:
    """One blocker per vendor: the script tag and the call that uses it are the same embed."""
    vendor = detail.split()[0]
    if all(b.detail.split()[0] != vendor for b in signals.embeds):
        signals.embeds.append(Blocker(kind, detail))


def _page_signals(soup: BeautifulSoup, raw: str) -> _PageSignals:
    signals = _PageSignals()
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
            low_body = body.lower()
            for needle, detail in _EMBED_INLINE:
                if needle in low_body:
                    _add_embed(signals, "js_only", detail)
    if not signals.recaptcha_v3 and (
        "grecaptcha-badge" in low_raw or "protected by recaptcha" in low_raw
    ):
        signals.recaptcha_v3 = "reCAPTCHA badge on the page (invisible/v3 reCAPTCHA)"
    for frame in soup.find_all("iframe"):
        src = (attr(frame, "src") or attr(frame, "data-src")).lower()
        for needle, name in _EMBED_IFRAMES:
            if needle in src:
                _add_embed(signals, "iframe_embed", f"{name} form in an iframe ({needle})")
                break
    for tag in soup.find_all(True):
        names = classes(tag)
        ident = attr(tag, "id").lower()
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


# Parsing --------------------------------------------------------------------------------------


class _Page:
    """One parsed page: the tree, id and label indexes, styles and source offsets."""

    def __init__(self, html: str, page_url: str, soup: BeautifulSoup | None = None) -> None:
        self.raw = html
        self.page_url = urldefrag(page_url)[0] if page_url else ""
        self.soup = soup if soup is not None else parse_html(html)
        self.base = base_url_of(self.soup, self.page_url)
        self.styles = PageStyles(self.soup)
        self.signals = _page_signals(self.soup, html)
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


_CONTROL_NAMES = ("input", "select", "textarea", "button")


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
    for control in page.soup.find_all(_CONTROL_NAMES):
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
    for control in page.soup.find_all(_CONTROL_NAMES):
        if any(p.name == "form" for p in control.parents) or attr(control, "form"):
            continue
        if control.name == "textarea":
            has_textarea = True
        text = words(" ".join(attr(control, a) for a in ("type", "name", "id", "placeholder")))
        if control.name == "input" and re.search(r"\be ?mail\b", text):
            has_email = True
    return has_textarea and has_email


def _kind(control: Tag) -> str:
    if control.name in ("textarea", "select"):
        return control.name
    declared = attr(control, "type").strip().lower()
    if control.name == "button":
        return declared if declared in ("reset", "button") else "submit"
    return declared if declared in _INPUT_KINDS else "text"


def _ancestors_in(control: Tag, form: Tag) -> list[Tag]:
    """Ancestors of ``control`` below ``form`` (all of them up to the body if outside it)."""
    result: list[Tag] = []
    for parent in control.parents:
        if parent is form or parent.name in ("form", "body", "html", "[document]"):
            break
        result.append(parent)
    return result


def _is_control(tag: Tag) -> bool:
    return tag.name in _CONTROL_NAMES and _kind(tag) not in ("hidden", *BUTTON_KINDS)


def _control_groups(tag: Tag, limit: int = 12) -> int:
    """How many visible control groups (radios of one name count once) ``tag`` holds."""
    seen: set[str] = set()
    for control in tag.find_all(("input", "select", "textarea"), limit=limit * 3):
        if not _is_control(control):
            continue
        key = attr(control, "name") if _kind(control) in CHOICE_KINDS else str(id(control))
        seen.add(key or str(id(control)))
        if len(seen) > limit:
            break
    return len(seen)


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
        groups = _control_groups(parent)
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
            if child.find(_CONTROL_NAMES) is None:
                text = text_of(child)
        if not text:
            parts: list[str] = []
            for sibling in node.previous_siblings:
                if isinstance(sibling, Tag):
                    if id(sibling) in used or sibling.name in _CONTROL_NAMES:
                        break
                    if sibling.find(_CONTROL_NAMES) is not None:
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


def _honeypot_reason(
    control: Tag, kind: str, label: str, ancestors: list[Tag], page: _Page, trap_names: set[str]
) -> str:
    """Why a control is a trap for bots ("" when a human would see and fill it)."""
    if kind == "hidden" or kind in BUTTON_KINDS:
        return ""
    name = attr(control, "name")
    if name in trap_names:
        return f"named by the form's netlify-honeypot attribute ({name})"
    if name.lower() in _HONEYPOT_NAMES:
        return f"honeypot field name '{name}'"
    own_hint = _token_hint((name, attr(control, "id"), attr(control, "class")))
    if own_hint:
        return f"honeypot hint '{own_hint}' in the field's name/id/class"
    for parent in ancestors[:3]:
        if _control_groups(parent) > 2:
            break
        hint = _token_hint((attr(parent, "id"), attr(parent, "class")))
        if hint:
            return f"honeypot hint '{hint}' on its wrapper"
    if kind in CHOICE_KINDS:  # custom-styled checkboxes are routinely hidden behind labels
        return ""
    hidden = page.styles.hidden_by(control)
    if hidden:
        return f"hidden from humans: {hidden}"
    if attr(control, "aria-hidden").lower() == "true":
        return "hidden from humans: aria-hidden=true"
    for parent in ancestors:
        hidden = page.styles.hidden_by(parent)
        if not hidden and attr(parent, "aria-hidden").lower() == "true":
            hidden = "aria-hidden=true"
        if hidden:
            if _control_groups(parent) > 2:  # a hidden step or conditional section, no trap
                return ""
            return f"hidden from humans: wrapper <{parent.name}> {hidden}"
    if attr(control, "tabindex").strip() == "-1" and (
        attr(control, "autocomplete").strip().lower() in _OFF_AUTOCOMPLETE
    ):
        return "tabindex=-1 with autocomplete off (unreachable by keyboard)"
    if _HONEYPOT_LABEL_RE.search(words(label)):
        return f"its label asks humans to leave it empty ('{label[:60]}')"
    return ""


def _options(select: Tag) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """Enabled options as ``(value, label)`` and what the select submits by default."""
    enabled: list[tuple[str, str]] = []
    chosen: list[tuple[str, bool]] = []
    first_enabled: str | None = None
    multiple = has_attr(select, "multiple")
    for option in select.find_all("option"):
        label = text_of(option, _LABEL_SKIP) or attr(option, "label")
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
    kind = _kind(control)
    ancestors = _ancestors_in(control, form)
    if kind in BUTTON_KINDS:
        own, used = [text_of(control, _LABEL_SKIP) or attr(control, "value")], set[int]()
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
    reason = _honeypot_reason(control, kind, label, ancestors, page, trap_names)
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


# Builders, blockers, purpose ------------------------------------------------------------------

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
}
_CONTACT_BUILDERS = frozenset(
    {"cf7", "wpforms", "gravity", "elementor", "divi", "fluent", "formidable", "ninja",
     "netlify", "formspree", "webflow", "hubspot", "salesforce"}
)  # fmt: skip
_CSRF_NAMES = {
    "csrfmiddlewaretoken": "django",
    "authenticity_token": "rails",
    "_token": "laravel",
    "__viewstate": "aspnet",
}


def _builder(form: Tag, ancestors: list[Tag], names: set[str], action: str, page: _Page) -> str:
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
        ("list-manage.com" in action or "mc4wp-form" in own, "mailchimp"),
        ("webto.salesforce.com" in action, "salesforce"),
        ("w-form" in around or has_attr(form, "data-wf-page-id"), "webflow"),
        (
            any(c.startswith("sqs-block") for c in around)
            or page.signals.platform == "squarespace",
            "squarespace",
        ),
        (page.signals.platform == "wix", "wix"),
    )
    for matched, builder in checks:
        if matched:
            return builder
    for name, builder in _CSRF_NAMES.items():
        if name in low_names:
            return builder
    return "generic"


def _form_captchas(form: Tag, fields: list[FormField], controls: list[Tag]) -> list[Blocker]:
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
        if "wpcf7-quiz" in names:
            note("captcha", "Contact Form 7 quiz question")
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
        ident = f"{f.name} {f.id}".lower()
        for needle, kind in _CAPTCHA_FIELD_NAMES:
            if needle in ident:
                note(kind, f"{_CAPTCHA_LABELS[kind]} field '{f.name or f.id}'")
                break
        if not f.visible:
            continue
        text = words(f"{f.label} {f.placeholder} {f.group_label}")
        if _MATH_CHALLENGE_RE.search(f"{f.label} {f.placeholder}".lower()) or (
            f.kind in TEXT_KINDS and _MATH_CHALLENGE_RE.search(text)
        ):
            note("captcha", f"math/text challenge '{f.description[:60]}'")
        elif _HUMAN_CHECK_RE.search(text):
            note("captcha", f"human verification field '{f.description[:60]}'")
    return [Blocker(kind, detail) for kind, detail in found.items()]


def _js_blockers(
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
    r"|\borcamento\b|\bcallback\b|\bruckruf\b|\bsend\b|\bsenden\b|\babsenden\b|\benvoyer\b"
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


def _classify(
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
    if textareas:
        score += 35
        reasons.append("message textarea")
    if has_email:
        score += 20
        reasons.append("email field")
    if has_name:
        score += 10
        reasons.append("name field")
    if has_phone:
        score += 5
        reasons.append("phone field")
    if "subject" in roles:
        score += 5
        reasons.append("subject field")
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


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def _ajax(
    builder: str, form: Tag, fields: list[FormField], page: _Page
) -> tuple[str, tuple[tuple[str, str], ...], str]:
    """The plugin's own AJAX endpoint: ``(url, extra params, note)``."""
    origin = _origin(page.page_url) or _origin(page.base)
    admin_ajax = page.signals.ajaxurl or (f"{origin}/wp-admin/admin-ajax.php" if origin else "")
    values = {f.name: f.value for f in fields if f.kind == "hidden"}
    if builder == "cf7" and values.get("_wpcf7", "").isdigit():
        root = page.signals.wpcf7_root or (f"{origin}/wp-json/" if origin else "")
        if root:
            url = safe_urljoin(page.page_url or root, root)
            if not url.endswith("/"):
                url += "/"
            url += f"contact-form-7/v1/contact-forms/{values['_wpcf7']}/feedback"
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
    enctype = attr(form, "enctype").strip().lower()
    if enctype not in (URLENCODED, MULTIPART, TEXT_PLAIN):
        enctype = URLENCODED
    ancestors = [p for p in form.parents if p.name != "[document]"]
    names = {f.name for f in fields if f.name}
    builder = _builder(form, ancestors, names, action.lower(), page)
    purpose, score, reasons = _classify(form, ancestors, fields, builder, action)
    outside = [c for c in controls if not any(p is form for p in c.parents)]
    blockers = _form_captchas(form, fields, outside)
    blockers += _js_blockers(form, builder, fields, action_attr)
    ajax_url, ajax_params, ajax_note = _ajax(builder, form, fields, page)
    notes: list[str] = []
    if ajax_note:
        notes.append(ajax_note)
    if postback:
        notes.append(postback)
    if wpforms_note:
        notes.append(wpforms_note)
    csrf = sorted(n for n in names if n.lower() in _CSRF_NAMES or n == "__EVENTVALIDATION")
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


def _page_captchas(forms: list[ParsedForm], signals: _PageSignals) -> dict[int, list[Blocker]]:
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


def _parse(page: _Page) -> list[ParsedForm]:
    tops = [f for f in page.soup.find_all("form") if not any(p.name == "form" for p in f.parents)]
    owned = _owned_controls(page, tops)
    forms = [_build_form(i, form, owned[id(form)], page) for i, form in enumerate(tops)]
    extra = _page_captchas(forms, page.signals)
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
