"""One attempt's lifecycle, the same for every channel.

A channel writes only what is its own: where the lead is reached (its
:class:`~aicmo.cam.domain.channels.ChannelSpec`), how a message is carried
(:meth:`Channel.deliver`), and, where it must, how its provider's answers map to outcomes.
Everything else is done here, once, for every channel, in a fixed order:

1. the caller (``send_outreach_message``) checks the key, suppression and the address,
   and records a refusal through :meth:`Channel.refuse`;
2. the templates are rendered before anything is written (a template this lead cannot
   fill fails with nothing on record but the refusal);
3. :meth:`Channel.begin` takes the channel's lock, checks its rate windows (and the
   channel's own caps, ``reserve``), and commits the attempt row with its unique
   idempotency key: SENDING before a transport is called (invariant 1), or QUEUED when
   :meth:`Channel.hand_to_person` opens an operator task in the same transaction;
4. the transport is called; :meth:`Channel.settle_sent` or :meth:`Channel.settle_failure`
   commits the outcome (a transport error maps to a temporary or permanent failure, or to
   UNKNOWN when the message may have gone: never resent blindly).

This module is the only place an attempt row is built (:meth:`Channel.new_row`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from aicmo.cam.db_models import LeadDB, OutreachMessageDB
from aicmo.cam.domain.channels import ChannelSpec, address_of
from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.leads import has_control_char
from aicmo.cam.domain.messages import LeadStage, MessageStatus
from aicmo.config import get_settings
from aicmo.errors import (
    AicmoError,
    ConfigurationError,
    OutcomeUnknownError,
    RateLimitedError,
    TransientChannelError,
)
from aicmo.operator_services.campaigns import check_subject_line
from aicmo.operator_services.channels.limits import begin_send_transaction, check_channel_limits
from aicmo.operator_services.channels.tasks import open_task
from aicmo.operator_services.crm.events import attempt_event
from aicmo.operator_services.leads import lead_to_dict
from aicmo.operator_services.uow import unit_of_work
from aicmo.transports.rendering import RenderContext, render, validate_template

__all__ = [
    "AttemptRequest",
    "AttemptResult",
    "Channel",
    "Receipt",
    "check_templates",
    "control_char_fields",
    "lead_context",
    "mark_contacted",
]


@dataclass(frozen=True, slots=True)
class AttemptRequest:
    """One message for one lead on one channel, as the service layer asks for it
    (templates not yet rendered)."""

    lead: LeadDB
    body: str
    key: str
    now: datetime
    subject: str | None = None
    html: str | None = None
    #: LinkedIn: the connection note, and what the step does (message / connect / view).
    note: str | None = None
    action: str | None = None
    campaign_id: int | None = None
    step_index: int | None = None
    enrollment_id: int | None = None
    #: The A/B variant of the step this attempt sends (None outside a test).
    variant: str | None = None
    #: An answer in a conversation: the Message-ID it answers and the thread's
    #: References (email), and the mailbox or LinkedIn account the conversation used
    #: (None: the channel chooses, as for any send).
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    mailbox_id: int | None = None
    linkedin_account_id: int | None = None

    @property
    def common(self) -> dict[str, Any]:
        """The attempt row's links to its campaign, step, variant and enrollment."""
        return {
            "campaign_id": self.campaign_id,
            "step_index": self.step_index,
            "variant": self.variant,
            "enrollment_id": self.enrollment_id,
        }


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """The attempt on record and, when its status alone does not say what the sequence
    does next, ``outcome``: TASK (a person does it) or WAIT (look again at
    ``retry_at``, e.g. a connection request not yet accepted)."""

    row: OutreachMessageDB
    outcome: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """What :meth:`Channel.deliver` returns once its transport carried the message.

    ``response`` is the other side's answer (kept as the provider message id),
    ``transport`` overrides the row's when the channel chose another at send time, and
    ``details`` is kept on the attempt.
    """

    response: str | None = None
    transport: str | None = None
    details: dict[str, Any] | None = None


def lead_context(lead: LeadDB | dict[str, Any]) -> dict[str, Any]:
    """What templates see as ``lead`` (the rendering layer picks the fields it exposes),
    from the row or from its :func:`~aicmo.operator_services.leads.lead_record`."""
    data = lead_to_dict(lead) if isinstance(lead, LeadDB) else dict(lead)
    data["custom"] = data.pop("custom_fields")
    return data


def check_templates(subject: str | None, body: str, html: str | None = None) -> None:
    """Refuse unknown variables and unsafe templates before anything is written."""
    if subject is not None:
        check_subject_line(subject)
        validate_template(subject, field="subject")
    validate_template(body, field="body")
    if html is not None:
        validate_template(html, field="html")


def control_char_fields(lead: LeadDB) -> list[str]:
    """The lead's custom fields whose text has a line break or another control character
    (the standard fields refuse them when they are stored; custom fields keep what they
    were given), to name in the error of a message they made unbuildable."""
    return sorted(
        f"custom.{name}"
        for name, value in (lead.custom_fields or {}).items()
        if isinstance(value, str) and has_control_char(value)
    )


