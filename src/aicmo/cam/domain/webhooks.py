"""Webhooks out: the public event names, the payload, the signature, the retry schedule.
Pure: no I/O, no clock read (time and randomness are passed in).

The names are the ones users of outreach SaaS tools expect (``email.replied``,
``lead.unsubscribed``); :data:`WEBHOOK_EVENTS` is the one table that maps each to the
``EventType`` (and channel) it comes from, and ``docs/webhooks.md`` prints it. An event of
the audit trail has at most one public name (a unit test holds the table to that), so a
subscription never matches one event twice.

Signatures follow the Standard Webhooks specification (v1): HMAC-SHA256 with the
base64-decoded part of a ``whsec_…`` secret, over ``"{webhook-id}.{webhook-timestamp}.{body}"``,
sent as ``v1,<base64>`` (several, space-separated, while a rotated secret is still honoured).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final

from aicmo.cam.domain.events import EventType
from aicmo.errors import ValidationError

#: A subscription's channel that matches an event on any channel (or none).
ANY_CHANNEL: Final = "*"

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 -- the format's prefix, not a secret
#: Bytes of key material in a new secret (the spec asks for 24 to 64).
SECRET_BYTES: Final = 32


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One public event name and the audit-trail events it stands for."""

    name: str
    types: tuple[EventType, ...]
    channel: str  # ANY_CHANNEL or a channel name ("EMAIL")
    description: str


def _e(
    name: str, types: EventType | tuple[EventType, ...], channel: str, text: str
) -> WebhookEvent:
    return WebhookEvent(name, types if isinstance(types, tuple) else (types,), channel, text)


T = EventType
EMAIL, LINKEDIN, FORM = "EMAIL", "LINKEDIN", "CONTACT_FORM"

#: Every event a webhook can subscribe to, in the order the docs list them.
WEBHOOK_EVENTS: Final[tuple[WebhookEvent, ...]] = (
    _e(
        "email.sent", T.MESSAGE_SENT, EMAIL, "An email was accepted by the SMTP server (or outbox)."
    ),
    _e("email.delivered", T.MESSAGE_DELIVERED, EMAIL, "The email reached the recipient's server."),
    _e("email.failed", T.MESSAGE_FAILED, EMAIL, "No transport could carry the email."),
    _e("email.opened", T.MESSAGE_OPENED, EMAIL, "An open was reported."),
    _e("email.clicked", T.MESSAGE_CLICKED, EMAIL, "A tracked link was clicked."),
    _e("email.replied", T.REPLY_RECEIVED, EMAIL, "A person replied to an email."),
    _e(
        "email.auto_replied",
        T.AUTO_REPLY_RECEIVED,
        ANY_CHANNEL,
        "An out-of-office or other automatic reply arrived.",
    ),
    _e(
        "reply.categorized",
        T.REPLY_CATEGORIZED,
        ANY_CHANNEL,
        "A reply got its category (interested, meeting booked, ...), by rule or by hand.",
    ),
    _e(
        "email.bounced",
        (T.BOUNCED_HARD, T.BOUNCED_SOFT),
        ANY_CHANNEL,
        "A bounce; `data.bounce` is `hard` or `soft`.",
    ),
    _e("email.complained", T.COMPLAINED, ANY_CHANNEL, "The recipient marked an email as spam."),
    _e(
        "lead.unsubscribed",
        T.UNSUBSCRIBED,
        ANY_CHANNEL,
        "The lead asked to hear no more (any channel stops).",
    ),
    _e(
        "linkedin.invite_sent",
        T.CONNECTION_REQUESTED,
        ANY_CHANNEL,
        "A LinkedIn connection request went out.",
    ),
    _e(
        "linkedin.invite_accepted",
        T.CONNECTION_ACCEPTED,
        ANY_CHANNEL,
        "A LinkedIn connection request was accepted.",
    ),
    _e("linkedin.message_sent", T.MESSAGE_SENT, LINKEDIN, "A LinkedIn message was sent."),
    _e("linkedin.failed", T.MESSAGE_FAILED, LINKEDIN, "A LinkedIn step could not be sent."),
    _e("linkedin.replied", T.REPLY_RECEIVED, LINKEDIN, "The lead replied on LinkedIn."),
    _e("form.submitted", T.MESSAGE_SENT, FORM, "The lead's website contact form was submitted."),
    _e(
        "form.failed",
        T.MESSAGE_FAILED,
        FORM,
        "The contact form refused the submission or could not be reached.",
    ),
    _e(
        "message.outcome_unknown",
        T.MESSAGE_OUTCOME_UNKNOWN,
        ANY_CHANNEL,
        "A send may or may not have happened; held for a person, never resent.",
    ),
    _e(
        "task.created",
        T.TASK_CREATED,
        ANY_CHANNEL,
        "A step became work for a person (a LinkedIn touch, a form behind a CAPTCHA).",
    ),
    _e("task.completed", T.TASK_COMPLETED, ANY_CHANNEL, "The operator did the task."),
    _e(
        "task.skipped",
        T.TASK_SKIPPED,
        ANY_CHANNEL,
        "The operator skipped the task; the sequence falls back.",
    ),
    _e(
        "task.cancelled",
        T.TASK_CANCELLED,
        ANY_CHANNEL,
        "An open task was withdrawn (the lead replied or was stopped).",
    ),
    _e(
        "lead.created",
        T.LEAD_CREATED,
        ANY_CHANNEL,
        "A lead was created by hand or through the API.",
    ),
    _e(
        "lead.updated",
        T.LEAD_UPDATED,
        ANY_CHANNEL,
        "Fields of a lead changed; `data.detail` lists them.",
    ),
    _e("lead.stage_changed", T.LEAD_STAGE_CHANGED, ANY_CHANNEL, "A lead moved to another stage."),
    _e("lead.graded", T.LEAD_GRADED, ANY_CHANNEL, "A lead got a new score or grade."),
    _e("lead.note_added", T.LEAD_NOTE_ADDED, ANY_CHANNEL, "A note was added to a lead."),
    _e(
        "lead.erased", T.LEAD_ERASED, ANY_CHANNEL, "A person's data was erased (only ids are sent)."
    ),
    _e(
        "leads.imported",
        T.LEADS_IMPORTED,
        ANY_CHANNEL,
        "A CSV import finished; `data.detail` has its counts.",
    ),
    _e(
        "suppression.added",
        T.SUPPRESSION_ADDED,
        ANY_CHANNEL,
        "An address, domain or profile is never to be contacted.",
    ),
    _e(
        "suppression.removed",
        T.SUPPRESSION_REMOVED,
        ANY_CHANNEL,
        "An entry left the suppression list.",
    ),
    _e(
        "campaign.started",
        T.CAMPAIGN_STARTED,
        ANY_CHANNEL,
        "A campaign started (or took in new leads).",
    ),
    _e("campaign.paused", T.CAMPAIGN_PAUSED, ANY_CHANNEL, "A campaign was paused."),
    _e("campaign.resumed", T.CAMPAIGN_RESUMED, ANY_CHANNEL, "A paused campaign runs again."),
    _e(
        "campaign.finished",
        T.CAMPAIGN_FINISHED,
        ANY_CHANNEL,
        "A campaign has nothing left to send.",
    ),
    _e(
        "account.paused",
        T.ACCOUNT_PAUSED,
        ANY_CHANNEL,
        "A sending account was paused (restricted, credentials refused).",
    ),
    _e(
        "email.auth_failed",
        T.AUTH_FAILURE_REPORTED,
        ANY_CHANNEL,
        "A DMARC failure report arrived: mail sent as us failed SPF or DKIM.",
    ),
)

