"""Lead identity and field normalisation. Pure: no I/O, no clock.

Dedupe keys are case- and whitespace-insensitive: the same person imported twice (from
two exports, with different capitalisation) must land on one row.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from aicmo.bidi import BIDI_CONTROL_RE, bidi_message
from aicmo.cam.domain.lead_fields import BY_NAME, EDITABLE_FIELDS, Kind
from aicmo.cam.domain.messages import LeadStage
from aicmo.errors import ValidationError

# C0/C1 controls, DEL and the Unicode line/paragraph separators: none may appear in a
# single-line field (they would break a mail header or a CSV cell).
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# Multi-line text (notes) may keep tab and newlines, nothing else.
_TEXT_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

MAX_SHORT_FIELD = 500
MAX_TEXT_FIELD = 65_536


def has_control_char(value: str) -> bool:
    """A character that :func:`check_single_line` refuses (a control or a bidi control)."""
    return _CONTROL_RE.search(value) is not None or BIDI_CONTROL_RE.search(value) is not None


def check_single_line(
    field: str, value: str, *, max_len: int = MAX_SHORT_FIELD, bidi: bool = True
) -> str:
    """Reject control characters (CR/LF among them), bidirectional overrides, embeddings
    and isolates (see :mod:`aicmo.bidi`; ``bidi=False`` lets them through where a value
    is checked again late, such as a message header built from stored data), and
    over-long values."""
    if _CONTROL_RE.search(value):
        raise ValidationError(
            f"{field} contains a control character (line break or similar); "
            "remove it and import again",
            field=field,
        )
    problem = bidi_message(field, value) if bidi else None
    if problem is not None:
        raise ValidationError(problem, field=field)
    if len(value) > max_len:
        raise ValidationError(
            f"{field} is too long ({len(value)} > {max_len} characters)", field=field
        )
    return value


def check_text(field: str, value: str, *, max_len: int = MAX_TEXT_FIELD) -> str:
    if _TEXT_CONTROL_RE.search(value):
        raise ValidationError(f"{field} contains a control character", field=field)
    if len(value) > max_len:
        raise ValidationError(
            f"{field} is too long ({len(value)} > {max_len} characters)", field=field
        )
    return value


# RFC 5322 dot-atom of plain ASCII: the local part of nearly every real address.
SIMPLE_LOCAL_RE = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)


@lru_cache(maxsize=65_536)
def _normalized_domain(domain: str) -> str:
    """The domain as email-validator normalises it (raises for bad or reserved names).

    Cached: lists repeat domains (one company, many people; the big webmail hosts), and
    domain validation is most of email-validator's cost.
    """
    return validate_email("x@" + domain, check_deliverability=False).domain


def normalize_email(value: str) -> tuple[str, str]:
    """Validate an address's syntax (no DNS) and return (display form, dedupe key).

    email-validator decides; the only shortcut is a per-domain cache for addresses whose
    local part is a plain ASCII dot-atom, which the library accepts unchanged.

    Raises:
        ValidationError: the address is not a valid email address.
    """
    raw = value.strip()
    check_single_line("email", raw, max_len=320)
    local, at, domain = raw.rpartition("@")
    try:
        if at and len(local) <= 64 and len(raw) <= 254 and SIMPLE_LOCAL_RE.fullmatch(local):
            normalized = f"{local}@{_normalized_domain(domain)}"
        else:
            normalized = validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise ValidationError(f"invalid email {raw!r}: {err}", field="email") from err
    return normalized, normalized.lower()


_LINKEDIN_HOST_RE = re.compile(r"^(?:[a-z]{2,3}\.|www\.|m\.)?linkedin\.com$")


def normalize_linkedin_url(value: str) -> tuple[str, str]:
    """Return (canonical URL, dedupe key) for a LinkedIn member profile reference.

    Accepts full URLs (any country subdomain, tracking query, trailing slash),
    scheme-less URLs, ``/in/vanity`` paths, and Sales Navigator lead URLs.

    Raises:
        ValidationError: the value is not a LinkedIn profile reference.
    """
    raw = value.strip()
    check_single_line("linkedin_url", raw, max_len=1000)
    if not raw:
        raise ValidationError("empty LinkedIn URL", field="linkedin_url")
    candidate = raw
    if candidate.startswith("/"):
        candidate = "linkedin.com" + candidate
    if "://" not in candidate:
        candidate = "https://" + candidate
    parts = urlsplit(candidate)
    host = (parts.hostname or "").lower()
    if not _LINKEDIN_HOST_RE.match(host):
        raise ValidationError(f"not a LinkedIn URL: {raw!r}", field="linkedin_url")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if len(segments) >= 2 and segments[0].lower() in {"in", "pub"}:
        if segments[0].lower() == "in":
            vanity = segments[1]
            key_id = vanity.lower()
            return f"https://www.linkedin.com/in/{vanity}", f"in:{key_id}"
        rest = "/".join(segments[1:])
        return f"https://www.linkedin.com/pub/{rest}", f"pub:{rest.lower()}"
    if (
        len(segments) >= 3
        and segments[0].lower() == "sales"
        and segments[1].lower()
        in {
            "lead",
            "people",
        }
    ):
        lead_id = segments[2].split(",")[0]
        return f"https://www.linkedin.com/sales/lead/{lead_id}", f"sales:{lead_id.lower()}"
    raise ValidationError(
        f"not a LinkedIn profile URL (expected linkedin.com/in/…): {raw!r}", field="linkedin_url"
    )


@lru_cache(maxsize=65_536)
def normalize_website(value: str) -> str:
    """Return an https URL (scheme added when missing, host lower-cased)."""
    raw = value.strip()
    check_single_line("website", raw, max_len=2000)
    if any(c.isspace() for c in raw):
        raise ValidationError(f"not a web address: {raw!r}", field="website")
    candidate = raw if "://" in raw else "https://" + raw
    parts = urlsplit(candidate)
    if (
        parts.scheme.lower() not in {"http", "https"}
        or not parts.hostname
        or "." not in parts.hostname
    ):
        raise ValidationError(f"not a web address: {raw!r}", field="website")
    netloc = parts.netloc.lower()
    path = parts.path or ""
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{netloc}{path}{query}"


_SIZE_RANGE_RE = re.compile(r"^(\d[\d,.\s]*)\s*(?:-|–|to)\s*(\d[\d,.\s]*)")
_SIZE_NUM_RE = re.compile(r"^(\d[\d,.\s]*)\s*([kKmM])?\s*\+?")


def _to_int(text: str) -> int:
    digits = re.sub(r"[,.\s]", "", text)
    return int(digits)


def parse_company_size(value: str) -> int:
    """Employee count from ``250``, ``1,000``, ``51-200`` (lower bound), ``10001+`` or ``5K``.

    Raises:
        ValidationError: no number could be read.
    """
    raw = value.strip()
    m = _SIZE_RANGE_RE.match(raw)
    if m:
        return _to_int(m.group(1))
    m = _SIZE_NUM_RE.match(raw)
    if m:
        base = _to_int(m.group(1))
        unit = (m.group(2) or "").lower()
        return base * (1000 if unit == "k" else 1_000_000 if unit == "m" else 1)
    raise ValidationError(f"company size {raw!r} is not a number or range", field="company_size")


def parse_deal_value(value: str) -> Decimal:
    """A money amount from ``12000``, ``12,000.50``, ``$12,000`` or ``€ 12.000,50``."""
    raw = value.strip()
    cleaned = re.sub(r"[^\d,.\-]", "", raw)
    if not cleaned or not any(ch.isdigit() for ch in cleaned):
        raise ValidationError(f"deal value {raw!r} is not an amount", field="deal_value")
    if "," in cleaned and "." in cleaned:
        if cleaned.rfind(",") > cleaned.rfind("."):
            cleaned = cleaned.replace(".", "").replace(",", ".")
        else:
            cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        head, _, tail = cleaned.rpartition(",")
        cleaned = f"{head.replace(',', '')}.{tail}" if len(tail) != 3 else cleaned.replace(",", "")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation as err:
        raise ValidationError(f"deal value {raw!r} is not an amount", field="deal_value") from err
    if amount < 0:
        raise ValidationError(f"deal value {raw!r} is negative", field="deal_value")
    return amount.quantize(Decimal("0.01"))


def parse_timezone(value: str) -> str:
    raw = value.strip()
    try:
        ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValidationError(
            f"unknown time zone {raw!r} (use an IANA name)", field="timezone"
        ) from err
    return raw


_STAGE_SYNONYMS: dict[str, LeadStage] = {
    "new": LeadStage.NEW,
    "open": LeadStage.NEW,
    "lead": LeadStage.NEW,
    "subscriber": LeadStage.NEW,
    "contacted": LeadStage.CONTACTED,
    "attempted to contact": LeadStage.CONTACTED,
    "attempted": LeadStage.CONTACTED,
    "engaged": LeadStage.ENGAGED,
    "connected": LeadStage.ENGAGED,
    "in progress": LeadStage.ENGAGED,
    "replied": LeadStage.ENGAGED,
    "qualified": LeadStage.QUALIFIED,
    "marketing qualified lead": LeadStage.QUALIFIED,
    "sales qualified lead": LeadStage.QUALIFIED,
    "opportunity": LeadStage.QUALIFIED,
    "open deal": LeadStage.QUALIFIED,
    "meeting": LeadStage.MEETING,
    "meeting booked": LeadStage.MEETING,
    "meeting scheduled": LeadStage.MEETING,
    "won": LeadStage.WON,
    "closed won": LeadStage.WON,
    "customer": LeadStage.WON,
    "lost": LeadStage.LOST,
    "closed lost": LeadStage.LOST,
    "unqualified": LeadStage.LOST,
}


def parse_stage(value: str) -> LeadStage:
    """A stage from our names or the usual CRM words (HubSpot lead status, lifecycle)."""
    key = re.sub(r"[^a-z]+", " ", value.strip().lower()).strip()
    if not key:
        raise ValidationError("empty stage", field="stage")
    if key.upper().replace(" ", "_") in LeadStage.__members__:
        return LeadStage[key.upper().replace(" ", "_")]
    try:
        return _STAGE_SYNONYMS[key]
    except KeyError:
        names = ", ".join(s.value for s in LeadStage)
        raise ValidationError(
            f"unknown stage {value.strip()!r} (one of {names})", field="stage"
        ) from None


def split_tags(value: str) -> list[str]:
    """Tags from ``a, b; c | d``: trimmed, de-duplicated case-insensitively, order kept."""
    seen: set[str] = set()
    tags: list[str] = []
    for part in re.split(r"[,;|]", value):
        tag = " ".join(part.split())
        if not tag:
            continue
        check_single_line("tag", tag, max_len=100)
        if tag.lower() not in seen:
            seen.add(tag.lower())
            tags.append(tag)
    return tags


def split_full_name(value: str) -> tuple[str, str]:
    """("Jane", "van Dyke") from "Jane van Dyke"; ("John", "Doe") from "Doe, John"."""
    name = " ".join(unicodedata.normalize("NFC", value).split())
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip(), last.strip()
    first, _, last = name.partition(" ")
    return first, last


def email_domain(email_key: str) -> str:
    return email_key.rpartition("@")[2]


#: How a text value of each kind is read; a bad value raises ValidationError.
VALUE_PARSERS: dict[Kind, Callable[[str], str | int | Decimal]] = {
    Kind.URL: normalize_website,
    Kind.COUNT: parse_company_size,
    Kind.MONEY: parse_deal_value,
    Kind.TIMEZONE: parse_timezone,
    Kind.STAGE: lambda value: parse_stage(value).value,
}
#: How an identity is read: (display form, dedupe key).
IDENTITY_PARSERS: dict[Kind, Callable[[str], tuple[str, str]]] = {
    Kind.EMAIL: normalize_email,
    Kind.LINKEDIN: normalize_linkedin_url,
}


def normalize_lead_fields(changes: dict[str, object]) -> dict[str, object]:
    """Validate and normalise fields given through the API (strict: no warnings).

    ``None`` or "" clears a field (except identity fields, which cannot all be cleared
    here: the caller checks that a lead keeps an email or a LinkedIn URL). Returns the
    column values, including ``email_key`` / ``linkedin_key`` when identity changes.

    Raises:
        ValidationError: unknown field or bad value; ``field`` names it.
    """
    out: dict[str, object] = {}
    for name, value in changes.items():
        spec = BY_NAME.get(name)
        if spec is None or name not in EDITABLE_FIELDS:
            raise ValidationError(
                f"unknown lead field {name!r}; editable: {', '.join(EDITABLE_FIELDS)}",
                field=name,
            )
        kind = spec.kind
        if value is None or (isinstance(value, str) and not value.strip()):
            if kind is Kind.STAGE:
                raise ValidationError("stage cannot be empty", field=name)
            out[name] = {} if kind is Kind.CUSTOM else None
            if spec.key:
                out[spec.key] = None
            continue
        if kind is Kind.CUSTOM:
            if not isinstance(value, dict):
                raise ValidationError("custom_fields must be a mapping", field=name)
            out[name] = {str(k): v for k, v in value.items()}
            continue
        if kind is Kind.COUNT and isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                raise ValidationError(f"{name} must not be negative", field=name)
            out[name] = value
            continue
        if (
            kind is Kind.MONEY
            and isinstance(value, int | float | Decimal)
            and not isinstance(value, bool)
        ):
            out[name] = parse_deal_value(str(value))
            continue
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be text, got {type(value).__name__}", field=name)
        if spec.key:
            out[name], out[spec.key] = IDENTITY_PARSERS[kind](value)
        elif kind in VALUE_PARSERS:
            out[name] = VALUE_PARSERS[kind](value)
        else:
            out[name] = check_single_line(name, value.strip())
    return out
