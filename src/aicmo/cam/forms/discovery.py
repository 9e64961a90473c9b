"""Find a site's contact page from its home page. Pure: no network, no database, no clock.

Links are ranked by what their anchor text and URL path say ("Contact us", ``/kontakt``,
"Get in touch"), in the main languages of the leads; a legal notice (Impressum, mentions
légales) ranks low because it lists an address, rarely a form. Only same-site pages are
kept: a contact link to another domain is somebody else's form. When the home page links to
nothing useful, :func:`candidate_urls` falls back to the paths sites commonly use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urldefrag, urlsplit, urlunsplit

from bs4.element import Tag

from aicmo.cam.forms.markup import (
    attr,
    base_url_of,
    parse_html,
    safe_urljoin,
    squash,
    text_of,
    words,
)

#: Paths worth trying on the site's origin when no link says "contact", most common first.
COMMON_CONTACT_PATHS: tuple[str, ...] = (
    "/contact",
    "/contact/",
    "/contact-us",
    "/contact-us/",
    "/kontakt",
    "/kontakt/",
    "/contacto",
    "/contatti",
    "/contato",
    "/contact.html",
    "/contact.php",
    "/kontakt.html",
    "/about/contact",
    "/contactus",
    "/nous-contacter",
    "/contactez-nous",
    "/get-in-touch",
    "/en/contact",
    "/de/kontakt",
    "/fr/contact",
    "/es/contacto",
)


@dataclass(frozen=True, slots=True)
class ContactLink:
    """A same-site link that probably leads to a contact page, with why it was kept."""

    url: str
    score: int
    reason: str
    text: str = ""


_SLUG_RE = re.compile(
    r"^(?:contact(?: ?us| me| form| page)?|contactus|kontakt(?:formular| aufnehmen| uns)?"
    r"|contacto|contactenos|contactanos|contacte|contato|fale conosco|contatti|contattaci"
    r"|contatto|nous contacter|contactez nous|get in touch|reach us|write us|write to us"
    r"|neem contact op|contacteer ons|contact opnemen|kontaktai|kontakty|yhteystiedot)$"
)
_PATH_WORD_RE = re.compile(r"\bcontact\w*|\bkontakt\w*|\bcontatt\w*|\bcontato\b")
_TEXT_RE = re.compile(
    r"^(?:contact(?: us| me| form)?|kontakt(?:formular| aufnehmen)?|contacto|contactenos"
    r"|contactanos|contato|contatti|contattaci|nous contacter|contactez nous|contact opnemen"
    r"|get in touch|reach us|reach out|write to us|schreiben sie uns|talk to us|let s talk"
    r"|say hello|fale conosco|entre em contato|neem contact op|contacteer ons|scrivici)$"
)
_TEXT_WORD_RE = re.compile(
    r"\bcontact\w*|\bkontakt\w*|\bcontatt\w*|\bcontato\b|\bget in touch\b|\breach us\b"
)
_ENQUIRY_RE = re.compile(
    r"\benquir\w*|\binquir\w*|\brequest a quote\b|\bget a quote\b|\banfrage\b"
    r"|\bangebot anfordern\b|\bdemande de devis\b|\bpresupuesto\b|\bpreventivo\b"
    r"|\bofferte aanvragen\b|\borcamento\b"
)
_LEGAL_RE = re.compile(
    r"\bimpressum\b|\bimprint\b|\blegal notice\b|\bmentions legales\b|\baviso legal\b"
    r"|\bnote legali\b|\bcolofon\b|\bimpresszum\b|\blegal\b"
)
_SKIP_EXTENSIONS = (
    ".pdf", ".jpg", ".jpeg", ".png", ".gif", ".webp", ".svg", ".zip", ".doc", ".docx",
    ".xls", ".xlsx", ".vcf", ".ics", ".mp4", ".mp3",
)  # fmt: skip
_LANG_RE = re.compile(r"^[a-z]{2}(?:-[a-z]{2})?$")


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def same_site(url: str, base_url: str) -> bool:
    """Same host (``www.`` ignored) or one a subdomain of the other."""
    a, b = _host(url), _host(base_url)
    return bool(a and b) and (a == b or a.endswith("." + b) or b.endswith("." + a))


def _key(url: str) -> tuple[str, str, str]:
    parts = urlsplit(url)
    return _host(url), parts.path.rstrip("/") or "/", parts.query


def _score(path_words: str, slug: str, text: str) -> tuple[int, str]:
    by_path, path_reason = 0, ""
    if _SLUG_RE.match(slug):
        by_path, path_reason = 60, f"URL path '{slug}'"
    elif _PATH_WORD_RE.search(path_words):
        by_path, path_reason = 50, "URL path mentions contact"
    elif _ENQUIRY_RE.search(path_words):
        by_path, path_reason = 25, "URL path mentions an enquiry"
    elif _LEGAL_RE.search(path_words):
        by_path, path_reason = 15, "legal notice page (lists contact details)"
    by_text, text_reason = 0, ""
    if _TEXT_RE.match(text):
        by_text, text_reason = 55, f"link text '{text}'"
    elif _TEXT_WORD_RE.search(text) and len(text) <= 60:
        by_text, text_reason = 45, f"link text '{text}'"
    elif _ENQUIRY_RE.search(text) and len(text) <= 60:
        by_text, text_reason = 25, f"link text '{text}'"
    elif _LEGAL_RE.search(text) and len(text) <= 60:
        by_text, text_reason = 15, f"legal notice link '{text}'"
    score = max(by_path, by_text)
    if by_path and by_text:
        score += 10
    reason = " + ".join(r for r in (text_reason, path_reason) if r)
    return score, reason


def _region_bonus(anchor: Tag) -> tuple[int, str]:
    for parent in anchor.parents:
        if parent.name in ("nav", "header") or attr(parent, "role") == "navigation":
            return 5, "in navigation"
        if parent.name == "footer" or attr(parent, "role") == "contentinfo":
            return 3, "in footer"
    return 0, ""


def _language(url: str) -> str:
    first = next((p for p in urlsplit(url).path.split("/") if p), "").lower()
    return first if _LANG_RE.match(first) else ""


def find_contact_links(html: str, base_url: str) -> list[ContactLink]:
    """Same-site links that look like a contact page, best first (ties: page order)."""
    soup = parse_html(html)
    base = base_url_of(soup, base_url)
    page = urldefrag(base_url)[0]
    page_language = _language(page)
    best: dict[tuple[str, str, str], tuple[int, int, ContactLink]] = {}
    for order, anchor in enumerate(soup.find_all(("a", "area"))):
        href = attr(anchor, "href").strip()
        if not href or href.startswith("#"):
            continue
        if href.lower().startswith(("mailto:", "tel:", "javascript:", "data:", "sms:", "callto:")):
            continue
        url = urldefrag(safe_urljoin(base, href))[0]
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not same_site(url, base_url):
            continue
        if _key(url) == _key(page) or parts.path.lower().endswith(_SKIP_EXTENSIONS):
            continue
        text = text_of(anchor) or attr(anchor, "aria-label") or attr(anchor, "title")
        folded_text = words(text)
        segments = [s for s in parts.path.split("/") if s]
        slug = words(re.sub(r"\.(?:html?|php|aspx?)$", "", segments[-1])) if segments else ""
        score, reason = _score(words(parts.path), slug, folded_text)
        if not score:
            continue
        bonus, where = _region_bonus(anchor)
        if page_language and _language(url) == page_language:
            bonus += 3
        link = ContactLink(
            url=urlunsplit(parts),
            score=score + bonus,
            reason=reason + (f", {where}" if where else ""),
            text=squash(text)[:80],
        )
        key = _key(url)
        if key not in best or best[key][0] < link.score:
            first_seen = best[key][1] if key in best else order
            best[key] = (link.score, first_seen, link)
    ranked = sorted(best.values(), key=lambda item: (-item[0], item[1]))
    return [link for _, _, link in ranked]


def candidate_urls(html: str, base_url: str, *, limit: int = 8) -> list[str]:
    """URLs to try for the contact form: ranked links, then common paths on the same origin.

    Trailing-slash twins count once, so ``limit`` is a real budget of page fetches.
    """
    urls: list[str] = []
    seen: set[tuple[str, str, str]] = set()

    def add(url: str) -> None:
        key = _key(url)
        if key not in seen and len(urls) < limit:
            seen.add(key)
            urls.append(url)

    for link in find_contact_links(html, base_url):
        add(link.url)
    parts = urlsplit(base_url)
    if parts.scheme in ("http", "https") and parts.netloc:
        for path in COMMON_CONTACT_PATHS:
            add(urlunsplit((parts.scheme, parts.netloc, path, "", "")))
    return urls