class Channel:
    """The base every channel extends. Subclasses set :attr:`spec` and
    :attr:`transport`, and implement :meth:`deliver`; a channel whose sending is more than
    one call (LinkedIn's invitation then message, a form found then submitted) overrides
    :meth:`send` and builds it from the same steps."""

    #: The channel's name and the lead fields that hold its address.
    spec: ClassVar[ChannelSpec]
    #: Written on the attempt row (``smtp``, ``http``, a provider's name…).
    transport: ClassVar[str]
    message_type: ClassVar[str] = "cold_outreach"
    #: The ``source`` of the channel's events; None: the row's transport.
    event_source: ClassVar[str | None] = None

    @property
    def name(self) -> str:
        return self.spec.name

    # --- what a channel may override --------------------------------------------------------

    def recipient(self, lead: LeadDB) -> str | None:
        """The address this channel uses for ``lead`` (None: it cannot reach them)."""
        return address_of(self.name, lead)

    def sender(self) -> dict[str, str]:
        """Who templates see as ``sender``: the settings' identity unless the channel
        sends as someone else (a mailbox)."""
        settings = get_settings()
        return {"name": settings.sender_name, "email": settings.sender_email or ""}

    def send(self, db: Session, req: AttemptRequest) -> AttemptResult:
        """Render, commit SENDING, deliver, commit the outcome (one call, one message).

        Raises:
            ValidationError: a template this lead's data cannot fill (nothing written).
            RateLimitedError: a window is full (nothing written).
        """
        subject = self.render(req.subject, req, "subject")
        body = self.render(req.body, req, "body")
        row = self.begin(db, req, subject=subject, body=body)
        try:
            receipt = self.deliver(row, req)
        except AicmoError as err:
            return self.settle_failure(db, row, err, req.now)
        return self.settle_sent(db, row, receipt, req.now)

    def deliver(self, row: OutreachMessageDB, req: AttemptRequest) -> Receipt:
        """Hand the rendered attempt (``row.subject``, ``row.body``, ``row.recipient``) to
        the transport. Raise a :class:`~aicmo.errors.TransientChannelError` (nothing
        went, try later), a :class:`~aicmo.errors.PermanentChannelError` (refused for
        good) or an :class:`~aicmo.errors.OutcomeUnknownError` (it may have gone)."""
        raise NotImplementedError(f"channel {self.name} does not deliver by itself")

    def failure(self, err: AicmoError) -> str:
        """The attempt's error text for a transport error: it starts with ``temporary``
        (the sequence retries) or ``permanent`` (it falls back)."""
        if isinstance(err, TransientChannelError | ConfigurationError | RateLimitedError):
            return f"temporary: {err.message}"
        return f"permanent: {err.message}"

    # --- the fixed steps --------------------------------------------------------------------

    def check_templates(self, req: AttemptRequest) -> None:
        check_templates(req.subject, req.body, req.html)

    def render(
        self,
        text: str | None,
        req: AttemptRequest,
        field: str,
        *,
        sender: dict[str, str] | None = None,
        unsubscribe_url: str | None = None,
        html: bool = False,
    ) -> str | None:
        """A template rendered for this lead (spintax seeded by the attempt's key)."""
        if text is None:
            return None
        context = RenderContext(
            lead=lead_context(req.lead),
            sender=sender if sender is not None else self.sender(),
            unsubscribe_url=unsubscribe_url,
        )
        return render(text, context, seed=req.key, html=html, field=field)

    def new_row(
        self, req: AttemptRequest, status: MessageStatus, **fields: Any
    ) -> OutreachMessageDB:
        """The attempt row (not yet added). ``fields`` override the defaults."""
        lead = req.lead
        values: dict[str, Any] = {
            "workspace_id": lead.workspace_id,
            "lead_id": lead.id,
            **req.common,
            "channel": str(self.name),
            "message_type": self.message_type,
            "status": status.value,
            "recipient": self.recipient(lead),
            "transport": self.transport,
            "idempotency_key": req.key,
            "scheduled_at": req.now,
            "created_at": req.now,
            "updated_at": req.now,
            **fields,
        }
        return OutreachMessageDB(**values)

    def event(
        self,
        db: Session,
        row: OutreachMessageDB,
        type_: EventType,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        attempt_event(db, row, type_, now, reason, source=self.event_source)

    def refuse(
        self,
        db: Session,
        req: AttemptRequest,
        error: str,
        *,
        status: MessageStatus = MessageStatus.FAILED,
        source: str | None = None,
        **fields: Any,
    ) -> AttemptResult:
        """Put on record an attempt that no transport carried, with its reason
        (suppressed, no address, a rule of the channel, a lookup that failed).
        ``source`` names who refused, for the events (default: the channel)."""
        with unit_of_work(db):
            row = self.new_row(req, status, **fields)
            row.error = error[:2000]
            db.add(row)
            db.flush()
            for type_, reason in (
                (EventType.MESSAGE_ATTEMPTED, None),
                (EventType.MESSAGE_FAILED, error[:500]),
            ):
                attempt_event(db, row, type_, req.now, reason, source=source or self.event_source)
        return AttemptResult(row)

    def begin(
        self,
        db: Session,
        req: AttemptRequest,
        *,
        status: MessageStatus = MessageStatus.SENDING,
        reason: str | None = None,
        reserve: Callable[[], dict[str, Any]] | None = None,
        inside: Callable[[OutreachMessageDB], None] | None = None,
        **fields: Any,
    ) -> OutreachMessageDB:
        """Commit the attempt (SENDING, or QUEUED for a person) under the channel's lock,
        after its windows are checked (invariant 3).

        ``reserve`` runs under the lock before the row exists: the channel's own caps
        (raise RateLimitedError) and the fields they decide (the mailbox that sends; a
        ``status`` of FAILED with its ``error`` when a rule seen only under the lock
        refuses the attempt).
        ``inside`` runs once the row has its id, in the same transaction (what needs the
        id: an unsubscribe token, the message built from it, an operator task).
        """
        db.rollback()  # the lock is taken by the transaction's first statement
        with unit_of_work(db):
            begin_send_transaction(db)
            check_channel_limits(db, req.lead.workspace_id, self.name, req.now)
            if reserve is not None:
                fields = {**fields, **reserve()}
            row = self.new_row(req, status, **fields)
            db.add(row)
            db.flush()
            self.event(db, row, EventType.MESSAGE_ATTEMPTED, req.now, reason)
            if inside is not None:
                inside(row)
        return row

    def hand_to_person(
        self,
        db: Session,
        req: AttemptRequest,
        *,
        kind: str,
        title: str,
        instructions: str,
        url: str | None,
        reason: str,
        **fields: Any,
    ) -> AttemptResult:
        """An operator task instead of a send: the attempt is QUEUED (it takes its slot in
        the windows now) and the task is opened in the same transaction."""

        def task(row: OutreachMessageDB) -> None:
            open_task(
                db,
                row,
                kind=kind,
                title=title,
                body=instructions,
                url=url if url is not None else row.recipient,
                reason=reason,
                now=req.now,
            )

        fields.setdefault("transport", "operator")
        row = self.begin(
            db, req, status=MessageStatus.QUEUED, reason="handed to a person", inside=task, **fields
        )
        return AttemptResult(row, "TASK")

    def settle_sent(
        self,
        db: Session,
        row: OutreachMessageDB,
        receipt: Receipt,
        now: datetime,
        *,
        events: tuple[tuple[EventType, str | None], ...] = ((EventType.MESSAGE_SENT, None),),
    ) -> AttemptResult:
        """Commit SENT, its events, and the lead's move from NEW to CONTACTED."""
        with unit_of_work(db):
            row.status = MessageStatus.SENT.value
            row.sent_at = row.updated_at = now
            if receipt.transport is not None:
                row.transport = receipt.transport
            if receipt.response is not None:
                row.provider_message_id = receipt.response[:500]
            if receipt.details is not None:
                row.details = receipt.details
            for type_, reason in events:
                self.event(db, row, type_, now, reason)
            mark_contacted(db, row)
        return AttemptResult(row)

    def settle_failure(
        self, db: Session, row: OutreachMessageDB, err: AicmoError, now: datetime
    ) -> AttemptResult:
        """Commit what a transport error means: UNKNOWN when the message may have gone,
        else a failure the sequence retries or falls back from."""
        if isinstance(err, OutcomeUnknownError):
            self.finish_unknown(db, row, f"outcome unknown: {err.message}", now, err.message)
        else:
            self.finish_failed(db, row, self.failure(err), now)
        return AttemptResult(row)

    def finish_unknown(
        self,
        db: Session,
        row: OutreachMessageDB,
        error: str,
        now: datetime,
        reason: str | None = None,
    ) -> None:
        """The message may have gone: UNKNOWN, shown to the operator, never resent."""
        with unit_of_work(db):
            row.status = MessageStatus.UNKNOWN.value
            row.error = error[:2000]
            row.updated_at = now
            self.event(db, row, EventType.MESSAGE_OUTCOME_UNKNOWN, now, (reason or error)[:500])

    def finish_failed(self, db: Session, row: OutreachMessageDB, error: str, now: datetime) -> None:
        with unit_of_work(db):
            row.status = MessageStatus.FAILED.value
            row.error = error[:2000]
            row.updated_at = now
            self.event(db, row, EventType.MESSAGE_FAILED, now, error[:500])


def mark_contacted(db: Session, row: OutreachMessageDB) -> None:
    """A lead reached for the first time moves from NEW to CONTACTED (in the caller's
    transaction)."""
    lead = db.get(LeadDB, row.lead_id) if row.lead_id else None
    if lead is not None and lead.stage == LeadStage.NEW.value:
        lead.stage = LeadStage.CONTACTED.value
