"""What classifying one inbound email yields. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType


class InboundKind(StrEnum):
    """The one thing an inbound email is, as far as outreach is concerned."""

    #: A person answered.
    REPLY = "REPLY"
    #: Out of office, vacation notice, ticket acknowledgement: a robot answered.
    AUTO_REPLY = "AUTO_REPLY"
    #: A delivery report with at least one failed or delayed recipient.
    BOUNCE = "BOUNCE"
    #: A feedback-loop spam complaint.
    COMPLAINT = "COMPLAINT"
    #: A person asked, in words, to hear no more (or their mailbox provider did for them).
    UNSUBSCRIBE_REQUEST = "UNSUBSCRIBE_REQUEST"
    #: A DMARC failure report (RFC 6591): our mail failed SPF/DKIM; nothing about a lead.
    AUTH_FAILURE_REPORT = "AUTH_FAILURE_REPORT"
    #: Our own mail, unparseable input, or a report that asks nothing of us.
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class InboundResult:
    """A classified inbound email and the audit events it gives rise to.

    ``references`` is what the service layer matches against the Message-IDs of our sent
    attempts: the In-Reply-To and References ids, plus, for bounces and complaints, the id
    of the original message found in the report's attachment.
    """

    kind: InboundKind
    events: tuple[OutreachEvent, ...]
    message_id: str | None
    references: tuple[str, ...]
    from_address: str | None
    subject: str
    #: For replies and unsubscribe requests: what the person wrote, history stripped.
    reply_text: str | None = None
    #: For replies: the text of a ``text/calendar`` part (an invitation or its answer), if
    #: the reply carried one; the reply's category reads it.
    calendar: str | None = None


def email_event(
    event_type: EventType,
    *,
    occurred_at: datetime,
    source: str,
    reason: str,
    detail: dict[str, Any],
    raw: str | None = None,
    recipient: str | None = None,
) -> OutreachEvent:
    """An event about an email we sent, as an inbound ``source`` reports it (``"imap"``,
    ``"sendgrid"``, ``"ses"``)."""
    return OutreachEvent(
        type=event_type,
        occurred_at=occurred_at,
        channel=ChannelType.EMAIL,
        source=source,
        recipient=recipient,
        reason=reason,
        detail=detail,
        raw=raw,
    )
