"""The email channel: a mailbox's SMTP server, or the local outbox when none is set up.

Its own part of the attempt lifecycle (:mod:`.base` runs the rest): choosing the sending
mailbox under its caps, building the message (unsubscribe link and headers, postal
footer, DKIM) once the attempt has its id, handing it to the transport, and reading the
SMTP answer (a hard bounce suppresses the address). Rendering and building happen inside
the transaction that commits SENDING, so a bad template or address fails with nothing
sent and nothing half-written. :func:`compose_email` is the one builder, for this path and
the engine's batched path alike.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import LeadDB, MailboxDB, OutreachMessageDB
from aicmo.cam.domain.channels import get_spec
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType, LeadStage, MessageStatus
from aicmo.cam.domain.suppression import SuppressionKind, SuppressionReason
from aicmo.cam.unsubscribe_token import UnsubscribeClaim, make_token, unsubscribe_url
from aicmo.config import Settings, get_settings
from aicmo.crypto import decrypt_secret
from aicmo.errors import (
    AicmoError,
    ChannelError,
    ConfigurationError,
    MailboxesDisabledError,
    RateLimitedError,
    ValidationError,
)
from aicmo.operator_services.channels.base import (
    AttemptRequest,
    AttemptResult,
    Channel,
    check_templates,
    control_char_fields,
    lead_context,
)

__all__ = [
    "ALL_MAILBOXES_DISABLED",
    "EmailChannel",
    "Sender",
    "check_templates",
    "close_transports",
    "compose_email",
    "installation_namespace",
    "lead_context",
    "pick_sender",
    "pinned_sender",
    "record_outcome",
    "sender_of",
    "sending_mailboxes",
    "smtp_settings_for",
    "transport_for",
]
from aicmo.operator_services.channels.email_message import (
    EmailContent,
    EmailEnvelope,
    build_email,
    dkim_sign,
    make_message_id,
)
from aicmo.operator_services.channels.limits import mailbox_next_slot, sends_today
from aicmo.operator_services.crm.events import regrade_if_lead
from aicmo.operator_services.crm.suppression import add_entry
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


#: Why email waits when every SMTP mailbox of the workspace is disabled.
ALL_MAILBOXES_DISABLED = (
    "all mailboxes disabled: email waits until one is enabled (`aicmo mailbox enable NAME`)"
)
#: How soon an attempt that waited for a disabled mailbox looks again.
DISABLED_RECHECK = timedelta(minutes=10)


def pick_sender(db: Session, workspace_id: int, now: datetime, settings: Settings) -> Sender:
    """The enabled SMTP mailbox with room under its caps, least used today first.

    With no SMTP mailbox configured at all, the settings' identity and the local outbox
    (the demo's default). With SMTP mailboxes that are all disabled, nothing: the
    operator paused sending, and the outbox would only look sent.

    Raises:
        MailboxesDisabledError: every SMTP mailbox is disabled (a RateLimitedError: the
            attempt waits and is tried again at ``retry_at``).
        RateLimitedError: every mailbox is at its hourly or daily cap.
    """
    mailboxes = sending_mailboxes(db, workspace_id)
    if not mailboxes:
        if repo.has_smtp_mailbox(db, workspace_id):
            raise MailboxesDisabledError(ALL_MAILBOXES_DISABLED, retry_at=now + DISABLED_RECHECK)
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
    return sender_of(best[1], settings)


def pinned_sender(
    db: Session, workspace_id: int, mailbox_id: int, now: datetime, settings: Settings
) -> Sender:
    """The one mailbox an answer must go out from (the conversation's), under its caps.

    An answer from another address would start a new conversation in the lead's mail
    client, so there is no rotation here: the mailbox sends, or the answer waits.

    Raises:
        ConfigurationError: the mailbox was deleted or has no SMTP server.
        MailboxesDisabledError: the mailbox is disabled.
        RateLimitedError: the mailbox is at a cap or within its minimum gap.
    """
    mailbox = repo.mailbox_by_ref(db, workspace_id, mailbox_id=mailbox_id)
    if mailbox is None or not mailbox.smtp_host:
        raise ConfigurationError(
            f"the conversation's mailbox (#{mailbox_id}) no longer exists or has no SMTP "
            "server; set one up (aicmo mailbox add) and answer from your mail client"
        )
    if not mailbox.enabled:
        raise MailboxesDisabledError(
            f"mailbox {mailbox.name} is disabled: enable it (`aicmo mailbox enable "
            f"{mailbox.name}`) to answer from it",
            retry_at=now + DISABLED_RECHECK,
        )
    slot = mailbox_next_slot(db, mailbox, now)
    if slot != now:
        when = f"; next slot {slot:%Y-%m-%d %H:%M} UTC" if slot is not None else ""
        raise RateLimitedError(
            f"mailbox {mailbox.name} is at its hourly or daily cap or minimum gap{when}",
            retry_at=slot or now + timedelta(hours=1),
        )
    return sender_of(mailbox, settings)


def sender_of(
    mailbox: MailboxDB | None, settings: Settings, dkim_keys: dict[int, bytes] | None = None
) -> Sender:
    """Who a message from ``mailbox`` is from (the settings' identity with no mailbox).

    ``dkim_keys`` caches decrypted DKIM keys by mailbox for a batch of messages.
    """
    if mailbox is None:
        return Sender(None, settings.sender_name, settings.sender_email, None, None)
    dkim = None
    if mailbox.dkim_key and mailbox.dkim_domain and mailbox.dkim_selector:
        cache = {} if dkim_keys is None else dkim_keys
        if mailbox.id not in cache:
            cache[mailbox.id] = decrypt_secret(mailbox.dkim_key, settings).encode()
        dkim = (mailbox.dkim_domain, mailbox.dkim_selector, cache[mailbox.id])
    # A mailbox without a display name sends without one (never a name it was not given).
    return Sender(mailbox.id, mailbox.from_name or "", mailbox.from_address, mailbox.reply_to, dkim)


def display_name(first_name: str | None, last_name: str | None) -> str | None:
    """The recipient's name for the To header, or None."""
    return " ".join(p for p in (first_name, last_name) if p) or None


def compose_email(
    sender: Sender,
    *,
    to_name: str | None,
    to_address: str,
    subject: str,
    text: str | None,
    html: str | None,
    rfc_id: str,
    unsubscribe_link: str,
    now: datetime,
    postal_address: str | None,
    extra_headers: Mapping[str, str] | None = None,
) -> bytes:
    """The bytes of one outreach email: headers with one-click and mailto unsubscribe,
    the postal footer, and the DKIM signature when the mailbox has a key.
    ``extra_headers``: an answer's ``In-Reply-To`` and ``References`` (signed by DKIM).

    Raises:
        ValidationError: an address, header value or body the builder refuses.
    """
    message = build_email(
        EmailContent(subject=subject, text=text, html=html),
        EmailEnvelope(
            from_name=sender.name,
            from_address=sender.address,
            to_name=to_name,
            to_address=to_address,
            reply_to=sender.reply_to,
        ),
        message_id=rfc_id,
        date=now,
        unsubscribe_https=unsubscribe_link,
        unsubscribe_mailto=f"mailto:{sender.reply_to or sender.address}?subject=unsubscribe",
        postal_address=postal_address,
        extra_headers=extra_headers,
    )
    if sender.dkim is not None:
        dkim_domain, selector, pem = sender.dkim
        message = dkim_sign(message, selector=selector, domain=dkim_domain, private_key_pem=pem)
    return message


# --- one attempt ---------------------------------------------------------------------------


class EmailChannel(Channel):
    """Email: rotation across the workspace's mailboxes under their caps, or the outbox."""

    spec = get_spec(ChannelType.EMAIL)
    transport = "smtp"

    def send(self, db: Session, req: AttemptRequest) -> AttemptResult:
        """Pick the mailbox and build the message under the channel's lock, commit
        SENDING, hand the bytes to the transport, commit the outcome."""
        settings = get_settings()
        self.check_templates(req)
        lead = req.lead
        assert lead.email is not None and lead.email_key is not None
        # Keys are unique per database; the namespace makes Message-IDs and outbox files
        # unique across databases and installations too (receivers drop duplicate IDs).
        global_key = f"{installation_namespace(db, lead.workspace_id)}:{req.key}"
        picked: list[Sender] = []
        built: list[bytes] = []

        thread = thread_headers(req)

        def reserve() -> dict[str, Any]:
            if req.mailbox_id is not None:
                sender = pinned_sender(db, lead.workspace_id, req.mailbox_id, req.now, settings)
            else:
                sender = pick_sender(db, lead.workspace_id, req.now, settings)
            picked.append(sender)
            domain = sender.address.rpartition("@")[2]
            fields: dict[str, Any] = {
                "mailbox_id": sender.mailbox_id,
                "rfc_message_id": make_message_id(global_key, domain),
                "transport": "smtp" if sender.mailbox_id else "outbox",
            }
            if thread:
                # Kept on the attempt, so an answer to the lead's next reply continues
                # the same References chain.
                fields["message_type"] = "reply"
                fields["details"] = {
                    "in_reply_to": req.in_reply_to,
                    "references": list(req.references),
                }
            return fields

        def compose(row: OutreachMessageDB) -> None:
            sender = picked[0]
            token = make_token(
                settings.get_secret_key(), UnsubscribeClaim(lead.workspace_id, row.id)
            )
            link = unsubscribe_url(settings.public_url, token)
            who = {"name": sender.name, "email": sender.address}
            row.subject = self.render(
                req.subject or "", req, "subject", sender=who, unsubscribe_url=link
            )
            row.body = self.render(req.body, req, "body", sender=who, unsubscribe_url=link)
            html = self.render(req.html, req, "html", sender=who, unsubscribe_url=link, html=True)
            assert row.subject is not None and row.rfc_message_id is not None
            try:
                message = compose_email(
                    sender,
                    to_name=display_name(lead.first_name, lead.last_name),
                    to_address=lead.email or "",
                    subject=row.subject,
                    text=row.body,
                    html=html,
                    rfc_id=row.rfc_message_id,
                    unsubscribe_link=link,
                    now=req.now,
                    postal_address=settings.sender_postal_address,
                    extra_headers=thread,
                )
            except ValidationError as err:
                culprits = control_char_fields(lead)
                if err.field != "subject" or not culprits:
                    raise
                # The operator fixes the lead's data, not the template: say which field.
                raise ValidationError(
                    f"{err.message} (from the lead's {', '.join(culprits)})", field=err.field
                ) from None
            built.append(message)

        row = self.begin(db, req, reserve=reserve, inside=compose)
        # SENDING is committed: from here on the attempt exists whatever happens.
        sender = picked[0]
        mailbox = db.get(MailboxDB, sender.mailbox_id) if sender.mailbox_id else None
        outcome: SendReceipt | AicmoError
        try:
            transport = transport_for(mailbox, settings)
            outcome = transport.send(
                built[0], mail_from=sender.address, rcpt_to=lead.email, now=req.now, key=global_key
            )
        except (ChannelError, ConfigurationError) as err:
            # Configuration problems are found before anything is handed over: not sent.
            outcome = err
        record_outcome(db, row, lead, outcome, req.now)
        return AttemptResult(row)


def thread_headers(req: AttemptRequest) -> dict[str, str]:
    """``In-Reply-To`` and ``References`` of an answer (empty for a first message)."""
    headers: dict[str, str] = {}
    if req.in_reply_to:
        headers["In-Reply-To"] = req.in_reply_to
    if req.references:
        headers["References"] = " ".join(req.references)
    return headers


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
        "variant": row.variant,
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
