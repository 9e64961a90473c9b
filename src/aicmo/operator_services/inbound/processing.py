"""What an inbound message changes: replies, auto-replies, bounces, complaints, opt-outs.

The classifier (pure) says what a message is; this module matches it to our attempts
(In-Reply-To/References against our Message-IDs, else the sender's address) and applies
the consequences in one transaction: attempt status, lead stage, suppression, events,
regrade. Every message is recorded by its Message-ID, so processing it again is a no-op.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import (
    DEFAULT_WORKSPACE_ID,
    InboundMessageDB,
    LeadDB,
    OutreachMessageDB,
)
from aicmo.cam.domain import leads as L
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType, MessageStatus
from aicmo.cam.domain.suppression import (
    SuppressionKind,
    SuppressionReason,
    erased_message_key,
)
from aicmo.cam.inbound import InboundKind, InboundResult, classify_message
from aicmo.cam.inbound.classify import as_own_message
from aicmo.cam.inbound.webhooks import WebhookResult
from aicmo.config import get_settings
from aicmo.errors import ValidationError
from aicmo.operator_services.crm.events import add_attributed_event, regrade_if_lead
from aicmo.operator_services.crm.replies import (
    ReplyAttribution,
    categorize_new_reply,
    mark_replied,
    record_reply_event,
)
from aicmo.operator_services.crm.suppression import add_entry
from aicmo.operator_services.uow import utcnow, write_unit

#: Soft bounces of one address before it is suppressed.
SOFT_BOUNCE_LIMIT = 3
#: An email counts as delivered this long after the server's 250 with no bounce.
DELIVERY_WINDOW = timedelta(hours=24)


def our_addresses(db: Session, workspace_id: int) -> frozenset[str]:
    """The addresses we send from: mail from them is ours, never a reply.

    Addresses, not domains: a mailbox on a shared provider domain (gmail.com) shares its
    domain with leads, whose opt-outs must not pass for our own mail.
    """
    addresses = repo.mailbox_addresses(db, workspace_id)
    addresses.add(get_settings().sender_email)
    return frozenset(a.strip().lower() for a in addresses if "@" in a)


def _message_key(result: InboundResult, raw: bytes) -> str:
    if result.message_id:
        return result.message_id[:500]
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def _attempt_for(db: Session, workspace_id: int, refs: Iterable[str]) -> OutreachMessageDB | None:
    """The newest of our attempts named in the references (ix_outreach_messages_rfc_message_id)."""
    wanted = [r for r in refs if r][:50]
    if not wanted:
        return None
    return repo.attempt_by_rfc_ids(db, workspace_id, wanted)


def _lead_by_address(db: Session, workspace_id: int, address: str | None) -> LeadDB | None:
    key = _key(address)
    return repo.find_lead(db, workspace_id, email_key=key) if key else None


def process_inbound_message(
    db: Session,
    raw: bytes,
    *,
    received_at: datetime | None = None,
    mailbox_id: int | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """Classify one raw message and apply what it means; idempotent per Message-ID."""
    received_at = received_at or utcnow()
    result = classify_message(raw, received_at, our_addresses=our_addresses(db, workspace_id))
    key = _message_key(result, raw)
    with write_unit(db):
        ws = repo.get_workspace(db, workspace_id)
        # A message of an erased person is remembered by a hash of its key.
        erased = erased_message_key(ws.hash_salt, key) if ws is not None else key
        seen = repo.inbound_seen(db, workspace_id, key, erased)
        if seen is not None:
            return {
                "kind": result.kind.value,
                "duplicate": True,
                "lead_id": None,
                "attempt_id": None,
            }
        if result.kind in _FROM_A_PERSON and _is_ours(db, workspace_id, result.message_id):
            # A copy of a message we sent (Sent folder, a Bcc to ourselves).
            result = as_own_message(result, received_at)
        attempt = _attempt_for(db, workspace_id, result.references)
        lead = (
            repo.get_lead(db, workspace_id, attempt.lead_id)
            if attempt and attempt.lead_id
            else None
        )
        if result.kind is InboundKind.UNSUBSCRIBE_REQUEST:
            # The person named in the request (a reply's sender, a report's
            # Removal-Recipient), never the report's sender; else the lead we wrote to.
            named = _lead_by_address(db, workspace_id, _named_recipient(result))
            lead = named or lead
            if lead is not None and (attempt is None or attempt.lead_id != lead.id):
                attempt = repo.latest_sent_email(db, workspace_id, lead.id) or attempt
        elif lead is None and result.kind in _FROM_A_PERSON:
            lead = _lead_by_address(db, workspace_id, result.from_address)
            if lead is not None and attempt is None:
                attempt = repo.latest_sent_email(db, workspace_id, lead.id)
        reply_event_id: int | None = None
        if result.kind is InboundKind.REPLY:
            reply_event_id = _apply_reply(db, workspace_id, result, attempt, lead, received_at)
        else:
            lead = _apply(db, workspace_id, result, attempt, lead, received_at) or lead
        row = _remember(db, workspace_id, key, result.kind.value, received_at, lead, attempt)
        row.mailbox_id = mailbox_id
        row.from_address = result.from_address or None
        row.subject = result.subject or None
        row.text = result.reply_text if result.kind is InboundKind.REPLY else None
        category: str | None = None
        if reply_event_id is not None:
            db.flush()
            category = categorize_new_reply(
                db,
                workspace_id,
                reply_event_id=reply_event_id,
                lead=lead,
                channel=ChannelType.EMAIL,
                where=ReplyAttribution.of(attempt),
                received_at=received_at,
                text=result.reply_text,
                subject=result.subject,
                sender=result.from_address,
                calendar=result.calendar,
                inbound_message_id=row.id,
                now=received_at,
            ).category
    return {
        "kind": result.kind.value,
        "duplicate": False,
        "lead_id": lead.id if lead else None,
        "attempt_id": attempt.id if attempt else None,
        "events": [e.type.value for e in result.events],
        "category": category,
    }


#: Kinds that a person (or their robot) sends from their own address.
_FROM_A_PERSON = frozenset(
    {InboundKind.REPLY, InboundKind.AUTO_REPLY, InboundKind.UNSUBSCRIBE_REQUEST}
)


def _is_ours(db: Session, workspace_id: int, message_id: str | None) -> bool:
    """Whether ``message_id`` is the Message-ID of one of our attempts."""
    return bool(message_id) and _attempt_for(db, workspace_id, [message_id or ""]) is not None


def _named_recipient(result: InboundResult) -> str | None:
    """The address an opt-out names (its first event's recipient)."""
    return next((e.recipient for e in result.events if e.recipient), None)


def _remember(
    db: Session,
    workspace_id: int,
    key: str,
    kind: str,
    received_at: datetime,
    lead: LeadDB | None,
    attempt: OutreachMessageDB | None,
) -> InboundMessageDB:
    """Record a message (or webhook event) under its key, so that it is applied only once."""
    row = InboundMessageDB(
        workspace_id=workspace_id,
        message_key=key,
        kind=kind,
        received_at=received_at,
        lead_id=lead.id if lead else None,
        attempt_id=attempt.id if attempt else None,
    )
    db.add(row)
    return row


def _emit(
    db: Session,
    workspace_id: int,
    event: OutreachEvent,
    attempt: OutreachMessageDB | None,
    lead: LeadDB | None,
) -> None:
    where = ReplyAttribution.of(attempt)
    add_attributed_event(db, workspace_id, event, lead.id if lead else None, where)
    regrade_if_lead(db, lead, event.type, event.occurred_at)


def _apply_reply(
    db: Session,
    workspace_id: int,
    result: InboundResult,
    attempt: OutreachMessageDB | None,
    lead: LeadDB | None,
    now: datetime,
) -> int | None:
    """A person answered: the attempt is replied, the lead engaged, the REPLY_RECEIVED
    recorded; its event id (the reply is categorised, and the lead regraded, once the
    message is remembered)."""
    mark_replied(db, attempt, lead, replied_at=now, now=now, why="replied")
    reply_event_id = None
    where = ReplyAttribution.of(attempt)
    for event in result.events:
        if event.type is EventType.REPLY_RECEIVED:
            reply_event_id = record_reply_event(db, workspace_id, event, lead, where)
        else:
            _emit(db, workspace_id, event, attempt, lead)
    return reply_event_id


def _apply(
    db: Session,
    workspace_id: int,
    result: InboundResult,
    attempt: OutreachMessageDB | None,
    lead: LeadDB | None,
    now: datetime,
) -> LeadDB | None:
    kind = result.kind
    if kind is InboundKind.AUTO_REPLY or kind is InboundKind.UNKNOWN:
        for event in result.events:
            _emit(db, workspace_id, event, attempt, lead)
        return lead
    if kind is InboundKind.AUTH_FAILURE_REPORT:
        # About our domain's SPF/DKIM, not the lead: kept with the attempt (its mailbox and
        # campaign) so the operator sees which sender fails, and counted by health.
        for event in result.events:
            _emit(db, workspace_id, event, attempt, None)
        return None
    if kind is InboundKind.UNSUBSCRIBE_REQUEST:
        address = _key(_named_recipient(result)) or (lead.email_key if lead else None)
        if address:
            source = "reply" if address == _key(result.from_address) else "feedback-loop"
            _suppress(db, workspace_id, address, SuppressionReason.UNSUBSCRIBED, source, now)
        _end_attempt(attempt, MessageStatus.UNSUBSCRIBED, now)
        # Recorded even when the address was already suppressed: the request happened,
        # and processing the same message twice is prevented by its key, not here.
        for event in result.events:
            _emit(db, workspace_id, replace(event, recipient=address), attempt, lead)
        return lead
    # Bounces and complaints name the failed recipient; that address is the lead.
    for event in result.events:
        lead = apply_delivery_event(db, workspace_id, event, attempt, lead, now) or lead
    return lead


_OPENABLE = {MessageStatus.SENT.value, MessageStatus.DELIVERED.value}
#: Delivery facts that suppress the address: the attempt's final status and the reason.
_SUPPRESSING = {
    EventType.BOUNCED_HARD: (MessageStatus.BOUNCED, SuppressionReason.HARD_BOUNCE),
    EventType.COMPLAINED: (MessageStatus.COMPLAINED, SuppressionReason.COMPLAINED),
    EventType.UNSUBSCRIBED: (MessageStatus.UNSUBSCRIBED, SuppressionReason.UNSUBSCRIBED),
}
_CLICKABLE = _OPENABLE | {MessageStatus.OPENED.value}


def apply_delivery_event(
    db: Session,
    workspace_id: int,
    event: OutreachEvent,
    attempt: OutreachMessageDB | None,
    lead: LeadDB | None,
    now: datetime,
) -> LeadDB | None:
    """Apply one delivery-side fact (bounce, complaint, opt-out, delivery, open, click)
    from a DSN, a feedback report or a provider webhook; returns the lead it concerned."""
    target = _lead_by_address(db, workspace_id, event.recipient) or lead
    address = _key(event.recipient) or (target.email_key if target else None)
    target_attempt = attempt
    if target is not None and (attempt is None or attempt.lead_id != target.id):
        target_attempt = repo.latest_sent_email(db, workspace_id, target.id)
    source = event.source
    if event.type in _SUPPRESSING:
        status, reason = _SUPPRESSING[event.type]
        _end_attempt(target_attempt, status, now)
        if address:
            _suppress(db, workspace_id, address, reason, source, now)
    elif event.type is EventType.BOUNCED_SOFT:
        if (
            address
            and target is not None
            and (_soft_bounces(db, workspace_id, target.id) + 1 >= SOFT_BOUNCE_LIMIT)
        ):
            note = f"{SOFT_BOUNCE_LIMIT} soft bounces"
            _suppress(db, workspace_id, address, SuppressionReason.SOFT_BOUNCES, source, now, note)
            _end_attempt(target_attempt, MessageStatus.BOUNCED, now)
    elif event.type is EventType.MESSAGE_DELIVERED and target_attempt is not None:
        if target_attempt.status == MessageStatus.SENT.value:
            target_attempt.status = MessageStatus.DELIVERED.value
        target_attempt.delivered_at = target_attempt.delivered_at or now
    elif event.type is EventType.MESSAGE_OPENED and target_attempt is not None:
        if target_attempt.status in _OPENABLE:
            target_attempt.status = MessageStatus.OPENED.value
        target_attempt.opened_at = target_attempt.opened_at or now
    elif event.type is EventType.MESSAGE_CLICKED and target_attempt is not None:
        if target_attempt.status in _CLICKABLE:
            target_attempt.status = MessageStatus.CLICKED.value
        target_attempt.clicked_at = target_attempt.clicked_at or now
    _emit(db, workspace_id, event, target_attempt, target)
    return target


def process_webhook_events(
    db: Session,
    result: WebhookResult,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Apply the events of a verified provider webhook; a retried delivery is a no-op
    (each event is recorded under the provider's event id)."""
    now = now or utcnow()
    applied = duplicates = 0
    for event, rfc_id in result.events:
        event_id = str(event.detail.get("event_id") or "")
        digest = hashlib.sha256((event.raw or repr(event)).encode()).hexdigest()
        key = f"{result.provider}:{event_id or digest}"[:500]
        with write_unit(db):
            seen = repo.inbound_seen(db, workspace_id, key)
            if seen is not None:
                duplicates += 1
                continue
            attempt = _attempt_for(db, workspace_id, [rfc_id] if rfc_id else [])
            lead = (
                repo.get_lead(db, workspace_id, attempt.lead_id)
                if attempt is not None and attempt.lead_id
                else None
            )
            lead = apply_delivery_event(db, workspace_id, event, attempt, lead, event.occurred_at)
            _remember(db, workspace_id, key, event.type.value, now, lead, attempt)
            applied += 1
    return {
        "provider": result.provider,
        "applied": applied,
        "duplicates": duplicates,
        "subscribe_url": result.subscribe_url,
    }


def _key(address: str | None) -> str | None:
    if not address:
        return None
    try:
        return L.normalize_email(address)[1]
    except ValidationError:
        return None


def _suppress(
    db: Session,
    workspace_id: int,
    address: str,
    reason: SuppressionReason,
    source: str | None,
    now: datetime,
    note: str | None = None,
) -> bool:
    """Suppress one email address; whether it is new on the list."""
    _, created = add_entry(
        db, workspace_id, SuppressionKind.EMAIL, address, reason, source=source, now=now, note=note
    )
    return created


def _end_attempt(attempt: OutreachMessageDB | None, status: MessageStatus, now: datetime) -> None:
    """Give the attempt its final status (a bounce also records when)."""
    if attempt is None:
        return
    attempt.status = status.value
    if status is MessageStatus.BOUNCED:
        attempt.bounced_at = now


def _soft_bounces(db: Session, workspace_id: int, lead_id: int) -> int:
    return repo.count_lead_events(db, workspace_id, lead_id, EventType.BOUNCED_SOFT.value)


def mark_delivered(
    db: Session,
    *,
    now: datetime | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    batch: int = 1000,
) -> int:
    """SENT emails with no bounce after the delivery window become DELIVERED (with event)."""
    now = now or utcnow()
    cutoff = now - DELIVERY_WINDOW
    done = 0
    while True:
        with write_unit(db):
            rows = repo.sent_emails_before(db, workspace_id, cutoff, limit=batch)
            for row in rows:
                row.status = MessageStatus.DELIVERED.value
                row.delivered_at = now
                add_attributed_event(
                    db,
                    workspace_id,
                    OutreachEvent(
                        type=EventType.MESSAGE_DELIVERED,
                        occurred_at=now,
                        channel=ChannelType.EMAIL,
                        source="no-bounce-window",
                    ),
                    row.lead_id,
                    ReplyAttribution.of(row),
                )
        done += len(rows)
        if len(rows) < batch:
            return done
