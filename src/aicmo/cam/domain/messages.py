"""Channels, attempt statuses, lead stages and the outreach message. Pure: no I/O."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ChannelType(StrEnum):
    """A way of reaching a lead. Values are the names, as in the seed."""

    #: An email through a mailbox (SMTP) or the local outbox.
    EMAIL = "EMAIL"
    #: A LinkedIn invitation or message, by provider API or operator task.
    LINKEDIN = "LINKEDIN"
    #: The contact form on the lead's website.
    CONTACT_FORM = "CONTACT_FORM"


class MessageStatus(StrEnum):
    """The state of one attempt (one row of ``outreach_messages``)."""

    #: Recorded, not yet handed to a transport.
    QUEUED = "QUEUED"
    #: Committed before the hand-off; a crash here leaves the outcome unknown.
    SENDING = "SENDING"
    #: The transport accepted it (SMTP 250, outbox file written, form accepted).
    SENT = "SENT"
    #: No bounce within the delivery window, or a provider's delivery event.
    DELIVERED = "DELIVERED"
    #: An open was reported (unreliable: privacy proxies open everything).
    OPENED = "OPENED"
    #: A tracked link was clicked.
    CLICKED = "CLICKED"
    #: A human answered.
    REPLIED = "REPLIED"
    #: A hard bounce, or soft bounces past the limit.
    BOUNCED = "BOUNCED"
    #: The recipient marked it as spam (feedback loop).
    COMPLAINED = "COMPLAINED"
    #: The recipient asked to hear no more.
    UNSUBSCRIBED = "UNSUBSCRIBED"
    #: The transport refused it, or no transport could carry it.
    FAILED = "FAILED"
    #: The send may or may not have happened; never resent blindly.
    UNKNOWN = "UNKNOWN"
    #: Not sent because the recipient is suppressed.
    SUPPRESSED = "SUPPRESSED"


#: Statuses that mean the message left through a transport.
SENT_STATUSES = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.OPENED,
        MessageStatus.CLICKED,
        MessageStatus.REPLIED,
        MessageStatus.BOUNCED,
        MessageStatus.COMPLAINED,
        MessageStatus.UNSUBSCRIBED,
    }
)


class LeadStage(StrEnum):
    """Where a lead stands in the pipeline."""

    NEW = "NEW"
    CONTACTED = "CONTACTED"
    ENGAGED = "ENGAGED"
    QUALIFIED = "QUALIFIED"
    MEETING = "MEETING"
    WON = "WON"
    LOST = "LOST"


class OutreachMessage(BaseModel):
    """What to say, on which channel; the seed's message object."""

    model_config = ConfigDict(frozen=True)

    channel: ChannelType
    body: str
    subject: str | None = None
    message_type: str = "cold_outreach"
    html_body: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
