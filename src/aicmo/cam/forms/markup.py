"""Reading markup as a browser renders it: text, attributes, URLs, controls, and what CSS hides.

Pure: no network, no clock. Shared by parsing, filling, verdicts and discovery. The CSS
support is the small subset sites use to hide honeypots (inline styles, ``<style>`` rules
with simple selectors, the usual "visually hidden" utility classes); anything fancier is
ignored, which errs towards treating a field as visible.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from urllib.parse import urljoin

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PageElement, Tag

from aicmo.cam.forms.model import BUTTON_KINDS, CHOICE_KINDS, INPUT_KINDS

NON_WORD_RE = re.compile(r"[^0-9a-z]+")
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
    return NON_WORD_RE.sub(" ", fold(_CAMEL_RE.sub(" ", text))).strip()


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
LABEL_SKIP = _TEXT_SKIP | {"select", "option", "textarea", "datalist"}


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


def text_of(root: Tag, skip: frozenset[str] = LABEL_SKIP) -> str:
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


CONTROL_NAMES = ("input", "select", "textarea", "button")


def control_kind(control: Tag) -> str:
    if control.name in ("textarea", "select"):
        return control.name
    declared = attr(control, "type").strip().lower()
    if control.name == "button":
        return declared if declared in ("reset", "button") else "submit"
    return declared if declared in INPUT_KINDS else "text"


def is_control(tag: Tag) -> bool:
    return tag.name in CONTROL_NAMES and control_kind(tag) not in ("hidden", *BUTTON_KINDS)


def control_groups(tag: Tag, limit: int = 12) -> int:
    """How many visible control groups (radios of one name count once) ``tag`` holds."""
    seen: set[str] = set()
    for control in tag.find_all(("input", "select", "textarea"), limit=limit * 3):
        if not is_control(control):
            continue
        key = attr(control, "name") if control_kind(control) in CHOICE_KINDS else str(id(control))
        seen.add(key or str(id(control)))
        if len(seen) > limit:
            break
    return len(seen)


# Evidence kept from a server's answer (shared by the verdict modules) ---------------------

#: At most this many characters of evidence, and this many echoed messages, are kept.
SNIPPET_MAX = 300
MESSAGES_MAX = 20


def snippet_of(text: str, start: int = 0, end: int | None = None) -> str:
    """Whitespace-collapsed text around ``text[start:end]``, at most 300 characters."""
    flat = squash(text)
    if end is None or len(flat) <= SNIPPET_MAX:
        return flat[:SNIPPET_MAX]
    # ``start``/``end`` index the collapsed text (callers search in collapsed text).
    middle = (start + end) // 2
    lo = max(0, min(middle - SNIPPET_MAX // 2, len(flat) - SNIPPET_MAX))
    return flat[lo : lo + SNIPPET_MAX].strip()


def clean_message(text: str) -> str:
    text = squash(text)
    return text[:199].rstrip() + "…" if len(text) > 200 else text


def dedupe_messages(messages: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for message in messages:
        cleaned = clean_message(message)
        if cleaned and sum(ch.isalpha() for ch in cleaned) >= 3:
            seen.setdefault(cleaned, None)
    return tuple(seen)[:MESSAGES_MAX]
