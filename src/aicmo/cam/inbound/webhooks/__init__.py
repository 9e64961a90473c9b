"""Inbound webhooks from email providers: verify the signature, map to events. Pure: no I/O.

No network, no database, no clock reads: the caller passes the request body, its headers,
the current time ``now`` and, for SNS, a ``fetch_cert(url) -> bytes`` callable. Every
function here verifies the request *before* it reads the payload, so an unauthenticated
body is never parsed. Each provider maps its event names through a lookup table (the
django-anymail pattern); a name no table knows becomes ``UNKNOWN`` with the raw JSON kept.

One module per provider: :mod:`.sendgrid` (SendGrid Event Webhook) and :mod:`.ses`
(Amazon SES through SNS), with :mod:`.common` for what they share (the result type, the
signature error, bounce severity from a status code, strict JSON and field readers).

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
"""

from aicmo.cam.inbound.webhooks.common import (
    MAX_JSON_DEPTH,
    RAW_LIMIT,
    WebhookResult,
    WebhookSignatureError,
)
from aicmo.cam.inbound.webhooks.sendgrid import (
    SENDGRID_DROP_REASONS,
    SENDGRID_EVENTS,
    SENDGRID_SIGNATURE_HEADER,
    SENDGRID_TIMESTAMP_HEADER,
    parse_sendgrid,
    sendgrid_signature_headers,
)
from aicmo.cam.inbound.webhooks.ses import SES_BOUNCE_TYPES, SES_EVENTS, is_sns_url, parse_ses_sns

__all__ = [
    "MAX_JSON_DEPTH",
    "RAW_LIMIT",
    "SENDGRID_DROP_REASONS",
    "SENDGRID_EVENTS",
    "SENDGRID_SIGNATURE_HEADER",
    "SENDGRID_TIMESTAMP_HEADER",
    "SES_BOUNCE_TYPES",
    "SES_EVENTS",
    "WebhookResult",
    "WebhookSignatureError",
    "is_sns_url",
    "parse_sendgrid",
    "parse_ses_sns",
    "sendgrid_signature_headers",
]