#: Event types never sent out: bookkeeping, or what no subscriber can act on.
INTERNAL_EVENTS: Final = frozenset(
    {
        T.MESSAGE_ATTEMPTED,
        T.CHANNEL_CONFIG_CHANGED,
        T.ICP_CHANGED,
        T.UNKNOWN,
        T.WEBHOOK_DISABLED,
        T.DIGEST_ATTEMPTED,
        T.DIGEST_SENT,
        T.DIGEST_FAILED,
    }
)

EVENT_NAMES: Final = frozenset(e.name for e in WEBHOOK_EVENTS)
_BY_NAME: Final = {e.name: e for e in WEBHOOK_EVENTS}


def public_name(event_type: str, channel: str | None) -> str | None:
    """The public name of an audit-trail event, None when it is never sent out.

    A channel-specific entry wins over an any-channel one (none overlap today)."""
    fallback: str | None = None
    for entry in WEBHOOK_EVENTS:
        if event_type not in entry.types:
            continue
        if entry.channel == channel:
            return entry.name
        if entry.channel == ANY_CHANNEL:
            fallback = entry.name
    return fallback


def parse_event_names(names: str | Iterable[str]) -> list[str]:
    """The subscribed names, validated, deduplicated, in table order.

    ``*`` subscribes to every name. Raises :class:`ValidationError` (field ``events``)
    naming what is unknown."""
    items = names.split(",") if isinstance(names, str) else list(names)
    wanted = {n.strip().lower() for n in items if n and n.strip()}
    if not wanted:
        raise ValidationError("name at least one event (e.g. email.replied)", field="events")
    if "*" in wanted:
        return [e.name for e in WEBHOOK_EVENTS]
    unknown = sorted(wanted - EVENT_NAMES)
    if unknown:
        raise ValidationError(
            f"unknown event(s): {', '.join(unknown)}; known: {', '.join(sorted(EVENT_NAMES))}",
            field="events",
        )
    return [e.name for e in WEBHOOK_EVENTS if e.name in wanted]


