"""Inbound webhooks from email providers: verify the signature, map to events. Pure: no I/O.

No network, no database, no clock reads: the caller passes the request body, its headers,
the current time ``now`` and, for SNS, a ``fetch_cert(url) -> bytes`` callable. Every
function here verifies the request *before* it reads the payload, so an unauthenticated
body is never parsed. Each provider maps its event names through a lookup table (the
django-anymail pattern); a name no table knows becomes ``UNKNOWN`` with the raw JSON kept.

Errors:

* :class:`WebhookSignatureError` (a :class:`~aicmo.errors.ValidationError`): the signature,
  its timestamp or its certificate is missing, garbled, stale or wrong, or the SNS topic is
  not allowed. Entry points answer 403 (SendGrid and SNS then retry, which is harmless).
* :class:`~aicmo.errors.ValidationError`: the verified body is not the documented shape
  (not UTF-8, not JSON, not an array of objects, an SNS envelope lacking a field). Inside a
  well-shaped document, one odd event does not sink its batch: it becomes ``UNKNOWN``.
* :class:`~aicmo.errors.ConfigurationError`: the operator's SendGrid key is not a P-256
  public key.
* Whatever ``fetch_cert`` raises is passed through untouched: a failed fetch is the
  caller's I/O problem (answer 5xx so SNS retries), not a verdict on the request.

Bounce severity from the enhanced status code (``_status_verdict``), shared by both
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

SendGrid Event Webhook (``source="sendgrid"``); the Message-ID is ``smtp-id``:

=======================  ==============================================================
``event``                event
=======================  ==============================================================
``processed``            none (skipped): SendGrid accepted it; we logged MESSAGE_SENT
``deferred``             none (skipped): SendGrid is retrying; ``bounce`` or
                         ``delivered`` follows (after 72 h SendGrid gives up and bounces)
``delivered``            MESSAGE_DELIVERED
``bounce`` type=bounce   status table above, else BOUNCED_HARD
``bounce`` type=blocked  status table above, else BOUNCED_SOFT (blocks are mostly about
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

Amazon SES through SNS (``source="ses"``); the Message-ID is the ``Message-ID`` in
``mail.headers``, else ``mail.commonHeaders.messageId``. SES notifications
(``notificationType``) and configuration-set events (``eventType``) read alike:

========================  ===================================================================
SES type                  event (one per recipient)
========================  ===================================================================
``Bounce`` Permanent      BOUNCED_HARD, unless the recipient's status softens it (table above)
``Bounce`` Transient      BOUNCED_SOFT (SES says the address may work later; never upgraded)
``Bounce`` Undetermined   status table above, else BOUNCED_SOFT
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

import base64
import binascii
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.inbound.arf import FEEDBACK_EVENTS
from aicmo.cam.inbound.dsn import extract_status
from aicmo.cam.inbound.status import Severity as _Severity
from aicmo.cam.inbound.status import is_policy, normalize_status, status_severity
from aicmo.cam.inbound.text import clean_line, sanitize
from aicmo.errors import ConfigurationError, ValidationError

__all__ = [
    "SENDGRID_DROP_REASONS",
    "SENDGRID_EVENTS",
    "SES_BOUNCE_TYPES",
    "SES_EVENTS",
    "WebhookResult",
    "WebhookSignatureError",
    "is_sns_url",
    "parse_sendgrid",
    "parse_ses_sns",
]

#: How much of one event's JSON ``raw`` keeps (bytes of UTF-8).
RAW_LIMIT: Final = 16 * 1024
#: Deeper JSON than this is refused before anything walks it (no recursion blow-ups).
MAX_JSON_DEPTH: Final = 32

SENDGRID_SIGNATURE_HEADER: Final = "X-Twilio-Email-Event-Webhook-Signature"
SENDGRID_TIMESTAMP_HEADER: Final = "X-Twilio-Email-Event-Webhook-Timestamp"


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


# --- mapping tables ------------------------------------------------------------------------

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

#: SendGrid bounce ``type`` → the event when the status code does not decide.
SENDGRID_BOUNCE_TYPES: dict[str, EventType] = {
    "bounce": EventType.BOUNCED_HARD,
    "blocked": EventType.BOUNCED_SOFT,
}

#: How far a bounce's status code may overrule the provider's classification.
StatusPower = Literal["any", "soften", "never"]

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

_SNS_CANONICAL_FIELDS: dict[str, tuple[str, ...]] = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
    "UnsubscribeConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SNS_OPTIONAL_FIELDS = frozenset({"Subject"})
_SNS_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "1": hashes.SHA1,
    "2": hashes.SHA256,
}
# sns.us-east-1.amazonaws.com, sns.us-gov-west-1.amazonaws.com, sns.cn-north-1.amazonaws.com.cn
_SNS_HOST_RE = re.compile(r"sns\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com(?:\.cn)?")
_UNSAFE_URL_CHARS_RE = re.compile(r"[^\x21-\x7e]|\\")
_SENDGRID_TS_RE = re.compile(r"[0-9]{1,12}")
_PEM_ARMOUR_RE = re.compile(r"-----(?:BEGIN|END) PUBLIC KEY-----")

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


# --- SendGrid ------------------------------------------------------------------------------


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
    _require_aware(now)
    key = _sendgrid_key(public_key_b64)
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
    signed_at = datetime.fromtimestamp(int(timestamp), UTC)
    _check_fresh(signed_at, now, tolerance, what="SendGrid signature timestamp")
    signature = _b64decode(signature_b64, what=SENDGRID_SIGNATURE_HEADER)
    try:
        key.verify(signature, timestamp.encode("ascii") + body, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise WebhookSignatureError("SendGrid signature does not match the body") from None

    document = _load_json(body, what="SendGrid webhook body")
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
    occurred_at = _unix_time(item.get("timestamp"))
    recipient = _address(item.get("email"))
    message_id = _message_id(item.get("smtp-id"))
    detail = _pick_detail(item, _SENDGRID_DETAIL_FIELDS)
    raw = _raw_json(item)
    reason_text = _text(item.get("reason"))

    def unknown(reason: str) -> tuple[OutreachEvent, str | None]:
        if isinstance(name, str):
            detail["provider_event"] = clean_line(name, max_len=100)
        event = OutreachEvent(
            type=EventType.UNKNOWN,
            occurred_at=occurred_at or now,
            channel=ChannelType.EMAIL,
            source="sendgrid",
            recipient=recipient,
            reason=reason,
            detail=detail,
            raw=raw,
        )
        return event, message_id

    if not isinstance(name, str):
        return unknown("SendGrid event without an event name")
    detail["provider_event"] = clean_line(name, max_len=100)
    if name == "bounce":
        bounce_type = _text(item.get("type")) or "bounce"
        fallback = SENDGRID_BOUNCE_TYPES.get(bounce_type.lower(), EventType.BOUNCED_HARD)
        event_type = _bounce_event(
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
    event = OutreachEvent(
        type=event_type,
        occurred_at=occurred_at,
        channel=ChannelType.EMAIL,
        source="sendgrid",
        recipient=recipient,
        reason=reason,
        detail=detail,
        raw=raw,
    )
    return event, message_id


def _sendgrid_reason(name: str, item: dict[str, Any]) -> str:
    if name == "delivered":
        response = _text(item.get("response"))
        return f"delivered: {response}" if response else "delivered"
    if name == "click":
        url = _text(item.get("url"))
        return f"clicked {url}" if url else "clicked a link"
    return {
        "open": "opened",
        "spamreport": "marked as spam",
        "unsubscribe": "unsubscribed",
        "group_unsubscribe": "unsubscribed from a group",
    }.get(name, name)


# --- Amazon SES through SNS ----------------------------------------------------------------


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
    _require_aware(now)
    envelope = _load_json(body, what="SNS message body")
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
    sent_at = _iso_time(envelope["Timestamp"])
    if sent_at is None:
        raise WebhookSignatureError("SNS Timestamp is not an ISO 8601 time with a zone")
    _check_fresh(sent_at, now, tolerance, what="SNS Timestamp")
    hash_factory = _SNS_HASHES.get(envelope["SignatureVersion"])
    if hash_factory is None:
        raise WebhookSignatureError("SNS SignatureVersion is neither 1 nor 2")
    signature = _b64decode(envelope["Signature"], what="SNS Signature")
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


def _ses_notification(envelope: dict[str, Any], sent_at: datetime) -> WebhookResult:
    message: str = envelope["Message"]
    raw = _truncate(sanitize(message))
    base_detail: dict[str, Any] = {
        "event_id": clean_line(envelope["MessageId"], max_len=200),
        "topic_arn": clean_line(envelope["TopicArn"], max_len=300),
    }
    try:
        notification = _load_json(message.encode("utf-8", "surrogatepass"), what="SNS Message")
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
    provider_message_id = _text(mail.get("messageId"), max_len=200)
    if provider_message_id:
        base_detail["provider_message_id"] = provider_message_id
    if not isinstance(kind, str):
        return _ses_unknown(
            "SES notification without a notificationType", message_id, base_detail, sent_at, raw
        )
    base_detail["provider_event"] = clean_line(kind, max_len=100)
    body = notification.get(_SES_TYPE_KEYS.get(kind, ""))
    body = body if isinstance(body, dict) else {}
    occurred_at = _iso_time(body.get("timestamp")) or _iso_time(mail.get("timestamp")) or sent_at

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
        pairs = [(r, mapped, reason, detail) for r in _addresses(recipients_field)]
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
            OutreachEvent(
                type=event_type,
                occurred_at=occurred_at,
                channel=ChannelType.EMAIL,
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


def _ses_bounce(body: dict[str, Any], base_detail: dict[str, Any]) -> list[_Pair]:
    bounce_type = _text(body.get("bounceType")) or "Undetermined"
    fallback, status_may = SES_BOUNCE_TYPES.get(bounce_type, (EventType.BOUNCED_SOFT, "any"))
    subtype = _text(body.get("bounceSubType"))
    pairs: list[_Pair] = []
    recipients = body.get("bouncedRecipients")
    for entry in recipients if isinstance(recipients, list) else []:
        if not isinstance(entry, dict):
            continue
        recipient = _address(entry.get("emailAddress"))
        if recipient is None:
            continue
        detail = dict(base_detail)
        detail["bounce_type"] = bounce_type
        if subtype:
            detail["bounce_subtype"] = subtype
        diagnostic = _text(entry.get("diagnosticCode"))
        if diagnostic:
            detail["diagnostic"] = diagnostic
        for key, name in (("feedbackId", "feedback_id"), ("reportingMTA", "reporting_mta")):
            value = _text(body.get(key))
            if value:
                detail[name] = value
        status = _text(entry.get("status"))
        if status:
            detail["status"] = status
        event_type = _bounce_event(
            status, diagnostic, fallback=fallback, status_may=status_may, detail=detail
        )
        reason = diagnostic or f"SES {bounce_type}/{subtype or 'General'} bounce"
        pairs.append((recipient, event_type, reason, detail))
    return pairs


def _ses_complaint(body: dict[str, Any], base_detail: dict[str, Any]) -> list[_Pair]:
    feedback_type = _text(body.get("complaintFeedbackType"))
    event_type: EventType = EventType.COMPLAINED
    if feedback_type is not None:
        event_type = FEEDBACK_EVENTS.get(feedback_type.lower(), EventType.COMPLAINED) or (
            EventType.UNKNOWN
        )
    detail = dict(base_detail)
    for key, name in (
        ("complaintFeedbackType", "feedback_type"),
        ("complaintSubType", "complaint_subtype"),
        ("userAgent", "user_agent"),
        ("feedbackId", "feedback_id"),
    ):
        value = _text(body.get(key))
        if value:
            detail[name] = value
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
    return [(r, event_type, reason, detail) for r in _addresses(addresses)]


def _ses_subscription(
    body: dict[str, Any], mail: dict[str, Any], base_detail: dict[str, Any]
) -> list[_Pair]:
    new = body.get("newTopicPreferences")
    unsubscribed_all = isinstance(new, dict) and new.get("unsubscribeAll") is True
    detail = dict(base_detail)
    for key, name in (("contactList", "contact_list"), ("source", "subscription_source")):
        value = _text(body.get(key))
        if value:
            detail[name] = value
    if unsubscribed_all:
        event_type, reason = EventType.UNSUBSCRIBED, "unsubscribed from all topics"
    else:
        event_type, reason = EventType.UNKNOWN, "SES topic preferences changed"
    return [(r, event_type, reason, detail) for r in _addresses(mail.get("destination"))]


def _ses_detail(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    fields = {
        "Delivery": (("smtpResponse", "smtp_response"), ("reportingMTA", "reporting_mta")),
        "Click": (("link", "url"),),
        "Reject": (("reason", "reject_reason"),),
        "Rendering Failure": (("templateName", "template"), ("errorMessage", "error")),
    }.get(kind, ())
    detail: dict[str, Any] = {}
    for key, name in fields:
        value = _text(body.get(key))
        if value:
            detail[name] = value
    return detail


def _ses_reason(kind: str, body: dict[str, Any]) -> str:
    if kind == "Delivery":
        response = _text(body.get("smtpResponse"))
        return f"delivered: {response}" if response else "delivered"
    if kind == "Click":
        link = _text(body.get("link"))
        return f"clicked {link}" if link else "clicked a link"
    if kind == "Reject":
        return f"rejected by SES: {_text(body.get('reason')) or 'no reason given'}"
    if kind == "Rendering Failure":
        return f"SES could not render the template: {_text(body.get('errorMessage')) or '?'}"
    return "opened"


def _ses_unknown(
    reason: str,
    message_id: str | None,
    detail: dict[str, Any],
    occurred_at: datetime,
    raw: str,
) -> WebhookResult:
    event = OutreachEvent(
        type=EventType.UNKNOWN,
        occurred_at=occurred_at,
        channel=ChannelType.EMAIL,
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
            found = _message_id(header.get("value"))
            if found:
                return found
    common = mail.get("commonHeaders")
    return _message_id(common.get("messageId")) if isinstance(common, dict) else None


# --- shared --------------------------------------------------------------------------------


def _status_verdict(status: str | None) -> EventType | None:
    """The bounce event a normalised enhanced status implies, or ``None`` if it does not."""
    if status is None or status[0] == "2" or status.endswith(".0.0"):
        return None
    if status[0] == "5" and is_policy(status):
        return EventType.BOUNCED_SOFT
    if status_severity(status) is _Severity.HARD:
        return EventType.BOUNCED_HARD
    return EventType.BOUNCED_SOFT


def _bounce_event(
    status_field: object,
    text: str | None,
    *,
    fallback: EventType,
    status_may: StatusPower,
    detail: dict[str, Any],
) -> EventType:
    """Hard or soft, per the status table of the module docstring.

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


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")


