"""What the provider webhooks share: the result, the signature error, bounce severity, and
strict readers for the JSON they send. Pure: no I/O.

Bounce severity from the enhanced status code (:func:`bounce_event`), shared by both
providers. The generic ``x.0.0`` says nothing, so the SMTP reply text is searched for a
better code first, then the provider's own classification decides:

=====================================  ============  ==========================================
status                                 event         why
=====================================  ============  ==========================================
``5.x.x`` (e.g. ``5.1.1``, ``5.2.1``)  BOUNCED_HARD  the address is gone
``5.2.2`` ``5.2.3`` ``5.3.1``          BOUNCED_SOFT  mailbox full / message too big: see
``5.3.4``                                            :mod:`aicmo.cam.inbound.status`
``5.7.x`` (policy)                     BOUNCED_SOFT  spam filter, reputation, SPF/DKIM: the
                                                     address may be fine, the fix is ours;
                                                     ``detail["policy"] = True``. Unlike the
                                                     IMAP DSN path (hard + policy): repeats
                                                     are capped by the soft-bounce limit, and
                                                     the ESP's own suppression list reports
                                                     later sends as ``dropped`` → HARD.
``4.x.x``                              BOUNCED_SOFT  transient
absent, ``x.0.0``, ``2.x.x``           (provider)    the provider's classification decides
=====================================  ============  ==========================================
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any, Final, Literal

from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.inbound.dsn import extract_status
from aicmo.cam.inbound.status import Severity as _Severity
from aicmo.cam.inbound.status import is_policy, normalize_status, status_severity
from aicmo.cam.inbound.text import clean_line, sanitize
from aicmo.errors import ValidationError

__all__ = [
    "MAX_JSON_DEPTH",
    "RAW_LIMIT",
    "StatusPower",
    "WebhookResult",
    "WebhookSignatureError",
    "b64decode",
    "bounce_event",
    "bracketed_message_id",
    "check_fresh",
    "clicked_reason",
    "delivered_reason",
    "email_address",
    "email_addresses",
    "iso_time",
    "json_text",
    "load_json",
    "pick_detail",
    "raw_json",
    "require_aware",
    "text_fields",
    "truncate",
    "unix_time",
]

#: How much of one event's JSON ``raw`` keeps (bytes of UTF-8).
RAW_LIMIT: Final = 16 * 1024
#: Deeper JSON than this is refused before anything walks it (no recursion blow-ups).
MAX_JSON_DEPTH: Final = 32


class WebhookSignatureError(ValidationError):
    """The webhook's signature is missing, invalid or stale."""


@dataclass(frozen=True, slots=True)
class WebhookResult:
    """What one webhook request said.

    ``events`` pairs each event with the Message-ID of our attempt it concerns (angle
    brackets included, as stored in ``rfc_message_id``), or ``None`` when the provider
    did not say. ``subscribe_url`` is set for an SNS SubscriptionConfirmation only.
    ``skipped`` names the provider events deliberately turned into no event (``deferred``,
    ``processed``, ``Send``, ``DeliveryDelay``, ``UnsubscribeConfirmation``), for logs.
    """

    provider: str
    events: tuple[tuple[OutreachEvent, str | None], ...]
    subscribe_url: str | None = None
    skipped: tuple[str, ...] = ()


#: How far a bounce's status code may overrule the provider's classification.
StatusPower = Literal["any", "soften", "never"]


def _status_verdict(status: str | None) -> EventType | None:
    """The bounce event a normalised enhanced status implies, or ``None`` if it does not."""
    if status is None or status[0] == "2" or status.endswith(".0.0"):
        return None
    if status[0] == "5" and is_policy(status):
        return EventType.BOUNCED_SOFT
    if status_severity(status) is _Severity.HARD:
        return EventType.BOUNCED_HARD
    return EventType.BOUNCED_SOFT


