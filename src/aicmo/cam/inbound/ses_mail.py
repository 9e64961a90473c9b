"""Amazon SES notifications that arrive as email (SNS with an email subscriber). Pure: no I/O.

SES can publish bounces and complaints to an SNS topic whose subscriber is a mailbox. That
mail (From ``no-reply@sns.amazonaws.com``, subject "AWS Notification Message") carries
the JSON a webhook would get; read as text it is an ordinary message from a robot, and a
complaint would pass for a reply. It is mapped with the webhook's own table
(:func:`aicmo.cam.inbound.webhooks.ses.ses_notification_events`), so both routes record the
same facts. The SNS mailer breaks lines longer than 998 characters with ``!``, a line end
and a space; that is undone before the JSON is read.

Unlike the webhook, the mail has no signature to check here: it is as trustworthy as any
bounce or feedback report in the mailbox, and changes no more than they do.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.message import Message

from aicmo.cam.domain.events import OutreachEvent
from aicmo.cam.inbound import mime
from aicmo.cam.inbound.text import clean_line
from aicmo.cam.inbound.webhooks.ses import ses_notification_events

#: The sender of SNS email notifications.
SNS_SENDER = "no-reply@sns.amazonaws.com"

_FOLD_RE = re.compile(r"!\r?\n ")
_SUBSCRIPTION_SUFFIX_RE = re.compile(r":[0-9a-f-]{36}$")


@dataclass(frozen=True, slots=True)
class SesMail:
    """The events one SNS notification mail carries and our Message-IDs it names."""

    events: tuple[OutreachEvent, ...]
    message_ids: tuple[str, ...]
    #: Why there are no events, when there are none.
    reason: str = ""


def parse_ses_mail(msg: Message, *, sender: str | None, received_at: datetime) -> SesMail | None:
    """The SES notification in ``msg``, or ``None`` when ``msg`` is not an SNS mail."""
    if sender != SNS_SENDER and not mime.header_values(msg, "x-amz-sns-message-id"):
        return None
    body = _FOLD_RE.sub("", mime.body_text(msg))
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end < start or "Type" not in body[start : end + 1]:
        return None  # an SNS mail, but no SES notification (e.g. a subscription notice)
    ids = mime.message_ids(mime.raw_header(msg, "Message-ID"))
    event_id = mime.header_text(msg, "x-amz-sns-message-id") or (ids[0] if ids else "")
    subscription = mime.header_text(msg, "x-amz-sns-subscription-arn")
    result = ses_notification_events(
        body[start : end + 1],
        event_id=clean_line(event_id, max_len=200),
        topic_arn=_SUBSCRIPTION_SUFFIX_RE.sub("", subscription),
        sent_at=received_at,
    )
    events = tuple(event for event, _ in result.events)
    message_ids = tuple(dict.fromkeys(rfc_id for _, rfc_id in result.events if rfc_id))
    reason = "" if events else "SES notification without events: " + ", ".join(result.skipped)
    return SesMail(events=events, message_ids=message_ids, reason=reason)