def subscriptions(names: Iterable[str]) -> list[tuple[str, str]]:
    """The ``(event type, channel)`` pairs that the outbox trigger matches for these names."""
    pairs: list[tuple[str, str]] = []
    for name in names:
        entry = _BY_NAME[name]
        for t in entry.types:
            pair = (t.value, entry.channel)
            if pair not in pairs:
                pairs.append(pair)
    return pairs


# --- payload ---------------------------------------------------------------------------------


def message_id(event_id: int, namespace: str) -> str:
    """The ``webhook-id`` (and payload ``id``) of an event: the same on every attempt and every
    endpoint, so a receiver dedupes by it; namespaced per installation."""
    return f"evt_{namespace}_{event_id}"


def payload(
    *,
    msg_id: str,
    name: str,
    occurred_at: datetime,
    workspace: str,
    event: Mapping[str, Any],
    lead: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The JSON body of one delivery (Standard Webhooks' ``type``/``timestamp``/``data``)."""
    data: dict[str, Any] = {
        "workspace": workspace,
        "channel": event.get("channel"),
        "lead_id": event.get("lead_id"),
        "campaign_id": event.get("campaign_id"),
        "message_id": event.get("message_id"),
        "recipient": event.get("recipient"),
        "reason": event.get("reason"),
        "source": event.get("source"),
        "detail": dict(event.get("detail") or {}),
    }
    if event.get("type") in (T.BOUNCED_HARD, T.BOUNCED_SOFT):
        data["bounce"] = "hard" if event["type"] == T.BOUNCED_HARD else "soft"
    if lead is not None:
        data["lead"] = dict(lead)
    return {"id": msg_id, "type": name, "timestamp": _iso(occurred_at), "data": data}


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


# --- signatures ------------------------------------------------------------------------------


def format_secret(key: bytes) -> str:
    """``whsec_`` + base64 of the key material."""
    return SECRET_PREFIX + base64.b64encode(key).decode("ascii")


def secret_key(secret: str) -> bytes:
    """The HMAC key of a ``whsec_…`` secret."""
    raw = secret.removeprefix(SECRET_PREFIX)
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValidationError("a webhook secret is whsec_ + base64", field="secret") from err


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``{msg_id}.{timestamp}.{body}``."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signature_header(secrets: Iterable[str], msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` header: one signature per secret still honoured."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets)


# --- retries ---------------------------------------------------------------------------------

#: Wait before attempt 2, 3, …: about a day in all (24 h 43 min without jitter), then give up.
RETRY_DELAYS: Final[tuple[timedelta, ...]] = (
    timedelta(seconds=5),
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
    timedelta(hours=1),
    timedelta(hours=2),
    timedelta(hours=3),
    timedelta(hours=4),
    timedelta(hours=6),
    timedelta(hours=8),
)
#: Each wait is stretched or shrunk by up to this fraction, so endpoints that failed
#: together are not all retried in the same second.
JITTER: Final = 0.2
MAX_ATTEMPTS: Final = len(RETRY_DELAYS) + 1


def next_retry(attempts: int, now: datetime, jitter: float) -> datetime | None:
    """When to try again after ``attempts`` failed attempts; None once the budget is spent.

    ``jitter`` is a number in [0, 1) (random, from the caller): the wait is
    ``RETRY_DELAYS[attempts - 1] * (1 - JITTER + 2 * JITTER * jitter)``.
    """
    if attempts < 1 or attempts > len(RETRY_DELAYS):
        return None
    factor = 1 - JITTER + 2 * JITTER * min(max(jitter, 0.0), 1.0)
    return now + RETRY_DELAYS[attempts - 1] * factor


class DeliveryStatus(StrEnum):
    """Where a delivery (one event to one endpoint) stands."""

    #: Waiting for its next attempt (``next_attempt_at``), or being attempted (claimed).
    PENDING = "PENDING"
    #: The endpoint answered 2xx; never sent again unless replayed by hand.
    SUCCEEDED = "SUCCEEDED"
    #: Every attempt of the schedule failed; replay by hand to try again.
    FAILED = "FAILED"
    #: The endpoint was disabled before the delivery succeeded; replayable once enabled.
    SKIPPED = "SKIPPED"


#: An endpoint failing (no 2xx) for this long in a row is disabled.
DISABLE_AFTER: Final = timedelta(days=5)


def should_disable(failing_since: datetime | None, now: datetime, after: timedelta) -> bool:
    """Whether an endpoint that has had no success since ``failing_since`` is disabled now."""
    return failing_since is not None and now - failing_since >= after


def is_success(status_code: int | None) -> bool:
    """Only a 2xx answer counts as delivered (a redirect is not followed, so it fails)."""
    return status_code is not None and 200 <= status_code < 300
