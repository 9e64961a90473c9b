"""Sending one email attempt, exactly once.

The order is the invariant: the attempt row with its unique idempotency key is committed
in state SENDING before the transport is called; the outcome is committed after. A crash
between the two leaves SENDING, which the engine turns into UNKNOWN and never resends
blindly. Rendering and building happen before the SENDING commit, so a bad template or
address fails with nothing sent and nothing half-written.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import LeadDB, MailboxDB, OutreachMessageDB
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType, LeadStage, MessageStatus
from aicmo.cam.domain.suppression import SuppressionKind, SuppressionReason
from aicmo.cam.outreach.email_message import (
    EmailContent,
    EmailEnvelope,
    build_email,
    dkim_sign,
    make_message_id,
)
from aicmo.cam.unsubscribe import UnsubscribeClaim, make_token, unsubscribe_url
from aicmo.config import Settings, get_settings
from aicmo.crypto import decrypt_secret
from aicmo.errors import AicmoError, ChannelError, ConfigurationError, RateLimitedError
from aicmo.operator_services.events import regrade_if_lead
from aicmo.operator_services.leads import lead_to_dict
from aicmo.operator_services.limits import (
    begin_send_transaction,
    check_channel_limits,
    mailbox_next_slot,
    sends_today,
)
from aicmo.operator_services.suppression import add_entry
from aicmo.operator_services.uow import unit_of_work
from aicmo.transports import send_process
from aicmo.transports.base import (
    PermanentSendError,
    SendOutcomeUnknownError,
    SendReceipt,
    TransientSendError,
    Transport,
)
from aicmo.transports.outbox import OutboxTransport
from aicmo.transports.rendering import RenderContext, render, validate_template
from aicmo.transports.smtp import Security, SmtpSettings, SmtpTransport


@dataclass(frozen=True, slots=True)
class Sender:
    mailbox_id: int | None
    name: str
    address: str
    reply_to: str | None
    dkim: tuple[str, str, bytes] | None  # (domain, selector, private key PEM)


# --- transports: one per mailbox per process, so SMTP connections are reused ----------

_lock = threading.Lock()
_transports: dict[tuple[Any, ...], Transport] = {}


def smtp_settings_for(mailbox: MailboxDB, settings: Settings) -> SmtpSettings:
    secret = decrypt_secret(mailbox.smtp_secret, settings) if mailbox.smtp_secret else None
    assert mailbox.smtp_host is not None and mailbox.smtp_port is not None
    return SmtpSettings(
        host=mailbox.smtp_host,
        port=mailbox.smtp_port,
        security=Security(mailbox.smtp_security),
        username=mailbox.smtp_username,
        password=secret if mailbox.smtp_auth == "password" else None,
        oauth2_token=secret if mailbox.smtp_auth == "oauth2" else None,
    )


def transport_for(mailbox: MailboxDB | None, settings: Settings) -> Transport:
    """The SMTP transport of a mailbox, or the local outbox when no mailbox is configured."""
    if mailbox is None:
        key: tuple[Any, ...] = ("outbox", str(settings.resolved_outbox_dir))
    else:
        key = ("smtp", mailbox.id, mailbox.updated_at, mailbox.smtp_host, mailbox.smtp_port)
    with _lock:
        transport = _transports.get(key)
        if transport is None:
            if mailbox is None:
                transport = OutboxTransport(settings.resolved_outbox_dir)
            else:
                transport = SmtpTransport(smtp_settings_for(mailbox, settings))
            _transports[key] = transport
        return transport


def close_transports() -> None:
    """QUIT every kept-open connection, the sending process's too."""
    with _lock:
        for transport in _transports.values():
            with contextlib.suppress(Exception):  # closing at exit must not raise
                transport.close()
        _transports.clear()
    with contextlib.suppress(Exception):
        send_process.close()


atexit.register(close_transports)


# --- choosing the sender -----------------------------------------------------------------


def installation_namespace(db: Session, workspace_id: int) -> str:
    """A short identifier unique to this database's workspace (derived, not its salt)."""
    ws = repo.get_workspace(db, workspace_id)
    assert ws is not None
    return hashlib.sha256(f"namespace:{ws.hash_salt}".encode()).hexdigest()[:12]


def sending_mailboxes(db: Session, workspace_id: int) -> list[MailboxDB]:
    """The workspace's enabled SMTP mailboxes, in a stable order."""
    return list(
        db.scalars(
            select(MailboxDB)
            .where(
                MailboxDB.workspace_id == workspace_id,
                MailboxDB.enabled.is_(True),
                MailboxDB.smtp_host.is_not(None),
            )
            .order_by(MailboxDB.id)
        )
    )


