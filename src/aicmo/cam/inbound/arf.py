"""What mailbox providers report about our mail: complaints, opt-outs, auth failures. Pure: no I/O.

Three shapes arrive: RFC 5965 ARF (``multipart/report; report-type=feedback-report``), sent
by Yahoo, AOL, Fastmail, Comcast and most FBL operators (and, as ``auth-failure``, by
DMARC reporters); the older Microsoft JMRP style, a plain notice with the complained-about
message attached and the recipient in the attached copy's ``X-HmXmrOriginalRecipient``
header; and the plain "unsubscribe" mail a provider sends on its user's behalf when they
press its unsubscribe button (Apple Mail marks it ``X-Apple-Unsubscribe: true``). The
last carries ``Auto-Submitted`` and would otherwise pass for an auto-reply.

Providers often redact the recipient (AOL writes ``redacted``). The report then still
matches our attempt through the attached original's Message-ID, so the recipient is left
empty rather than guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

from aicmo.cam.domain.events import EventType
from aicmo.cam.inbound import mime
from aicmo.cam.inbound.text import clean_line, fold

#: RFC 5965 / 6430 / 6591 feedback types → the event each means for the lead.
#: ``virus`` and ``not-spam`` are no complaint by the recipient, so they map to ``None`` and
#: surface as UNKNOWN for a human to read. ``auth-failure`` (DMARC forensic reports) says
#: our mail failed SPF/DKIM: no lead is concerned, but the operator must see it.
#: ``opt-out`` comes from the provider's "unsubscribe" button (draft-ietf-marf-opt-out).
FEEDBACK_EVENTS: dict[str, EventType | None] = {
    "abuse": EventType.COMPLAINED,
    "fraud": EventType.COMPLAINED,
    "other": EventType.COMPLAINED,
    "virus": None,
    "not-spam": None,
    "auth-failure": EventType.AUTH_FAILURE_REPORTED,
    "opt-out": EventType.UNSUBSCRIBED,
    "opt-out-list": EventType.UNSUBSCRIBED,
}

FEEDBACK_PART_TYPES = frozenset({"message/feedback-report"})

_JMRP_SUBJECT_RE = re.compile(
    r"complaint about message from|email feedback report|abuse report|spam (?:complaint|report)"
    r"|feedback loop|junk mail report"
)
_JMRP_SENDERS = frozenset({"staff", "scomp", "fbl", "feedbackloop", "feedback", "complaints"})
_JMRP_BODY_RE = re.compile(r"\b(?:abuse|complaint|spam|junk)\b")

#: Report fields copied into the event detail, under these names.
_DETAIL_FIELDS: dict[str, str] = {
    "user-agent": "user_agent",
    "version": "version",
    "original-mail-from": "original_mail_from",
    "arrival-date": "arrival_date",
    "received-date": "arrival_date",
    "source-ip": "source_ip",
    "reported-domain": "reported_domain",
    "reported-uri": "reported_uri",
    "incidents": "incidents",
    "auth-failure": "auth_failure",
    "authentication-results": "authentication_results",
    "delivery-result": "delivery_result",
    "dkim-domain": "dkim_domain",
}


@dataclass(frozen=True, slots=True)
class ComplaintReport:
    feedback_type: str
    event_type: EventType | None
    recipients: tuple[str, ...]
    original_message_ids: tuple[str, ...]
    format: str
    detail: dict[str, str] = field(default_factory=dict)


def _usable(address: str) -> bool:
    return "redacted" not in address


def _attached_recipients(original: Message | None) -> list[str]:
    if original is None:
        return []
    for name in ("X-HmXmrOriginalRecipient", "To"):
        found = [a for a in mime.addresses_in(mime.raw_header(original, name)) if _usable(a)]
        if found:
            return found
    return []


def _original_ids(original: Message | None) -> tuple[str, ...]:
    if original is None:
        return ()
    return tuple(mime.message_ids(mime.raw_header(original, "Message-ID")))


def is_feedback_report(msg: Message) -> bool:
    if (
        mime.content_type(msg) == "multipart/report"
        and mime.param(msg, "report-type") == "feedback-report"
    ):
        return True
    return any(mime.content_type(p) in FEEDBACK_PART_TYPES for p in mime.iter_parts(msg))


def parse_complaint(msg: Message, *, sender: str | None, subject: str) -> ComplaintReport | None:
    """The complaint ``msg`` reports, or ``None`` when it is no feedback-loop message."""
    if is_feedback_report(msg):
        return _parse_arf(msg)
    provider_opt_out = _parse_provider_opt_out(msg, sender=sender, subject=subject)
    if provider_opt_out is not None:
        return provider_opt_out
    return _parse_jmrp(msg, sender=sender, subject=subject)


def _parse_provider_opt_out(
    msg: Message, *, sender: str | None, subject: str
) -> ComplaintReport | None:
    """The opt-out a mailbox provider sent for its user, who is the sender.

    Apple Mail says so in a header. Other providers send the same plain robot mail with
    the subject "unsubscribe" to a ``List-Unsubscribe`` mailto; the robot header
    (``Auto-Submitted``) tells it from a person typing the word.
    """
    if sender is None:
        return None
    apple = fold(mime.header_text(msg, "X-Apple-Unsubscribe")).strip() == "true"
    robot = fold(mime.header_text(msg, "Auto-Submitted")).split(";")[0].strip() not in {"", "no"}
    if not apple and not (robot and fold(subject).strip() == "unsubscribe"):
        return None
    return ComplaintReport(
        feedback_type="opt-out",
        event_type=EventType.UNSUBSCRIBED,
        recipients=(sender,),
        original_message_ids=(),
        format="provider-unsubscribe",
        detail={"user_agent": "Apple Mail" if apple else "mailbox provider"},
    )


def _parse_arf(msg: Message) -> ComplaintReport:
    fields: mime.FieldBlock = []
    for part in mime.iter_parts(msg):
        if mime.content_type(part) in FEEDBACK_PART_TYPES:
            for block in mime.field_blocks(part):
                fields.extend(block)
    feedback_type = fold(mime.block_get(fields, "feedback-type")).split(";")[0].strip() or "abuse"
    feedback_type = clean_line(feedback_type, max_len=60)
    recipients = [
        a
        for value in mime.block_get_all(fields, "original-rcpt-to")
        + mime.block_get_all(fields, "removal-recipient")
        for a in mime.addresses_in(value)
        if _usable(a)
    ]
    original = mime.attached_original(msg)
    if not recipients:
        recipients = _attached_recipients(original)
    detail: dict[str, str] = {}
    for name, key in _DETAIL_FIELDS.items():
        value = mime.block_get(fields, name)
        if value and key not in detail:
            detail[key] = clean_line(value, max_len=500)
    return ComplaintReport(
        feedback_type=feedback_type,
        event_type=FEEDBACK_EVENTS.get(feedback_type, EventType.COMPLAINED),
        recipients=tuple(dict.fromkeys(recipients)),
        original_message_ids=_original_ids(original),
        format="arf",
        detail=detail,
    )


def _parse_jmrp(msg: Message, *, sender: str | None, subject: str) -> ComplaintReport | None:
    original = mime.attached_original(msg)
    if original is None:
        return None
    hotmail_header = bool(mime.raw_header(original, "X-HmXmrOriginalRecipient"))
    subject_hit = bool(_JMRP_SUBJECT_RE.search(fold(subject)))
    local = sender.partition("@")[0] if sender else ""
    sender_hit = local in _JMRP_SENDERS and bool(
        _JMRP_BODY_RE.search(fold(mime.notification_text(msg)))
    )
    if not (hotmail_header or subject_hit or sender_hit):
        return None
    return ComplaintReport(
        feedback_type="abuse",
        event_type=EventType.COMPLAINED,
        recipients=tuple(_attached_recipients(original)),
        original_message_ids=_original_ids(original),
        format="jmrp",
    )
