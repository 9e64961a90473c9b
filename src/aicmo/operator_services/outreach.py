"""Sending one message and reading the attempt history.

Email goes through the sender mailbox's SMTP server, or, with no mailbox configured, to
the local outbox (which says so in every result). LinkedIn goes through a provider
account, or becomes a task for a person; contact forms are filled and submitted on the
lead's site, or become a task when a robot must not (CAPTCHA, JavaScript-only form).
Nothing ever claims a delivery that no transport (or person) performed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, LeadDB, OperatorTaskDB, OutreachMessageDB
from aicmo.cam.domain import leads as L
from aicmo.cam.domain.channels import missing_subject
from aicmo.cam.domain.messages import SENT_STATUSES, ChannelType, MessageStatus
from aicmo.cam.domain.threads import is_message_id
from aicmo.cam.unsubscribe_token import unsubscribe_url
from aicmo.config import get_settings
from aicmo.errors import ConflictError, NotFoundError, ValidationError
from aicmo.operator_services.channels import get_channel_config, parse_channel
from aicmo.operator_services.channels.base import AttemptRequest, AttemptResult, Channel
from aicmo.operator_services.channels.registry import channel_for
from aicmo.operator_services.crm.suppression import blocking_suppression, site_domain
from aicmo.operator_services.uow import unit_of_work, utcnow


def message_to_dict(row: OutreachMessageDB) -> dict[str, Any]:
    return {
        "id": row.id,
        "lead_id": row.lead_id,
        "campaign_id": row.campaign_id,
        "step_index": row.step_index,
        "variant": row.variant,
        "channel": row.channel,
        "message_type": row.message_type,
        "status": row.status,
        "recipient": row.recipient,
        "subject": row.subject,
        "body": row.body,
        "transport": row.transport,
        "provider_message_id": row.provider_message_id,
        "rfc_message_id": row.rfc_message_id,
        "error": row.error,
        "retry_count": row.retry_count,
        "idempotency_key": row.idempotency_key,
        "scheduled_at": row.scheduled_at,
        "sent_at": row.sent_at,
        "delivered_at": row.delivered_at,
        "replied_at": row.replied_at,
        "bounced_at": row.bounced_at,
        "target_domain": row.target_domain,
        "details": row.details,
        "created_at": row.created_at,
    }


def suppression_reason(db: Session, lead: LeadDB, channel: str | None = None) -> str | None:
    """Why this lead must not be contacted (on ``channel``), or None."""
    hit = blocking_suppression(
        db,
        email_key=lead.email_key,
        linkedin_key=lead.linkedin_key,
        channel=channel,
        site_domain=site_domain(lead) if channel is ChannelType.CONTACT_FORM else None,
        workspace_id=lead.workspace_id,
    )
    if hit is None:
        return None
    return f"{hit['kind'].lower()} {hit['value']} is suppressed ({hit['reason']})"


def send_outreach_message(
    db: Session,
    lead_id: int,
    message_body: str,
    subject: str | None = None,
    *,
    channel: str | ChannelType = ChannelType.EMAIL,
    campaign_id: int | None = None,
    idempotency_key: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
    enrollment_id: int | None = None,
    step_index: int | None = None,
    note: str | None = None,
    action: str | None = None,
    variant: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    mailbox_id: int | None = None,
    linkedin_account_id: int | None = None,
) -> dict[str, Any]:
    """Send one message to one lead and record the attempt.

    Returns a dict with ``success``, ``status``, ``message_id`` (the attempt row),
    ``channel``, ``transport``, ``error`` and ``outcome`` (what it means for a sequence;
    TASK when a person must do it, with ``task_id``; WAIT with ``retry_at`` when a
    LinkedIn connection request is pending). A suppressed lead gets status SUPPRESSED.
    ``note`` and ``action`` concern LinkedIn (the connection note; message / connect /
    view_profile). An answer in a conversation names the Message-ID it answers
    (``in_reply_to``) and the thread's ``references`` (email only: they become the
    headers that thread it), and the ``mailbox_id`` or ``linkedin_account_id`` the
    conversation used (the email goes out from that mailbox or not at all; LinkedIn falls
    back to another account when that one is paused).

    Raises:
        NotFoundError: no such lead. ValidationError: empty body, control characters
            in the subject, or unknown channel. ConflictError: the idempotency key was
            used by another attempt.
    """
    ch = parse_channel(channel)
    sender = channel_for(ch)
    if not isinstance(message_body, str) or not message_body.strip():
        raise ValidationError("message_body is empty", field="message_body")
    L.check_text("message_body", message_body, max_len=200_000)
    if subject is not None:
        L.check_single_line("subject", subject, max_len=998)
    if sender.spec.needs_subject and not (subject or "").strip():
        raise ValidationError(missing_subject(ch), field="subject")
    if isinstance(lead_id, bool) or not isinstance(lead_id, int):
        raise ValidationError(f"lead_id must be a whole number, got {lead_id!r}", field="lead_id")
    thread = _thread(ch, in_reply_to, references)
    now = now or utcnow()
    key = idempotency_key or f"manual:{uuid.uuid4().hex}"
    # The config row is what the send's transaction locks (created with the defaults the
    # first time a newly registered channel is used): no channel sends without limits.
    get_channel_config(db, ch, workspace_id=workspace_id)
    with unit_of_work(db):
        lead = repo.get_lead(db, workspace_id, lead_id)
        if lead is None:
            raise NotFoundError(f"no lead with id {lead_id}")
        dup = repo.attempt_by_key(db, key)
        if dup is not None:
            if dup.lead_id != lead.id:
                raise ConflictError(f"idempotency key {key!r} belongs to another attempt")
            return {**_result(dup), "duplicate": True}
    req = AttemptRequest(
        lead=lead,
        body=message_body,
        key=key,
        now=now,
        subject=subject,
        note=note,
        action=action,
        campaign_id=campaign_id,
        step_index=step_index,
        enrollment_id=enrollment_id,
        variant=variant,
        in_reply_to=in_reply_to,
        references=thread,
        mailbox_id=mailbox_id,
        linkedin_account_id=linkedin_account_id,
    )
    blocked = suppression_reason(db, lead, ch)
    if blocked:
        done = _refuse(db, sender, req, MessageStatus.SUPPRESSED, blocked, subject, message_body)
    elif not sender.recipient(lead):
        error = f"lead #{lead.id} has no address for {ch}"
        done = _refuse(db, sender, req, MessageStatus.FAILED, error, subject, message_body)
    else:
        done = sender.send(db, req)
    result = {**_result(done.row), "duplicate": False}
    if done.outcome is not None:
        result["outcome"] = done.outcome
        result["retry_at"] = done.retry_at
    if done.outcome == "TASK":
        result["task_id"] = db.scalar(
            select(OperatorTaskDB.id).where(OperatorTaskDB.message_id == done.row.id)
        )
    return result


def _thread(ch: str, in_reply_to: str | None, references: Sequence[str]) -> tuple[str, ...]:
    """The checked References of an answer (Message-IDs, one header line each)."""
    refs = tuple(references)
    if (in_reply_to or refs) and ch != ChannelType.EMAIL:
        raise ValidationError(
            f"in_reply_to and references thread an email; leave them out for {ch}",
            field="in_reply_to",
        )
    for field, value in (("in_reply_to", in_reply_to), *(("references", r) for r in refs)):
        if value is not None and not is_message_id(value):
            raise ValidationError(
                f"not a Message-ID (<id@domain>, printable, one line): {value[:200]!r}",
                field=field,
            )
    return refs


def preview_message(
    db: Session,
    lead_id: int,
    message_body: str,
    subject: str | None = None,
    *,
    channel: str | ChannelType = ChannelType.EMAIL,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """A message as the channel would render it for this lead, with nothing written and
    nothing sent: the builder's live preview.

    The same checks and the same sandboxed rendering as a send (the channel's
    ``check_templates`` and ``render``), with the settings' sender identity (a send from a
    mailbox uses the mailbox's) and, for email, a stand-in unsubscribe link (the real one
    needs the attempt's id).

    Returns:
        ``channel``, ``lead_id``, ``recipient`` (None: the lead has no address for the
        channel), ``subject`` and ``body`` as rendered.

    Raises:
        NotFoundError: no such lead. ValidationError: unknown channel, or a template this
            lead cannot fill (unknown variable, an empty field without a fallback,
            something the sandbox refuses), with the field and line named.
    """
    ch = parse_channel(channel)
    sender = channel_for(ch)
    try:
        lead = repo.get_lead(db, workspace_id, lead_id)
        if lead is None:
            raise NotFoundError(f"no lead with id {lead_id}")
        req = AttemptRequest(
            lead=lead, body=message_body, key=f"preview:{lead_id}", now=utcnow(), subject=subject
        )
        sender.check_templates(req)
        # Email alone carries an unsubscribe link (the other channels render without one).
        link = (
            unsubscribe_url(get_settings().public_url, "preview")
            if ch == ChannelType.EMAIL
            else None
        )
        return {
            "channel": str(ch),
            "lead_id": lead.id,
            "recipient": sender.recipient(lead),
            "subject": sender.render(subject, req, "subject", unsubscribe_url=link),
            "body": sender.render(message_body, req, "body", unsubscribe_url=link),
        }
    finally:
        db.rollback()  # read only: end the transaction the lookups opened


def _refuse(
    db: Session,
    channel: Channel,
    req: AttemptRequest,
    status: MessageStatus,
    error: str,
    subject: str | None,
    body: str,
) -> AttemptResult:
    """An attempt refused before any channel code ran (suppressed, no address, a template
    this lead cannot fill): on record with the unrendered text and no transport."""
    return channel.refuse(
        db,
        req,
        error,
        status=status,
        source="aicmo",
        recipient=channel.recipient(req.lead),
        subject=subject,
        body=body,
        transport=None,
        message_type="cold_outreach",
    )


def record_refused(
    db: Session,
    lead_id: int,
    channel: str,
    error: str,
    *,
    key: str,
    now: datetime,
    campaign_id: int | None = None,
    enrollment_id: int | None = None,
    step_index: int | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    variant: str | None = None,
) -> int | None:
    """Put on record an attempt refused before any transport (a template this lead's
    data cannot fill); returns its id, or None when the key is already used."""
    with unit_of_work(db):
        lead = repo.get_lead(db, workspace_id, lead_id)
        if lead is None:
            return None
        if repo.attempt_by_key(db, key) is not None:
            return None
    req = AttemptRequest(
        lead=lead,
        body="",
        key=key,
        now=now,
        campaign_id=campaign_id,
        step_index=step_index,
        enrollment_id=enrollment_id,
        variant=variant,
    )
    sender = channel_for(channel)
    done = _refuse(db, sender, req, MessageStatus.FAILED, error[:2000], None, "")
    return done.row.id


def outcome_of(row: OutreachMessageDB) -> str:
    """What an attempt means for the sequence: SENT, TRANSIENT (retry later), PERMANENT
    (this channel will not work for this lead), UNUSABLE (cannot be tried: no address,
    no transport), SUPPRESSED (contact nobody), UNKNOWN (may have gone: never resend)."""
    status = row.status
    if status in {s.value for s in SENT_STATUSES} and status != MessageStatus.BOUNCED.value:
        return "SENT"
    if status == MessageStatus.BOUNCED.value:
        return "PERMANENT"
    if status == MessageStatus.SUPPRESSED.value:
        return "SUPPRESSED"
    if status in {MessageStatus.UNKNOWN.value, MessageStatus.SENDING.value}:
        return "UNKNOWN"
    if status == MessageStatus.QUEUED.value:
        return "TASK"  # handed to a person: an operator task is open
    error = row.error or ""
    if error.startswith("temporary"):
        return "TRANSIENT"
    if error.startswith("permanent"):
        return "PERMANENT"
    return "UNUSABLE"


def _result(row: OutreachMessageDB) -> dict[str, Any]:
    sent = row.status not in {
        MessageStatus.FAILED.value,
        MessageStatus.SUPPRESSED.value,
        MessageStatus.UNKNOWN.value,
        MessageStatus.QUEUED.value,
        MessageStatus.SENDING.value,
    }
    return {
        "success": sent,
        "status": row.status,
        "message_id": row.id,
        "lead_id": row.lead_id,
        "channel": row.channel,
        "transport": row.transport,
        "response": row.provider_message_id,
        "error": row.error,
        "idempotency_key": row.idempotency_key,
        "outcome": outcome_of(row),
    }


def get_outreach_history(
    db: Session,
    lead_id: int | None = None,
    campaign_id: int | None = None,
    channel: str | ChannelType | None = None,
    limit: int = 100,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> list[dict[str, Any]]:
    """Attempts, newest first, filtered by lead, campaign and channel.

    Raises:
        ValidationError: unknown channel or a limit outside 1..10000.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
        raise ValidationError(f"limit must be between 1 and 10000, got {limit!r}", field="limit")
    stmt = select(OutreachMessageDB).where(OutreachMessageDB.workspace_id == workspace_id)
    if lead_id is not None:
        stmt = stmt.where(OutreachMessageDB.lead_id == lead_id)
    if campaign_id is not None:
        stmt = stmt.where(OutreachMessageDB.campaign_id == campaign_id)
    if channel is not None:
        stmt = stmt.where(OutreachMessageDB.channel == str(parse_channel(channel)))
    stmt = stmt.order_by(OutreachMessageDB.created_at.desc(), OutreachMessageDB.id.desc()).limit(
        limit
    )
    return [message_to_dict(r) for r in db.scalars(stmt)]
