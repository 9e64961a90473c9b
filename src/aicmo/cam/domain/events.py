"""The typed events of the audit trail. Pure: no I/O.

Events are facts in the past tense; the events table only ever receives inserts.
Anything an inbound source cannot map becomes ``UNKNOWN`` with its raw data kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class EventType(StrEnum):
    """Every kind of event aicmo records."""

    #: A lead was created by hand or through the API.
    LEAD_CREATED = "LEAD_CREATED"
    #: Fields of a lead changed; ``detail`` lists them.
    LEAD_UPDATED = "LEAD_UPDATED"
    #: A lead moved to another stage.
    LEAD_STAGE_CHANGED = "LEAD_STAGE_CHANGED"
    #: A lead got a new score or grade; ``detail`` holds the reasons.
    LEAD_GRADED = "LEAD_GRADED"
    #: A note was added to a lead.
    LEAD_NOTE_ADDED = "LEAD_NOTE_ADDED"
    #: A CSV import finished; ``detail`` holds its counts.
    LEADS_IMPORTED = "LEADS_IMPORTED"
    #: A channel's configuration changed.
    CHANNEL_CONFIG_CHANGED = "CHANNEL_CONFIG_CHANGED"
    #: The ideal-customer profile changed.
    ICP_CHANGED = "ICP_CHANGED"
    #: An attempt was recorded and handed (or not) to a transport.
    MESSAGE_ATTEMPTED = "MESSAGE_ATTEMPTED"
    #: A transport accepted a message.
    MESSAGE_SENT = "MESSAGE_SENT"
    #: No transport could carry the message.
    MESSAGE_FAILED = "MESSAGE_FAILED"
    #: The send may or may not have happened.
    MESSAGE_OUTCOME_UNKNOWN = "MESSAGE_OUTCOME_UNKNOWN"
    #: The message reached the recipient's server for good.
    MESSAGE_DELIVERED = "MESSAGE_DELIVERED"
    #: An open was reported.
    MESSAGE_OPENED = "MESSAGE_OPENED"
    #: A tracked link was clicked.
    MESSAGE_CLICKED = "MESSAGE_CLICKED"
    #: A human replied.
    REPLY_RECEIVED = "REPLY_RECEIVED"
    #: A human reply got a category (interested, meeting booked, ...), by the rules or by
    #: the operator's correction; ``detail`` holds ``category``, ``previous`` (None the
    #: first time), ``rule`` (which rule fired, or ``operator``) and ``reply_event_id``.
    REPLY_CATEGORIZED = "REPLY_CATEGORIZED"
    #: An automatic reply (out of office, vacation) arrived; not a reply.
    AUTO_REPLY_RECEIVED = "AUTO_REPLY_RECEIVED"
    #: A permanent delivery failure.
    BOUNCED_HARD = "BOUNCED_HARD"
    #: A temporary delivery failure.
    BOUNCED_SOFT = "BOUNCED_SOFT"
    #: A spam complaint.
    COMPLAINED = "COMPLAINED"
    #: The recipient unsubscribed.
    UNSUBSCRIBED = "UNSUBSCRIBED"
    #: A receiver reported that mail in our name failed SPF/DKIM/DMARC (an RFC 6591
    #: report): fix the sending domain's DNS; no lead is concerned.
    AUTH_FAILURE_REPORTED = "AUTH_FAILURE_REPORTED"
    #: An address, domain or profile was added to the suppression list.
    SUPPRESSION_ADDED = "SUPPRESSION_ADDED"
    #: An entry was removed from the suppression list.
    SUPPRESSION_REMOVED = "SUPPRESSION_REMOVED"
    #: A person's data was erased.
    LEAD_ERASED = "LEAD_ERASED"
    #: A step became work for a person (a LinkedIn touch, a form behind a CAPTCHA).
    TASK_CREATED = "TASK_CREATED"
    #: The operator did the task; the attempt counts as sent from then.
    TASK_COMPLETED = "TASK_COMPLETED"
    #: The operator skipped the task; the sequence falls back.
    TASK_SKIPPED = "TASK_SKIPPED"
    #: An open task was withdrawn (the lead replied, was suppressed or stopped).
    TASK_CANCELLED = "TASK_CANCELLED"
    #: A LinkedIn connection request went out.
    CONNECTION_REQUESTED = "CONNECTION_REQUESTED"
    #: A LinkedIn connection request was accepted.
    CONNECTION_ACCEPTED = "CONNECTION_ACCEPTED"
    #: A sending account was paused (restricted, credentials refused); needs a person.
    ACCOUNT_PAUSED = "ACCOUNT_PAUSED"
    #: A campaign started, or took in the audience's newcomers.
    CAMPAIGN_STARTED = "CAMPAIGN_STARTED"
    #: A campaign was paused: no new sends until it is resumed.
    CAMPAIGN_PAUSED = "CAMPAIGN_PAUSED"
    #: A paused campaign runs again.
    CAMPAIGN_RESUMED = "CAMPAIGN_RESUMED"
    #: A campaign has nothing left to send or decide.
    CAMPAIGN_FINISHED = "CAMPAIGN_FINISHED"
    #: A webhook endpoint failed for days in a row and was disabled; ``detail`` says why.
    WEBHOOK_DISABLED = "WEBHOOK_DISABLED"
    #: The weekly digest is about to go out (written before the send, so that a restarted
    #: worker never sends it twice); ``detail`` holds ``slot``, the scheduled instant.
    DIGEST_ATTEMPTED = "DIGEST_ATTEMPTED"
    #: A digest was handed to its transport; ``detail`` says which one (``outbox`` means
    #: written to the local outbox, not delivered) and to how many recipients.
    DIGEST_SENT = "DIGEST_SENT"
    #: No recipient got the digest; ``detail`` holds the transport's errors.
    DIGEST_FAILED = "DIGEST_FAILED"
    #: Something arrived that no mapping understood; ``raw`` keeps it.
    UNKNOWN = "UNKNOWN"


#: Event types that count towards a lead's engagement when grading.
ENGAGEMENT_EVENTS = frozenset(
    {
        EventType.REPLY_RECEIVED,
        EventType.MESSAGE_CLICKED,
        EventType.MESSAGE_OPENED,
        EventType.BOUNCED_HARD,
        EventType.BOUNCED_SOFT,
        EventType.COMPLAINED,
        EventType.UNSUBSCRIBED,
    }
)


@dataclass(frozen=True, slots=True)
class OutreachEvent:
    """One fact for the audit trail, as an inbound source or a service reports it."""

    type: EventType
    occurred_at: datetime
    channel: str | None = None
    source: str = "aicmo"
    message_key: str | None = None
    recipient: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    raw: str | None = None