def bounce_event(
    status_field: object,
    text: str | None,
    *,
    fallback: EventType,
    status_may: StatusPower,
    detail: dict[str, Any],
) -> EventType:
    """Hard or soft, per the status table of this module's docstring.

    A generic ``x.0.0`` (or no status) defers to an enhanced code in the SMTP reply text,
    then to ``fallback``. ``status_may`` says how far the status may overrule ``fallback``.
    """
    status = normalize_status(status_field) if isinstance(status_field, str) else None
    if (status is None or status.endswith(".0.0")) and text:
        found = extract_status(text)
        if found is not None and found.status and not found.status.endswith(".0.0"):
            status = found.status
            detail["status_from_text"] = status
    if status is not None and status[0] == "5" and is_policy(status):
        detail["policy"] = True
    verdict = _status_verdict(status)
    if verdict is None or status_may == "never":
        return fallback
    if status_may == "soften" and verdict is EventType.BOUNCED_HARD:
        return fallback
    return verdict


def require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


def check_fresh(signed_at: datetime, now: datetime, tolerance: timedelta, *, what: str) -> None:
    if abs(now - signed_at) > tolerance:
        raise WebhookSignatureError(f"{what} is outside the accepted window")


def b64decode(value: str, *, what: str) -> bytes:
    try:
        decoded = base64.b64decode("".join(value.split()), validate=True)
    except (ValueError, binascii.Error):
        raise WebhookSignatureError(f"{what} is not valid base64") from None
    if not decoded:
        raise WebhookSignatureError(f"{what} is empty")
    return decoded


def load_json(body: bytes, *, what: str) -> Any:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationError(f"{what} is not UTF-8", field="body") from None
    if not text.strip():
        raise ValidationError(f"{what} is empty", field="body")
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        raise ValidationError(f"{what} is not JSON", field="body") from None
    if not _depth_within(document, MAX_JSON_DEPTH):
        raise ValidationError(f"{what} is nested too deeply", field="body")
    return document


def _depth_within(document: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            if depth > limit:
                return False
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, depth + 1) for child in children)
    return True


def raw_json(item: Any) -> str:
    return truncate(sanitize(json.dumps(item, ensure_ascii=False)))


def truncate(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= RAW_LIMIT:
        return text
    return data[:RAW_LIMIT].decode("utf-8", "ignore")


def json_text(value: object, *, max_len: int = 1000) -> str | None:
    """A clean one-line string from a JSON scalar, or ``None``."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value) if abs(value) < 10**18 else None
    if isinstance(value, float):
        return str(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    return clean_line(value, max_len=max_len) or None


def pick_detail(item: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    for key, name in fields.items():
        value = item.get(key)
        if isinstance(value, bool) or (isinstance(value, int) and abs(value) < 2**53):
            detail[name] = value
        elif value is not None and (text := json_text(value)):
            detail[name] = text
    return detail


def email_address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = clean_line(value, max_len=320)
    if "<" in text:
        text = parseaddr(text)[1] or text
    text = text.strip().lower()
    return text or None


def email_addresses(value: object) -> list[str]:
    found: list[str] = []
    for entry in value if isinstance(value, list) else []:
        address = email_address(entry)
        if address and address not in found:
            found.append(address)
    return found


def bracketed_message_id(value: object) -> str | None:
    """``<id@host>`` from a Message-ID field, brackets added when a provider drops them."""
    if not isinstance(value, str):
        return None
    text = clean_line(value, max_len=498).strip()
    if not text or " " in text:
        return None
    if not text.startswith("<"):
        text = "<" + text
    if not text.endswith(">"):
        text += ">"
    return text if len(text) > 2 else None


def unix_time(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def iso_time(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def delivered_reason(response: str | None) -> str:
    """The reason of a delivery event, with the receiving server's reply when known."""
    return f"delivered: {response}" if response else "delivered"


def clicked_reason(url: str | None) -> str:
    """The reason of a click event, with the link when known."""
    return f"clicked {url}" if url else "clicked a link"


def text_fields(body: dict[str, Any], fields: Iterable[tuple[str, str]]) -> dict[str, str]:
    """``{our name: clean text}`` for each ``(provider key, our name)`` whose value is text."""
    found: dict[str, str] = {}
    for key, name in fields:
        value = json_text(body.get(key))
        if value:
            found[name] = value
    return found