def _check_fresh(signed_at: datetime, now: datetime, tolerance: timedelta, *, what: str) -> None:
    if abs(now - signed_at) > tolerance:
        raise WebhookSignatureError(f"{what} is outside the accepted window")


def _b64decode(value: str, *, what: str) -> bytes:
    try:
        decoded = base64.b64decode("".join(value.split()), validate=True)
    except (ValueError, binascii.Error):
        raise WebhookSignatureError(f"{what} is not valid base64") from None
    if not decoded:
        raise WebhookSignatureError(f"{what} is empty")
    return decoded


def _load_json(body: bytes, *, what: str) -> Any:
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


def _raw_json(item: Any) -> str:
    return _truncate(sanitize(json.dumps(item, ensure_ascii=False)))


def _truncate(text: str) -> str:
    data = text.encode("utf-8")
    if len(data) <= RAW_LIMIT:
        return text
    return data[:RAW_LIMIT].decode("utf-8", "ignore")


def _text(value: object, *, max_len: int = 1000) -> str | None:
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


def _pick_detail(item: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    detail: dict[str, Any] = {}
    for key, name in fields.items():
        value = item.get(key)
        if isinstance(value, bool) or (isinstance(value, int) and abs(value) < 2**53):
            detail[name] = value
        elif value is not None and (text := _text(value)):
            detail[name] = text
    return detail


def _address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    text = clean_line(value, max_len=320)
    if "<" in text:
        text = parseaddr(text)[1] or text
    text = text.strip().lower()
    return text or None


def _addresses(value: object) -> list[str]:
    found: list[str] = []
    for entry in value if isinstance(value, list) else []:
        address = _address(entry)
        if address and address not in found:
            found.append(address)
    return found


def _message_id(value: object) -> str | None:
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


def _unix_time(value: object) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _iso_time(value: object) -> datetime | None:
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