def pick_sender(db: Session, workspace_id: int, now: datetime, settings: Settings) -> Sender:
    """The enabled SMTP mailbox with room under its caps, least used today first.

    With no SMTP mailbox configured at all, the settings' identity and the local outbox.

    Raises:
        RateLimitedError: every mailbox is at its hourly or daily cap.
    """
    mailboxes = sending_mailboxes(db, workspace_id)
    if not mailboxes:
        return Sender(None, settings.sender_name, settings.sender_email, None, None)
    best: tuple[int, MailboxDB] | None = None
    soonest: datetime | None = None
    for mb in mailboxes:
        slot = mailbox_next_slot(db, mb, now)
        if slot != now:
            if slot is not None and (soonest is None or slot < soonest):
                soonest = slot
            continue
        today = sends_today(db, mb.id, now)
        if best is None or today < best[0]:
            best = (today, mb)
    if best is None:
        raise RateLimitedError(
            "every mailbox is at its hourly or daily cap or minimum gap; add a mailbox or wait",
            retry_at=soonest or now + timedelta(hours=1),
        )
    mb = best[1]
    dkim = None
    if mb.dkim_key and mb.dkim_domain and mb.dkim_selector:
        dkim = (mb.dkim_domain, mb.dkim_selector, decrypt_secret(mb.dkim_key, settings).encode())
    # A mailbox without a display name sends without one (never a name it was not given).
    return Sender(mb.id, mb.from_name or "", mb.from_address, mb.reply_to, dkim)


# --- one attempt ---------------------------------------------------------------------------


def lead_context(lead: LeadDB | dict[str, Any]) -> dict[str, Any]:
    """What templates see as ``lead`` (the rendering layer picks the fields it exposes),
    from the row or from its :func:`~aicmo.operator_services.leads.lead_record`."""
    data = lead_to_dict(lead) if isinstance(lead, LeadDB) else dict(lead)
    data["custom"] = data.pop("custom_fields")
    return data


def check_templates(subject: str | None, body: str, html: str | None = None) -> None:
    """Refuse unknown variables and unsafe templates before anything is written."""
    if subject is not None:
        validate_template(subject, field="subject")
    validate_template(body, field="body")
    if html is not None:
        validate_template(html, field="html")


def send_email_attempt(
    db: Session,
    lead: LeadDB,
    *,
    subject: str,
    body: str,
    html: str | None,
    key: str,
    now: datetime,
    campaign_id: int | None = None,
    step_index: int | None = None,
    message_type: str = "cold_outreach",
    enrollment_id: int | None = None,
) -> OutreachMessageDB:
    """Render, build, commit SENDING, hand to the transport, commit the outcome.

    The caller has checked suppression and that the idempotency key is new.
    """
    settings = get_settings()
    check_templates(subject, body, html)
    assert lead.email is not None and lead.email_key is not None
    db.rollback()  # the send transaction below must start fresh (it takes the write lock)
    with unit_of_work(db):
        begin_send_transaction(db)
        # Invariant 3: the windows are checked under the channel's lock, in the same
        # transaction as the SENDING row that takes the slot.
        check_channel_limits(db, lead.workspace_id, ChannelType.EMAIL, now)
        sender = pick_sender(db, lead.workspace_id, now, settings)
        domain = sender.address.rpartition("@")[2]
        # Keys are unique per database; the namespace makes Message-IDs and outbox files
        # unique across databases and installations too (receivers drop duplicate IDs).
        global_key = f"{installation_namespace(db, lead.workspace_id)}:{key}"
        rfc_id = make_message_id(global_key, domain)
        row = OutreachMessageDB(
            workspace_id=lead.workspace_id,
            lead_id=lead.id,
            campaign_id=campaign_id,
            enrollment_id=enrollment_id,
            mailbox_id=sender.mailbox_id,
            step_index=step_index,
            channel=ChannelType.EMAIL.value,
            message_type=message_type,
            status=MessageStatus.SENDING.value,
            recipient=lead.email,
            idempotency_key=key,
            rfc_message_id=rfc_id,
            scheduled_at=now,
            created_at=now,
            updated_at=now,
            transport="smtp" if sender.mailbox_id else "outbox",
        )
        db.add(row)
        db.flush()
        token = make_token(settings.get_secret_key(), UnsubscribeClaim(lead.workspace_id, row.id))
        link = unsubscribe_url(settings.public_url, token)
        context = RenderContext(
            lead=lead_context(lead),
            sender={"name": sender.name, "email": sender.address},
            unsubscribe_url=link,
        )
        row.subject = render(subject, context, seed=key, field="subject")
        row.body = render(body, context, seed=key, field="body")
        rendered_html = render(html, context, seed=key, html=True, field="html") if html else None
        message = build_email(
            EmailContent(subject=row.subject, text=row.body, html=rendered_html),
            EmailEnvelope(
                from_name=sender.name,
                from_address=sender.address,
                to_name=" ".join(p for p in (lead.first_name, lead.last_name) if p) or None,
                to_address=lead.email,
                reply_to=sender.reply_to,
            ),
            message_id=rfc_id,
            date=now,
            unsubscribe_https=link,
            unsubscribe_mailto=f"mailto:{sender.reply_to or sender.address}?subject=unsubscribe",
            postal_address=settings.sender_postal_address,
        )
        if sender.dkim is not None:
            dkim_domain, selector, pem = sender.dkim
            message = dkim_sign(message, selector=selector, domain=dkim_domain, private_key_pem=pem)
        repo.add_event(
            db,
            lead.workspace_id,
            OutreachEvent(
                type=EventType.MESSAGE_ATTEMPTED,
                occurred_at=now,
                channel=ChannelType.EMAIL,
                recipient=lead.email,
            ),
            lead_id=lead.id,
            campaign_id=campaign_id,
            message_id=row.id,
            step_index=step_index,
            mailbox_id=sender.mailbox_id,
        )
    # SENDING is committed: from here on the attempt exists whatever happens.
    mailbox = db.get(MailboxDB, sender.mailbox_id) if sender.mailbox_id else None
    outcome: SendReceipt | AicmoError
    try:
        transport = transport_for(mailbox, settings)
        outcome = transport.send(
            message, mail_from=sender.address, rcpt_to=lead.email, now=now, key=global_key
        )
    except (ChannelError, ConfigurationError) as err:
        # Configuration problems are found before anything is handed over: not sent.
        outcome = err
    record_outcome(db, row, lead, outcome, now)
    return row


