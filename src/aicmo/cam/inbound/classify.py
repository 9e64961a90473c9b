"""Classify one inbound email into reply, auto-reply, bounce, complaint or opt-out. Pure: no I/O.

The IMAP poller hands over raw bytes and the time it received them; this module returns
what the message is and the audit events it implies. Matching those events to our sent
attempts (through ``references``) is the service layer's job, not this one's.

The checks run in an order that encodes the traps of real mailboxes:

1. feedback reports (complaints, provider opt-outs, DMARC failure reports) and SES
   notifications first: they carry ``Auto-Submitted`` or come from robots, and would
   otherwise pass for auto-replies or replies;
2. our own mail (a Sent copy) is never a reply. Ours means sent from one of our mailbox
   addresses (or, as the service checks, carrying one of our Message-IDs), never merely
   from our domain: a mailbox on a shared provider domain (gmail.com) shares it with leads;
   our MTA's bounces (``MAILER-DAEMON@``) are not from a mailbox address, so they pass on;
3. bounces, before auto-replies: DSNs carry ``Auto-Submitted`` too, and a carrier's plain
   "delivery failed" note from an ordinary address is never a reply;
4. auto-replies before replies: an out-of-office answers in-thread like a person does;
5. an opt-out is looked for in the new text only, never in quoted history;
6. whatever remains with a sender is a reply.

Input is untrusted: this function never raises. Input the email parser cannot make sense
of becomes UNKNOWN with the raw text kept for a human.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from email.message import Message
from typing import Any

from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.inbound import mime
from aicmo.cam.inbound.arf import ComplaintReport, parse_complaint
from aicmo.cam.inbound.autoreply import auto_reply_signals
from aicmo.cam.inbound.dsn import BounceFinding, BounceReport, parse_bounce
from aicmo.cam.inbound.optout import find_unsubscribe_request
from aicmo.cam.inbound.quotes import visible_text
from aicmo.cam.inbound.result import InboundKind, InboundResult, email_event
from aicmo.cam.inbound.return_date import find_return_date
from aicmo.cam.inbound.ses_mail import SesMail, parse_ses_mail
from aicmo.cam.inbound.status import Severity, status_info
from aicmo.cam.inbound.text import clean_line, sanitize

#: The ``source`` of every event this module emits.
SOURCE = "imap"
#: How much of the raw message an UNKNOWN event keeps (bytes of input).
RAW_LIMIT = 64 * 1024

_MDN_PART_TYPES = frozenset({"message/disposition-notification"})


def classify_message(
    raw: bytes, received_at: datetime, *, our_addresses: frozenset[str] = frozenset()
) -> InboundResult:
    """Classify the raw RFC 5322 message ``raw``, received at ``received_at``.

    ``our_addresses`` are the mailbox addresses we send from; mail from them is our own and
    is never taken for a reply, and they are never a bounce's failed recipient.
    """
    try:
        msg = mime.parse(raw)
    except Exception as err:  # lenient parser, but a caller may pass something not bytes
        return _unknown_result(raw, received_at, f"unparseable: {type(err).__name__}")
    try:
        return _classify(msg, raw, received_at, _normalize_addresses(our_addresses))
    except Exception as err:  # never lose an inbound message to a classifier bug
        return _unknown_result(
            raw,
            received_at,
            "unparseable: classifier error",
            {"internal_error": type(err).__name__},
        )


def _normalize_addresses(addresses: frozenset[str]) -> frozenset[str]:
    return frozenset(filter(None, map(mime.normalize_address, addresses)))


def as_own_message(result: InboundResult, received_at: datetime) -> InboundResult:
    """``result`` re-read as our own message (the service found its Message-ID among the
    ones we sent): recorded, never acted on."""
    event = _event(EventType.UNKNOWN, received_at, None, "own message", {})
    return replace(result, kind=InboundKind.UNKNOWN, events=(event,), reply_text=None)


@dataclass(frozen=True, slots=True)
class _Envelope:
    """The parts of the message every outcome reports, read once."""

    raw: bytes
    received_at: datetime
    message_id: str | None
    header_refs: tuple[str, ...]
    sender: str | None
    subject: str

    @classmethod
    def read(cls, msg: Message, raw: bytes, received_at: datetime) -> _Envelope:
        ids = mime.message_ids(mime.raw_header(msg, "Message-ID"))
        refs = mime.message_ids(mime.raw_header(msg, "In-Reply-To")) + mime.message_ids(
            mime.raw_header(msg, "References")
        )
        return cls(
            raw=raw,
            received_at=received_at,
            message_id=ids[0] if ids else None,
            header_refs=tuple(refs),
            sender=mime.sender_address(msg),
            subject=clean_line(mime.header_text(msg, "Subject"), max_len=998),
        )

    def result(
        self,
        kind: InboundKind,
        events: list[OutreachEvent],
        *,
        extra_refs: tuple[str, ...] = (),
        reply_text: str | None = None,
        calendar: str | None = None,
    ) -> InboundResult:
        refs = dict.fromkeys([*self.header_refs, *extra_refs])
        return InboundResult(
            kind=kind,
            events=tuple(events),
            message_id=self.message_id,
            references=tuple(r for r in refs if r != self.message_id),
            from_address=self.sender,
            subject=self.subject,
            reply_text=reply_text,
            calendar=calendar,
        )

    def event(
        self, event_type: EventType, recipient: str | None, reason: str, detail: dict[str, Any]
    ) -> OutreachEvent:
        return _event(event_type, self.received_at, recipient, reason, detail)

    def unknown(
        self,
        reason: str,
        detail: dict[str, Any] | None = None,
        extra_refs: tuple[str, ...] = (),
        *,
        recipient: str | None = None,
    ) -> InboundResult:
        """UNKNOWN keeps the raw message: a human will have to read it."""
        event = _event(
            EventType.UNKNOWN,
            self.received_at,
            recipient,
            reason,
            detail or {},
            raw=_raw_text(self.raw),
        )
        return self.result(InboundKind.UNKNOWN, [event], extra_refs=extra_refs)


def _classify(
    msg: Message, raw: bytes, received_at: datetime, our_addresses: frozenset[str]
) -> InboundResult:
    env = _Envelope.read(msg, raw, received_at)
    sender, subject = env.sender, env.subject
    if not msg.keys():
        return env.unknown("unparseable: no headers")

    complaint = parse_complaint(msg, sender=sender, subject=subject)
    if complaint is not None:
        return _complaint_result(env, complaint)

    notification = parse_ses_mail(msg, sender=sender, received_at=received_at)
    if notification is not None:
        return _ses_result(env, notification)

    if sender is not None and sender in our_addresses:
        return env.unknown("own message")

    bounce = parse_bounce(
        msg,
        subject=subject,
        sender=sender,
        ignore=frozenset(filter(None, [sender, *our_addresses])),
        addressees=frozenset(mime.addresses_in(mime.raw_header(msg, "To"))),
    )
    if bounce is not None:
        return _bounce_result(env, bounce)

    if _is_read_receipt(msg):
        return env.unknown(
            "read receipt", _read_receipt_detail(msg), _mdn_original_ids(msg), recipient=sender
        )
    if sender is None:
        return env.unknown("unparseable: no sender address")

    new_text = visible_text(mime.body_text(msg))

    signals = auto_reply_signals(msg, subject)
    if signals:
        detail: dict[str, Any] = {"signals": signals}
        returning = find_return_date(f"{subject}\n{new_text}", received_at)
        if returning is not None:
            detail["return_date"] = returning.isoformat()
        reason = "auto-reply (" + "; ".join(signals) + ")"
        event = env.event(EventType.AUTO_REPLY_RECEIVED, sender, reason, detail)
        return env.result(InboundKind.AUTO_REPLY, [event])

    request = find_unsubscribe_request(subject, new_text)
    if request is not None:
        detail = {"phrase": request.phrase, "where": request.where, "language": request.language}
        reason = f'unsubscribe request in {request.where}: "{request.phrase}"'
        event = env.event(EventType.UNSUBSCRIBED, sender, reason, detail)
        return env.result(InboundKind.UNSUBSCRIBE_REQUEST, [event], reply_text=new_text)

    event = env.event(EventType.REPLY_RECEIVED, sender, "reply", {})
    return env.result(InboundKind.REPLY, [event], reply_text=new_text, calendar=_calendar(msg))


#: How much of a calendar part is kept (characters): an invitation is a few kilobytes.
CALENDAR_LIMIT = 64 * 1024
_CALENDAR_TYPES = frozenset({"text/calendar", "application/ics"})


def _calendar(msg: Message) -> str | None:
    """The text of the first calendar part (an invitation, or the answer to ours)."""
    for part in mime.iter_parts(msg):
        try:
            filename = str(part.get_filename("") or "").lower()
        except Exception:  # a malformed Content-Disposition names nothing
            filename = ""
        if mime.content_type(part) in _CALENDAR_TYPES or filename.endswith(".ics"):
            text = mime.part_text(part)
            if text:
                return text[:CALENDAR_LIMIT]
    return None


def _complaint_result(env: _Envelope, complaint: ComplaintReport) -> InboundResult:
    detail: dict[str, Any] = {
        "feedback_type": complaint.feedback_type,
        "format": complaint.format,
        **complaint.detail,
    }
    refs = complaint.original_message_ids
    if complaint.event_type is None:
        return env.unknown(f"feedback report of type {complaint.feedback_type}", detail, refs)
    via = complaint.detail.get("user_agent") or complaint.format.upper()
    if complaint.event_type is EventType.AUTH_FAILURE_REPORTED:
        failed = complaint.detail.get("auth_failure") or "authentication"
        domain = complaint.detail.get("reported_domain")
        reason = f"{failed} failure reported" + (f" for {domain}" if domain else "")
        reason += f" via {via}"
        event = env.event(EventType.AUTH_FAILURE_REPORTED, None, reason, detail)
        return env.result(InboundKind.AUTH_FAILURE_REPORT, [event], extra_refs=refs)
    if complaint.event_type is EventType.UNSUBSCRIBED:
        kind = InboundKind.UNSUBSCRIBE_REQUEST
        reason = f"opt-out via feedback loop ({via})"
    else:
        kind = InboundKind.COMPLAINT
        reason = f"spam complaint ({complaint.feedback_type}) via {via}"
    recipients: list[str | None] = list(complaint.recipients) or [None]
    events = [env.event(complaint.event_type, r, reason, detail) for r in recipients]
    return env.result(kind, events, extra_refs=refs)


#: What an SES notification's events make of the message.
_SES_KINDS: dict[EventType, InboundKind] = {
    EventType.BOUNCED_HARD: InboundKind.BOUNCE,
    EventType.BOUNCED_SOFT: InboundKind.BOUNCE,
    EventType.COMPLAINED: InboundKind.COMPLAINT,
    EventType.UNSUBSCRIBED: InboundKind.UNSUBSCRIBE_REQUEST,
}


def _ses_result(env: _Envelope, notification: SesMail) -> InboundResult:
    if not notification.events:
        return env.unknown(notification.reason, {}, notification.message_ids)
    kinds = {_SES_KINDS.get(e.type, InboundKind.UNKNOWN) for e in notification.events}
    kind = kinds.pop() if len(kinds) == 1 else InboundKind.UNKNOWN
    return env.result(kind, list(notification.events), extra_refs=notification.message_ids)


def _bounce_result(env: _Envelope, bounce: BounceReport) -> InboundResult:
    refs = bounce.original_message_ids
    if bounce.failures:
        events = [_bounce_event(f, env.received_at) for f in bounce.failures]
        return env.result(InboundKind.BOUNCE, events, extra_refs=refs)
    if bounce.findings:
        actions = sorted({f.action or "unknown" for f in bounce.findings})
        detail = {"actions": actions, "format": bounce.format}
        return env.unknown("delivery report without failures", detail, refs)
    return env.unknown("unrecognised delivery notification", {"format": bounce.format}, refs)


def _bounce_event(finding: BounceFinding, received_at: datetime) -> OutreachEvent:
    hard = finding.severity is Severity.HARD
    if finding.status:
        head = f"{finding.status} {status_info(finding.status).description}"
    else:
        head = "delivery failed" if hard else "delivery delayed"
    reason = f"{head}: {finding.diagnostic}" if finding.diagnostic else head
    detail: dict[str, Any] = {
        "status": finding.status,
        "action": finding.action,
        "diagnostic": finding.diagnostic,
        "diagnostic_type": finding.diagnostic_type,
        "remote_mta": finding.remote_mta,
        "reporting_mta": finding.reporting_mta,
        "final_recipient": finding.final_recipient,
        "original_recipient": finding.original_recipient,
        "policy": finding.policy,
        "format": finding.format,
    }
    if finding.status_inferred:
        detail["status_inferred"] = True
    event_type = EventType.BOUNCED_HARD if hard else EventType.BOUNCED_SOFT
    return _event(event_type, received_at, finding.recipient, reason, detail)


def _is_read_receipt(msg: Message) -> bool:
    if (
        mime.content_type(msg) == "multipart/report"
        and mime.param(msg, "report-type") == "disposition-notification"
    ):
        return True
    return any(mime.content_type(p) in _MDN_PART_TYPES for p in mime.iter_parts(msg))


def _mdn_fields(msg: Message) -> mime.FieldBlock:
    fields: mime.FieldBlock = []
    for part in mime.iter_parts(msg):
        if mime.content_type(part) in _MDN_PART_TYPES:
            for block in mime.field_blocks(part):
                fields.extend(block)
    return fields


def _read_receipt_detail(msg: Message) -> dict[str, Any]:
    disposition = mime.block_get(_mdn_fields(msg), "disposition")
    return {"disposition": disposition} if disposition else {}


def _mdn_original_ids(msg: Message) -> tuple[str, ...]:
    return tuple(mime.message_ids(mime.block_get(_mdn_fields(msg), "original-message-id")))


def _event(
    event_type: EventType,
    received_at: datetime,
    recipient: str | None,
    reason: str,
    detail: dict[str, Any],
    *,
    raw: str | None = None,
) -> OutreachEvent:
    return email_event(
        event_type,
        occurred_at=received_at,
        source=SOURCE,
        recipient=recipient,
        reason=clean_line(reason, max_len=300),
        detail=_clean_detail(detail),
        raw=raw,
    )


def _clean_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """Drop empty values and make every string safe for a JSON column."""
    cleaned: dict[str, Any] = {}
    for key, value in detail.items():
        if value is None or value == "":
            continue
        if isinstance(value, str):
            cleaned[key] = clean_line(value, max_len=1000)
        elif isinstance(value, list | tuple):
            cleaned[key] = [clean_line(str(v), max_len=1000) for v in value]
        else:
            cleaned[key] = value
    return cleaned


def _raw_text(raw: bytes) -> str:
    """The start of the raw message as text, safe to store."""
    try:
        head = bytes(raw[:RAW_LIMIT])
    except Exception:
        return ""
    return sanitize(head.decode("utf-8", "replace"))


def _unknown_result(
    raw: bytes, received_at: datetime, reason: str, detail: dict[str, Any] | None = None
) -> InboundResult:
    """The answer when nothing of the message could be read."""
    event = _event(EventType.UNKNOWN, received_at, None, reason, detail or {}, raw=_raw_text(raw))
    return InboundResult(
        kind=InboundKind.UNKNOWN,
        events=(event,),
        message_id=None,
        references=(),
        from_address=None,
        subject="",
    )
