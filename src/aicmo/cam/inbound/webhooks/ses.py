"""Amazon SES through SNS (``source="ses"``): verify the SNS signature, map to events. Pure.

The Message-ID is the ``Message-ID`` in ``mail.headers``, else
``mail.commonHeaders.messageId``. SES notifications (``notificationType``) and
configuration-set events (``eventType``) read alike. "Status table" below is the bounce
severity table of :mod:`aicmo.cam.inbound.webhooks.common`, shared with SendGrid:

========================  ===================================================================
SES type                  event (one per recipient)
========================  ===================================================================
``Bounce`` Permanent      BOUNCED_HARD, unless the recipient's status softens it (status table)
``Bounce`` Transient      BOUNCED_SOFT (SES says the address may work later; never upgraded)
``Bounce`` Undetermined   status table, else BOUNCED_SOFT
``Complaint``             by ``complaintFeedbackType`` as in :mod:`aicmo.cam.inbound.arf`:
                          absent, abuse, fraud, other → COMPLAINED; opt-out → UNSUBSCRIBED;
                          not-spam, virus, auth-failure → UNKNOWN
``Delivery``              MESSAGE_DELIVERED
``Open`` / ``Click``      MESSAGE_OPENED / MESSAGE_CLICKED (``detail["url"]``)
``Reject``                MESSAGE_FAILED (SES refused it, e.g. a virus)
``Rendering Failure``     MESSAGE_FAILED (template error)
``Subscription``          UNSUBSCRIBED when ``unsubscribeAll`` became true, else UNKNOWN
``Send``                  none (skipped), as SendGrid's ``processed``
``DeliveryDelay``         none (skipped), as SendGrid's ``deferred``
anything else             UNKNOWN, raw kept (also a verified SNS message that is not SES JSON)
========================  ===================================================================

SNS envelopes: ``SubscriptionConfirmation`` gives no event and ``subscribe_url`` (this module
never visits it; the caller decides), ``UnsubscribeConfirmation`` gives nothing. Turn off
SNS "raw message delivery": raw messages carry no signature and are refused.

SNS verification follows the AWS guide "Verifying the signatures of Amazon SNS messages":
the canonical string is ``Key\\nValue\\n`` for Message, MessageId, Subject (if present),
Timestamp, TopicArn, Type (Notification) or Message, MessageId, SubscribeURL, Timestamp,
Token, TopicArn, Type (the two confirmations); RSA PKCS#1 v1.5 with SHA-1
(``SignatureVersion`` 1) or SHA-256 (2). The certificate is only fetched from
``https://sns.<region>.amazonaws.com[.cn]/….pem``; its trust rests on that TLS fetch, so
``fetch_cert`` must verify TLS and must not follow redirects to another host.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from aicmo.cam.domain.events import EventType
from aicmo.cam.inbound.arf import FEEDBACK_EVENTS
from aicmo.cam.inbound.result import email_event
from aicmo.cam.inbound.text import clean_line, sanitize
from aicmo.cam.inbound.webhooks.common import (
    StatusPower,
    WebhookResult,
    WebhookSignatureError,
    b64decode,
    bounce_event,
    bracketed_message_id,
    check_fresh,
    clicked_reason,
    delivered_reason,
    email_address,
    email_addresses,
    iso_time,
    json_text,
    load_json,
    require_aware,
    text_fields,
    truncate,
)
from aicmo.errors import ValidationError

__all__ = [
    "SES_BOUNCE_TYPES",
    "SES_EVENTS",
    "is_sns_url",
    "parse_ses_sns",
    "ses_notification_events",
]

#: SES ``bounceType`` → (event when the status does not decide, how far the status may
#: overrule it). Permanent is only ever softened (mailbox full, policy); Transient stays
#: soft: SES itself says the address may work later.
SES_BOUNCE_TYPES: dict[str, tuple[EventType, StatusPower]] = {
    "Permanent": (EventType.BOUNCED_HARD, "soften"),
    "Transient": (EventType.BOUNCED_SOFT, "never"),
    "Undetermined": (EventType.BOUNCED_SOFT, "any"),
}

#: SES ``notificationType``/``eventType`` → our event; ``None`` means "no event".
#: ``Bounce``, ``Complaint`` and ``Subscription`` are decided by functions.
SES_EVENTS: dict[str, EventType | None] = {
    "Send": None,
    "DeliveryDelay": None,
    "Delivery": EventType.MESSAGE_DELIVERED,
    "Open": EventType.MESSAGE_OPENED,
    "Click": EventType.MESSAGE_CLICKED,
    "Reject": EventType.MESSAGE_FAILED,
    "Rendering Failure": EventType.MESSAGE_FAILED,
}

#: The object inside an SES notification that holds the details of each type.
_SES_TYPE_KEYS: dict[str, str] = {
    "Bounce": "bounce",
    "Complaint": "complaint",
    "Delivery": "delivery",
    "Send": "send",
    "Reject": "reject",
    "Open": "open",
    "Click": "click",
    "Rendering Failure": "failure",
    "DeliveryDelay": "deliveryDelay",
    "Subscription": "subscription",
}

#: The signed fields of each SNS message type, in the order the canonical string lists them.
_SNS_CONFIRMATION_FIELDS = (
    "Message",
    "MessageId",
    "SubscribeURL",
    "Timestamp",
    "Token",
    "TopicArn",
    "Type",
)
_SNS_CANONICAL_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": _SNS_CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": _SNS_CONFIRMATION_FIELDS,
}
_SNS_OPTIONAL_FIELDS = frozenset({"Subject"})
_SNS_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1": hashes.SHA1,
    "2": hashes.SHA256,
}
# sns.us-east-1.amazonaws.com, sns.us-gov-west-1.amazonaws.com, sns.cn-north-1.amazonaws.com.cn
_SNS_HOST_RE = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com(?:\.cn)?")
_UNSAFE_URL_CHARS_RE = re.compile(r"[^\x21-\x7e]|\\")


def parse_ses_sns(
    body: bytes,
    *,
    fetch_cert: Callable[[str], bytes],
    now: datetime,
    allowed_topics: frozenset[str] | None = None,
    tolerance: timedelta = timedelta(hours=1),
) -> WebhookResult:
    """Verify and map one Amazon SNS HTTP(S) POST carrying SES notifications.

    Cheap checks come first, so ``fetch_cert`` is only called for a well-formed, fresh
    message from an allowed topic whose ``SigningCertURL`` is an SNS host.

    Args:
        body: the raw request body.
        fetch_cert: returns the PEM (or DER) certificate at a URL; the only way this
            module reaches the network. Called at most once, with ``SigningCertURL``.
        now: the current time (aware).
        allowed_topics: TopicArns to accept; ``None`` accepts any.
        tolerance: how far the SNS ``Timestamp`` may be from ``now``, either way.

    Returns:
        The mapped events, or for a SubscriptionConfirmation none and ``subscribe_url``.

    Raises:
        WebhookSignatureError: missing, garbled, stale or wrong signature; a signing
            certificate URL that is not an SNS host; a certificate out of its validity;
            a topic not in ``allowed_topics``.
        ValidationError: the body is not an SNS message.
    """
    require_aware(now)
    envelope = load_json(body, what="SNS message body")
    if not isinstance(envelope, dict):
        raise ValidationError("SNS message body is not a JSON object", field="body")
    kind = envelope.get("Type")
    if not isinstance(kind, str) or kind not in _SNS_CANONICAL_FIELDS:
        raise ValidationError("SNS message has no known Type", field="Type")
    fields = _SNS_CANONICAL_FIELDS[kind]
    for name in fields:
        value = envelope.get(name)
        if name in _SNS_OPTIONAL_FIELDS and value is None:
            continue
        if not isinstance(value, str):
            raise ValidationError(f"SNS {kind} lacks the string field {name}", field=name)
    for name in ("Signature", "SignatureVersion", "SigningCertURL"):
        if not isinstance(envelope.get(name), str) or not envelope[name]:
            raise WebhookSignatureError(f"SNS message lacks {name}")

    topic: str = envelope["TopicArn"]
    if allowed_topics is not None and topic not in allowed_topics:
        raise WebhookSignatureError("SNS topic is not in the allowed topics")
    sent_at = iso_time(envelope["Timestamp"])
    if sent_at is None:
        raise WebhookSignatureError("SNS Timestamp is not an ISO 8601 time with a zone")
    check_fresh(sent_at, now, tolerance, what="SNS Timestamp")
    hash_factory = _SNS_HASHES.get(envelope["SignatureVersion"])
    if hash_factory is None:
        raise WebhookSignatureError("SNS SignatureVersion is neither 1 nor 2")
    signature = b64decode(envelope["Signature"], what="SNS Signature")
    cert_url: str = envelope["SigningCertURL"]
    if not is_sns_url(cert_url, pem=True):
        raise WebhookSignatureError("SNS SigningCertURL is not an https URL on an SNS host")

    public_key = _sns_public_key(fetch_cert(cert_url), now)
    canonical = "".join(
        f"{name}\n{envelope[name]}\n" for name in fields if envelope.get(name) is not None
    )
    try:
        public_key.verify(
            signature,
            canonical.encode("utf-8", "surrogatepass"),
            padding.PKCS1v15(),
            hash_factory(),
        )
    except InvalidSignature:
        raise WebhookSignatureError("SNS signature does not match the message") from None

    if kind == "SubscriptionConfirmation":
        subscribe_url: str = envelope["SubscribeURL"]
        if not is_sns_url(subscribe_url):
            raise ValidationError("SNS SubscribeURL is not an https URL on an SNS host")
        return WebhookResult(provider="ses", events=(), subscribe_url=subscribe_url)
    if kind == "UnsubscribeConfirmation":
        return WebhookResult(provider="ses", events=(), skipped=(kind,))
    return _ses_notification(envelope, sent_at)


def is_sns_url(url: str, *, pem: bool = False) -> bool:
    """Whether ``url`` is ``https://sns.<region>.amazonaws.com[.cn]/…`` and nothing else.

    Refuses look-alikes (``sns.us-east-1.amazonaws.com.evil.example``), user info
    (``…amazonaws.com@evil.example``), other ports, backslashes, spaces and controls (which
    URL parsers silently drop). With ``pem``, the path must name a ``.pem`` file and carry
    no query.
    """
    if not url or _UNSAFE_URL_CHARS_RE.search(url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme != "https" or parts.username is not None or parts.password is not None:
        return False
    if port not in (None, 443) or parts.fragment:
        return False
    host = parts.hostname or ""
    if not _SNS_HOST_RE.fullmatch(host):
        return False
    return not pem or (parts.path.endswith(".pem") and not parts.query)


def _sns_public_key(cert_bytes: object, now: datetime) -> rsa.RSAPublicKey:
    if not isinstance(cert_bytes, bytes | bytearray):
        raise WebhookSignatureError("SNS signing certificate could not be read")
    data = bytes(cert_bytes)
    try:
        if b"-----BEGIN" in data:
            cert = x509.load_pem_x509_certificate(data)
        else:
            cert = x509.load_der_x509_certificate(data)
        public_key = cert.public_key()
        valid_from, valid_until = cert.not_valid_before_utc, cert.not_valid_after_utc
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise WebhookSignatureError("SNS signing certificate could not be read") from err
    if not valid_from <= now <= valid_until:
        raise WebhookSignatureError("SNS signing certificate is not valid now")
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise WebhookSignatureError("SNS signing certificate does not hold an RSA key")
    return public_key


def ses_notification_events(
    message: str, *, event_id: str, topic_arn: str, sent_at: datetime
) -> WebhookResult:
    """Map one SES notification (the JSON an SNS ``Message`` carries) to events.

    For notifications that reached us without a verifiable SNS envelope, e.g. by email:
    the same table as :func:`parse_ses_sns`, so both routes record the same facts.
    """
    envelope = {"Message": message, "MessageId": event_id, "TopicArn": topic_arn}
    return _ses_notification(envelope, sent_at)


def _ses_notification(envelope: dict[str, Any], sent_at: datetime) -> WebhookResult:
    message: str = envelope["Message"]
    raw = truncate(sanitize(message))
    base_detail: dict[str, Any] = {
        "event_id": clean_line(envelope["MessageId"], max_len=200),
        "topic_arn": clean_line(envelope["TopicArn"], max_len=300),
    }
    try:
        notification = load_json(message.encode("utf-8", "surrogatepass"), what="SNS Message")
    except ValidationError:
        notification = None
    if not isinstance(notification, dict):
        return _ses_unknown(
            "SNS notification that is not an SES event", None, base_detail, sent_at, raw
        )
    kind = notification.get("eventType", notification.get("notificationType"))
    mail = notification.get("mail")
    mail = mail if isinstance(mail, dict) else {}
    message_id = _ses_message_id(mail)
    provider_message_id = json_text(mail.get("messageId"), max_len=200)
    if provider_message_id:
        base_detail["provider_message_id"] = provider_message_id
    if not isinstance(kind, str):
        return _ses_unknown(
            "SES notification without a notificationType", message_id, base_detail, sent_at, raw
        )
    base_detail["provider_event"] = clean_line(kind, max_len=100)
    body = notification.get(_SES_TYPE_KEYS.get(kind, ""))
    body = body if isinstance(body, dict) else {}
    occurred_at = iso_time(body.get("timestamp")) or iso_time(mail.get("timestamp")) or sent_at

    if kind in SES_EVENTS and SES_EVENTS[kind] is None:
        return WebhookResult(provider="ses", events=(), skipped=(clean_line(kind),))
    if kind == "Bounce":
        pairs = _ses_bounce(body, base_detail)
    elif kind == "Complaint":
        pairs = _ses_complaint(body, base_detail)
    elif kind == "Subscription":
        pairs = _ses_subscription(body, mail, base_detail)
    elif kind in SES_EVENTS:
        mapped = SES_EVENTS[kind]
        assert mapped is not None  # the None case returned above
        recipients_field = body.get("recipients") if kind == "Delivery" else None
        if recipients_field is None:
            recipients_field = mail.get("destination")
        detail = dict(base_detail)
        detail.update(_ses_detail(kind, body))
        reason = _ses_reason(kind, body)
        pairs = [(r, mapped, reason, detail) for r in email_addresses(recipients_field)]
    else:
        return _ses_unknown(
            f"unrecognised SES event {clean_line(kind, max_len=100)!r}",
            message_id,
            base_detail,
            occurred_at,
            raw,
        )
    if not pairs:
        return _ses_unknown(
            f"SES {clean_line(kind, max_len=100)} without recipients",
            message_id,
            base_detail,
            occurred_at,
            raw,
        )
    events = tuple(
        (
            email_event(
                event_type,
                occurred_at=occurred_at,
                source="ses",
                recipient=recipient,
                reason=reason,
                detail=detail,
                raw=raw,
            ),
            message_id,
        )
        for recipient, event_type, reason, detail in pairs
    )
    return WebhookResult(provider="ses", events=events)


_Pair = tuple[str | None, EventType, str, dict[str, Any]]

#: Complaint fields copied into the event detail, under these names.
_COMPLAINT_FIELDS = (
    ("complaintFeedbackType", "feedback_type"),
    ("complaintSubType", "complaint_subtype"),
    ("userAgent", "user_agent"),
    ("feedbackId", "feedback_id"),
)


def _ses_bounce(body: dict[str, Any], base_detail: dict[str, Any]) -> list[_Pair]:
    bounce_type = json_text(body.get("bounceType")) or "Undetermined"
    fallback, status_may = SES_BOUNCE_TYPES.get(bounce_type, (EventType.BOUNCED_SOFT, "any"))
    subtype = json_text(body.get("bounceSubType"))
    pairs: list[_Pair] = []
    recipients = body.get("bouncedRecipients")
    for entry in recipients if isinstance(recipients, list) else []:
        if not isinstance(entry, dict):
            continue
        recipient = email_address(entry.get("emailAddress"))
        if recipient is None:
            continue
        detail = dict(base_detail)
        detail["bounce_type"] = bounce_type
        if subtype:
            detail["bounce_subtype"] = subtype
        diagnostic = json_text(entry.get("diagnosticCode"))
        if diagnostic:
            detail["diagnostic"] = diagnostic
        detail.update(
            text_fields(body, (("feedbackId", "feedback_id"), ("reportingMTA", "reporting_mta")))
        )
        status = json_text(entry.get("status"))
        if status:
            detail["status"] = status
        event_type = bounce_event(
            status, diagnostic, fallback=fallback, status_may=status_may, detail=detail
        )
        reason = diagnostic or f"SES {bounce_type}/{subtype or 'General'} bounce"
        pairs.append((recipient, event_type, reason, detail))
    return pairs


def _ses_complaint(body: dict[str, Any], base_detail: dict[str, Any]) -> list[_Pair]:
    feedback_type = json_text(body.get("complaintFeedbackType"))
    event_type: EventType = EventType.COMPLAINED
    if feedback_type is not None:
        event_type = FEEDBACK_EVENTS.get(feedback_type.lower(), EventType.COMPLAINED) or (
            EventType.UNKNOWN
        )
        if event_type is EventType.AUTH_FAILURE_REPORTED:
            event_type = EventType.UNKNOWN  # SES relays these rarely; a human reads them
    detail = dict(base_detail)
    detail.update(text_fields(body, _COMPLAINT_FIELDS))
    reason = f"spam complaint ({feedback_type})" if feedback_type else "spam complaint"
    if event_type is EventType.UNKNOWN:
        reason = f"feedback report of type {feedback_type!r}, not a complaint"
    elif event_type is EventType.UNSUBSCRIBED:
        reason = "unsubscribed through the mailbox provider"
    recipients = body.get("complainedRecipients")
    addresses = [
        entry.get("emailAddress")
        for entry in (recipients if isinstance(recipients, list) else [])
        if isinstance(entry, dict)
    ]
    return [(r, event_type, reason, detail) for r in email_addresses(addresses)]


def _ses_subscription(
    body: dict[str, Any], mail: dict[str, Any], base_detail: dict[str, Any]
) -> list[_Pair]:
    new = body.get("newTopicPreferences")
    unsubscribed_all = isinstance(new, dict) and new.get("unsubscribeAll") is True
    detail = dict(base_detail)
    detail.update(
        text_fields(body, (("contactList", "contact_list"), ("source", "subscription_source")))
    )
    if unsubscribed_all:
        event_type, reason = EventType.UNSUBSCRIBED, "unsubscribed from all topics"
    else:
        event_type, reason = EventType.UNKNOWN, "SES topic preferences changed"
    return [(r, event_type, reason, detail) for r in email_addresses(mail.get("destination"))]


def _ses_detail(kind: str, body: dict[str, Any]) -> dict[str, str]:
    fields = {
        "Delivery": (("smtpResponse", "smtp_response"), ("reportingMTA", "reporting_mta")),
        "Click": (("link", "url"),),
        "Reject": (("reason", "reject_reason"),),
        "Rendering Failure": (("templateName", "template"), ("errorMessage", "error")),
    }.get(kind, ())
    return text_fields(body, fields)


def _ses_reason(kind: str, body: dict[str, Any]) -> str:
    if kind == "Delivery":
        return delivered_reason(json_text(body.get("smtpResponse")))
    if kind == "Click":
        return clicked_reason(json_text(body.get("link")))
    if kind == "Reject":
        return f"rejected by SES: {json_text(body.get('reason')) or 'no reason given'}"
    if kind == "Rendering Failure":
        return f"SES could not render the template: {json_text(body.get('errorMessage')) or '?'}"
    return "opened"


def _ses_unknown(
    reason: str,
    message_id: str | None,
    detail: dict[str, Any],
    occurred_at: datetime,
    raw: str,
) -> WebhookResult:
    event = email_event(
        EventType.UNKNOWN,
        occurred_at=occurred_at,
        source="ses",
        reason=reason,
        detail=detail,
        raw=raw,
    )
    return WebhookResult(provider="ses", events=((event, message_id),))


def _ses_message_id(mail: dict[str, Any]) -> str | None:
    headers = mail.get("headers")
    for header in headers if isinstance(headers, list) else []:
        if (
            isinstance(header, dict)
            and isinstance(header.get("name"), str)
            and header["name"].lower() == "message-id"
        ):
            found = bracketed_message_id(header.get("value"))
            if found:
                return found
    common = mail.get("commonHeaders")
    return bracketed_message_id(common.get("messageId")) if isinstance(common, dict) else None