def record_outcome(
    db: Session,
    row: OutreachMessageDB,
    lead: LeadDB,
    outcome: SendReceipt | AicmoError,
    now: datetime,
) -> None:
    ws = row.workspace_id
    common: dict[str, Any] = {
        "lead_id": lead.id,
        "campaign_id": row.campaign_id,
        "message_id": row.id,
        "step_index": row.step_index,
        "mailbox_id": row.mailbox_id,
    }

    def event(type_: EventType, reason: str | None = None, **detail: Any) -> None:
        repo.add_event(
            db,
            ws,
            OutreachEvent(
                type=type_,
                occurred_at=now,
                channel=ChannelType.EMAIL,
                source=row.transport or "aicmo",
                recipient=row.recipient,
                reason=reason,
                detail=detail,
            ),
            **common,
        )

    with unit_of_work(db):
        row.updated_at = now
        if isinstance(outcome, SendReceipt):
            row.status = MessageStatus.SENT.value
            row.sent_at = now
            row.transport = outcome.transport
            row.provider_message_id = outcome.response[:500]
            event(
                EventType.MESSAGE_SENT,
                outcome.response[:500],
                transport=outcome.transport,
                path=outcome.path,
            )
            if lead.stage == LeadStage.NEW.value:
                lead.stage = LeadStage.CONTACTED.value
        elif isinstance(outcome, PermanentSendError) and outcome.hard_bounce:
            row.status = MessageStatus.BOUNCED.value
            row.bounced_at = now
            row.error = str(outcome)[:2000]
            assert lead.email_key is not None
            add_entry(
                db,
                ws,
                SuppressionKind.EMAIL,
                lead.email_key,
                SuppressionReason.HARD_BOUNCE,
                source="smtp",
                now=now,
                note=str(outcome)[:500],
            )
            event(
                EventType.BOUNCED_HARD,
                str(outcome)[:500],
                code=outcome.code,
                enhanced=outcome.enhanced,
                stage=outcome.stage,
            )
            regrade_if_lead(db, lead, EventType.BOUNCED_HARD, now)
        elif isinstance(outcome, SendOutcomeUnknownError):
            row.status = MessageStatus.UNKNOWN.value
            row.error = f"outcome unknown: {outcome}"[:2000]
            event(EventType.MESSAGE_OUTCOME_UNKNOWN, str(outcome)[:500], stage=outcome.stage)
        else:
            transient = isinstance(outcome, TransientSendError)
            stage = getattr(outcome, "stage", None)
            # connect/ehlo/auth/mail failures are the mailbox's problem, not the lead's.
            mailbox_problem = stage in {"connect", "ehlo", "auth", "mail"} or isinstance(
                outcome, ConfigurationError
            )
            kind = "temporary" if transient else "permanent"
            where = "mailbox problem, not the recipient's" if mailbox_problem else "recipient"
            row.status = MessageStatus.FAILED.value
            row.error = f"{kind} failure ({where}): {outcome}"[:2000]
            event(
                EventType.MESSAGE_FAILED,
                str(outcome)[:500],
                transient=transient,
                stage=getattr(outcome, "stage", None),
                code=getattr(outcome, "code", None),
            )
