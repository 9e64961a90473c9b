"""SendGrid Event Webhook (``source="sendgrid"``): verify the signature, map to events. Pure.

The Message-ID is ``smtp-id``. "Status table" below is the bounce severity table of
:mod:`aicmo.cam.inbound.webhooks.common`, shared with SES:

=======================  ==============================================================
``event``                event
=======================  ==============================================================
``processed``            none (skipped): SendGrid accepted it; we logged MESSAGE_SENT
``deferred``             none (skipped): SendGrid is retrying; ``bounce`` or
                         ``delivered`` follows (after 72 h SendGrid gives up and bounces)
``delivered``            MESSAGE_DELIVERED
``bounce`` type=bounce   status table, else BOUNCED_HARD
``bounce`` type=blocked  status table, else BOUNCED_SOFT (blocks are mostly about
                         the sending IP or content, not the address)
``dropped``              by ``reason``, see ``SENDGRID_DROP_REASONS``: Bounced Address,
                         Invalid → BOUNCED_HARD; Unsubscribed Address → UNSUBSCRIBED; Spam
                         Reporting Address → COMPLAINED; any other reason (Spam Content,
                         Invalid SMTPAPI header, over quota) → MESSAGE_FAILED
``open``                 MESSAGE_OPENED (``detail["machine_open"]`` when SendGrid says so)
``click``                MESSAGE_CLICKED (``detail["url"]``)
``spamreport``           COMPLAINED
``unsubscribe``          UNSUBSCRIBED
``group_unsubscribe``    UNSUBSCRIBED (``detail["asm_group_id"]``)
``group_resubscribe``    UNKNOWN: a webhook never lifts a suppression; a human decides
anything else            UNKNOWN, raw kept
=======================  ==============================================================

Verification: ECDSA P-256 with SHA-256 over the timestamp header followed by the body.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.inbound.result import email_event
from aicmo.cam.inbound.text import clean_line
from aicmo.cam.inbound.webhooks.common import (
    WebhookResult,
    WebhookSignatureError,
    b64decode,
    bounce_event,
    bracketed_message_id,
    clicked_reason,
    delivered_reason,
    email_address,
    json_text,
    load_json,
    pick_detail,
    raw_json,
    require_aware,
    unix_time,
)
from aicmo.errors import ConfigurationError, ValidationError

__all__ = [
    "SENDGRID_BOUNCE_TYPES",
    "SENDGRID_DROP_REASONS",
    "SENDGRID_EVENTS",
    "SENDGRID_SIGNATURE_HEADER",
    "SENDGRID_TIMESTAMP_HEADER",
    "parse_sendgrid",
    "sendgrid_signature_headers",
]

SENDGRID_SIGNATURE_HEADER: Final = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER: Final = "X-Twilio-Email-Event-Webhook-Timestamp"
_SENDGRID_TS_RE = re.compile(r"[0-9]{1,12}")
_PEM_ARMOUR_RE = re.compile(r"-----(?:BEGIN|END) PUBLIC KEY-----")

#: SendGrid ``event`` → our event. ``None`` means "no event" (see the module docstring);
#: ``bounce`` and ``dropped`` need more than the name and are decided by functions.
SENDGRID_EVENTS: dict[str, EventType | None] = {
    "processed": None,
    "deferred": None,
    "delivered": EventType.MESSAGE_DELIVERED,
    "open": EventType.MESSAGE_OPENED,
    "click": EventType.MESSAGE_CLICKED,
    "spamreport": EventType.COMPLAINED,
    "unsubscribe": EventType.UNSUBSCRIBED,
    "group_unsubscribe": EventType.UNSUBSCRIBED,
    "group_resubscribe": EventType.UNKNOWN,
}

#: SendGrid ``dropped`` ``reason`` (lower-cased) → our event; other reasons → MESSAGE_FAILED.
#: A drop for a suppressed address repeats the fact that suppressed it.
SENDGRID_DROP_REASONS: dict[str, EventType] = {
    "bounced address": EventType.BOUNCED_HARD,
    "invalid": EventType.BOUNCED_HARD,
    "invalid address": EventType.BOUNCED_HARD,
    "unsubscribed address": EventType.UNSUBSCRIBED,
    "spam reporting address": EventType.COMPLAINED,
}

#: SendGrid event fields copied into the event detail, under these names.
_SENDGRID_DETAIL_FIELDS: dict[str, str] = {
    "sg_event_id": "event_id",
    "sg_message_id": "provider_message_id",
    "status": "status",
    "type": "bounce_type",
    "bounce_classification": "bounce_classification",
    "response": "smtp_response",
    "attempt": "attempt",
    "url": "url",
    "asm_group_id": "asm_group_id",
    "sg_machine_open": "machine_open",
}

#: SendGrid bounce ``type`` → the event when the status code does not decide.
SENDGRID_BOUNCE_TYPES: dict[str, EventType] = {
    "bounce": EventType.BOUNCED_HARD,
    "blocked": EventType.BOUNCED_SOFT,
}


def parse_sendgrid(
    body: bytes,
    headers: Mapping[str, str],
    *,
    public_key_b64: str,
    now: datetime,
    tolerance: timedelta = timedelta(minutes=10),
) -> WebhookResult:
    """Verify and map one SendGrid Event Webhook POST.

    Args:
        body: the raw request body, exactly as received (the signature covers its bytes).
        headers: the request headers; names are matched case-insensitively.
        public_key_b64: the verification key from SendGrid's Mail Settings, base64 DER
            (SubjectPublicKeyInfo); PEM armour around it is tolerated.
        now: the current time (aware).
        tolerance: how far the signed timestamp may be from ``now``, either way.

    Returns:
        The mapped events, in the order SendGrid sent them.

    Raises:
        WebhookSignatureError: missing, garbled, stale or wrong signature.
        ValidationError: the verified body is not a JSON array of objects.
        ConfigurationError: ``public_key_b64`` is not an EC P-256 public key.
    """
    require_aware(now)
    key = _sendgrid_key(public_key_b64)
    signature_b64, timestamp = sendgrid_signature_headers(headers, now=now, tolerance=tolerance)
    signature = b64decode(signature_b64, what=SENDGRID_SIGNATURE_HEADER)
    try:
        key.verify(signature, timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise WebhookSignatureError("SendGrid signature does not match the body") from None

    document = load_json(body, what="SendGrid webhook body")
    if not isinstance(document, list):
        raise ValidationError("SendGrid webhook body is not a JSON array", field="body")
    events: list[tuple[OutreachEvent, str | None]] = []
    skipped: list[str] = []
    for index, item in enumerate(document):
        if not isinstance(item, dict):
            raise ValidationError(
                f"SendGrid webhook body item {index} is not an object", field=f"[{index}]"
            )
        mapped = _sendgrid_event(item, now)
        if mapped is None:
            skipped.append(clean_line(str(item.get("event")), max_len=100))
        else:
            events.append(mapped)
    return WebhookResult(provider="sendgrid", events=tuple(events), skipped=tuple(skipped))


def sendgrid_signature_headers(
    headers: Mapping[str, str], *, now: datetime, tolerance: timedelta = timedelta(minutes=10)
) -> tuple[str, str]:
    """The signature and timestamp headers, present, well-formed and fresh; checked on
    their own too, before the body is read, so a request that cannot be SendGrid's is
    refused without reading its body.

    Raises:
        WebhookSignatureError: a header missing, not a Unix time, or outside ``tolerance``.
    """
    require_aware(now)
    lowered = {str(name).lower(): value for name, value in headers.items()}
    signature_b64 = lowered.get(SENDGRID_SIGNATURE_HEADER.lower())
    timestamp = lowered.get(SENDGRID_TIMESTAMP_HEADER.lower())
    if not signature_b64:
        raise WebhookSignatureError(f"missing {SENDGRID_SIGNATURE_HEADER} header")
    if not timestamp:
        raise WebhookSignatureError(f"missing {SENDGRID_TIMESTAMP_HEADER} header")
    timestamp = timestamp.strip()
    if not _SENDGRID_TS_RE.fullmatch(timestamp):
        raise WebhookSignatureError(f"{SENDGRID_TIMESTAMP_HEADER} is not a Unix time")
    # Compared as numbers, never turned into a datetime: twelve digits reach past the year
    # 9999, where ``datetime.fromtimestamp`` raises instead of saying "too far off".
    if abs(int(timestamp) - now.timestamp()) > tolerance.total_seconds():
        raise WebhookSignatureError("SendGrid signature timestamp is outside the accepted window")
    return signature_b64, timestamp


def _sendgrid_key(public_key_b64: str) -> ec.EllipticCurvePublicKey:
    text = "".join(_PEM_ARMOUR_RE.sub("", public_key_b64).split())
    try:
        key = serialization.load_der_public_key(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as err:
        raise ConfigurationError(
            "the SendGrid verification key is not a base64 DER public key"
        ) from err
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigurationError("the SendGrid verification key is not an EC P-256 key")
    return key


def _sendgrid_event(item: dict[str, Any], now: datetime) -> tuple[OutreachEvent, str | None] | None:
    name = item.get("event")
    occurred_at = unix_time(item.get("timestamp"))
    recipient = email_address(item.get("email"))
    message_id = bracketed_message_id(item.get("smtp-id"))
    detail = pick_detail(item, _SENDGRID_DETAIL_FIELDS)
    raw = raw_json(item)
    reason_text = json_text(item.get("reason"))

    def event(event_type: EventType, reason: str) -> tuple[OutreachEvent, str | None]:
        built = email_event(
            event_type,
            occurred_at=occurred_at or now,
            source="sendgrid",
            recipient=recipient,
            reason=reason,
            detail=detail,
            raw=raw,
        )
        return built, message_id

    def unknown(reason: str) -> tuple[OutreachEvent, str | None]:
        if isinstance(name, str):
            detail["provider_event"] = clean_line(name, max_len=100)
        return event(EventType.UNKNOWN, reason)

    if not isinstance(name, str):
        return unknown("SendGrid event without an event name")
    detail["provider_event"] = clean_line(name, max_len=100)
    if name == "bounce":
        bounce_type = json_text(item.get("type")) or "bounce"
        fallback = SENDGRID_BOUNCE_TYPES.get(bounce_type.lower(), EventType.BOUNCED_HARD)
        event_type = bounce_event(
            item.get("status"), reason_text, fallback=fallback, status_may="any", detail=detail
        )
        reason = reason_text or f"SendGrid {bounce_type}"
    elif name == "dropped":
        event_type = SENDGRID_DROP_REASONS.get(
            (reason_text or "").lower(), EventType.MESSAGE_FAILED
        )
        detail["dropped"] = True
        reason = f"dropped by SendGrid: {reason_text or 'no reason given'}"
    elif name in SENDGRID_EVENTS:
        mapped = SENDGRID_EVENTS[name]
        if mapped is None:
            return None
        event_type = mapped
        reason = _sendgrid_reason(name, item)
    else:
        return unknown(f"unrecognised SendGrid event {clean_line(name, max_len=100)!r}")
    if event_type is EventType.UNKNOWN:
        return unknown(f"SendGrid {clean_line(name, max_len=100)} is left to a human")
    if recipient is None:
        return unknown(f"SendGrid {clean_line(name, max_len=100)} event without an email")
    if occurred_at is None:
        return unknown(f"SendGrid {clean_line(name, max_len=100)} event without a timestamp")
    return event(event_type, reason)


def _sendgrid_reason(name: str, item: dict[str, Any]) -> str:
    if name == "delivered":
        return delivered_reason(json_text(item.get("response")))
    if name == "click":
        return clicked_reason(json_text(item.get("url")))
    return {
        "open": "opened",
        "spamreport": "marked as spam",
        "unsubscribe": "unsubscribed",
        "group_unsubscribe": "unsubscribed from a group",
    }.get(name, name)
