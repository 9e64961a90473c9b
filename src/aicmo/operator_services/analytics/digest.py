"""The weekly digest: one email to the operators with each campaign's last seven days.

For every campaign with activity in the last 7 full days or the 7 before them: messages
sent, replies, positive replies, meetings and the key rates, each with its change from the
week before (points for a rate). The numbers come from the daily rollups, like the
reports'.

It goes out through a mailbox's SMTP server when one is named, else to the local outbox
(written as ``.eml`` files, not delivered), and the result says which: a digest written
to the outbox is never reported as delivered. Every send is on the audit trail
(``DIGEST_SENT`` or ``DIGEST_FAILED``). The worker's weekly send (:func:`send_scheduled_digest`)
first records a ``DIGEST_ATTEMPTED`` under a lock, so a restart never sends a slot twice
(the rule is :func:`aicmo.cam.domain.digest.digest_due`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cam.domain import leads as L
from aicmo.cam.domain.digest import (
    WEEKDAYS,
    SlotAttempt,
    digest_due,
    digest_periods,
    latest_slot,
)
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.rates import change, with_rates
from aicmo.config import Settings, get_settings
from aicmo.errors import ChannelError, NotFoundError, ValidationError
from aicmo.operator_services.accounts import resolve_workspace
from aicmo.operator_services.analytics.performance import get_workspace_campaign_totals
from aicmo.operator_services.channels.email import transport_for
from aicmo.operator_services.channels.email_message import (
    EmailContent,
    EmailEnvelope,
    build_email,
    make_message_id,
)
from aicmo.operator_services.channels.mailboxes import get_mailbox_row
from aicmo.operator_services.uow import unit_of_work, write_unit
from aicmo.transports.base import Transport

#: What each campaign's line shows, in order: (figure, label, is a rate).
FIGURES: tuple[tuple[str, str, bool], ...] = (
    ("sent", "Sent", False),
    ("replied", "Replies", False),
    ("positive_replied", "Positive replies", False),
    ("meetings", "Meetings", False),
    ("reply_rate", "Reply rate", True),
    ("positive_reply_rate", "Positive reply rate", True),
    ("bounce_rate", "Bounce rate", True),
    ("unsubscribe_rate", "Unsubscribe rate", True),
)
_PAGE = 100


def _campaign_names(db: Session, workspace_id: int) -> dict[int, str]:
    names: dict[int, str] = {}
    after: int | None = None
    while True:
        rows = repo.campaign_page(db, workspace_id, after_id=after, limit=_PAGE)
        names.update({row.id: row.name for row in rows})
        if len(rows) < _PAGE:
            return names
        after = rows[-1].id


def build_digest(
    db: Session, *, today: date, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """The digest's numbers for the 7 days before ``today`` and the 7 before those.

    Returns:
        ``{"since", "until", "previous_since", "previous_until", "campaigns": [{"id",
        "name", "current": {...}, "previous": {...}, "change": {...}}]}``, campaigns by
        name; ``change`` holds each of :data:`FIGURES`.
    """
    periods = digest_periods(today)
    current = get_workspace_campaign_totals(
        db, periods.since, periods.until, workspace_id=workspace_id
    )
    previous = get_workspace_campaign_totals(
        db, periods.previous_since, periods.previous_until, workspace_id=workspace_id
    )
    names = _campaign_names(db, workspace_id)
    zero = with_rates(dict.fromkeys(repo.counter_columns(), 0))
    campaigns = []
    for campaign_id in set(current) | set(previous):
        now_figures = current.get(campaign_id, zero)
        before = previous.get(campaign_id, zero)
        name = names.get(campaign_id) or (
            "Sent outside campaigns" if campaign_id == 0 else f"Campaign #{campaign_id}"
        )
        campaigns.append(
            {
                "id": campaign_id,
                "name": name,
                "current": now_figures,
                "previous": before,
                "change": {key: change(now_figures[key], before[key]) for key, _, _ in FIGURES},
            }
        )
    campaigns.sort(key=lambda c: (c["id"] == 0, str(c["name"]).lower()))
    return {
        "since": periods.since,
        "until": periods.until,
        "previous_since": periods.previous_since,
        "previous_until": periods.previous_until,
        "campaigns": campaigns,
    }


def _number(value: float | int, rate: bool) -> str:
    return f"{value:.2f} %" if rate else f"{int(value)}"


def _delta(value: float, rate: bool) -> str:
    if value == 0:
        return "±0"
    return f"{value:+.2f} pt" if rate else f"{int(value):+d}"


def digest_text(digest: dict[str, Any], workspace: str) -> str:
    """The digest as plain text (the email's text part)."""
    lines = [
        f"Weekly digest for {workspace}: {digest['since'].isoformat()} to "
        f"{digest['until'].isoformat()}, compared with {digest['previous_since'].isoformat()} "
        f"to {digest['previous_until'].isoformat()}.",
        "",
    ]
    if not digest["campaigns"]:
        lines.append("No campaign sent or received anything in these two weeks.")
    for campaign in digest["campaigns"]:
        lines.append(campaign["name"])
        for key, label, rate in FIGURES:
            lines.append(
                f"  {label}: {_number(campaign['current'][key], rate)} "
                f"({_delta(campaign['change'][key], rate)} on the week before)"
            )
        lines.append("")
    lines.append("Rates are percentages of the messages sent. Figures from the daily rollups.")
    return "\n".join(lines) + "\n"


_HTML = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Weekly digest</title></head>
<body style="font-family: sans-serif; color: #1d2330;">
<h1 style="font-size: 20px;">Weekly digest for {{ workspace }}</h1>
<p>{{ d.since.isoformat() }} to {{ d.until.isoformat() }}, compared with
{{ d.previous_since.isoformat() }} to {{ d.previous_until.isoformat() }}.</p>
{% if not d.campaigns %}<p>No campaign sent or received anything in these two weeks.</p>{% endif %}
{% for c in d.campaigns %}
<h2 style="font-size: 16px;">{{ c.name }}</h2>
<table style="border-collapse: collapse;" cellpadding="4">
<tr><th align="left">Measure</th><th align="right">This week</th>
<th align="right">Change</th></tr>
{% for key, label, rate in figures %}<tr><td>{{ label }}</td>
<td align="right">{{ number(c.current[key], rate) }}</td>
<td align="right">{{ delta(c.change[key], rate) }}</td></tr>
{% endfor %}</table>
{% endfor %}
<p style="color: #5a6272;">Rates are percentages of the messages sent. Figures from the
daily rollups.</p>
</body></html>
"""
_template = Environment(autoescape=True).from_string(_HTML)


def digest_html(digest: dict[str, Any], workspace: str) -> str:
    """The digest as HTML, every name escaped (the email's HTML part)."""
    return _template.render(
        d=digest, workspace=workspace, figures=FIGURES, number=_number, delta=_delta
    )


def resolve_recipients(
    db: Session,
    addresses: Iterable[str] = (),
    users: Iterable[str] = (),
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> list[str]:
    """The digest's recipients: plain addresses, and user accounts by sign-in address
    (active members of the workspace only), without duplicates.

    Raises:
        ValidationError: a bad address, or no recipient at all.
        NotFoundError: a user account that does not exist, is disabled, or is not a member.
    """
    out: dict[str, str] = {}
    for raw in addresses:
        shown, key = L.normalize_email(raw.strip())
        out.setdefault(key, shown)
    for raw in users:
        user = repo.user_by_email(db, raw.strip().lower())
        if user is None or user.disabled_at is not None:
            raise NotFoundError(f"no active user account {raw.strip()!r}")
        if repo.membership(db, user.id, workspace_id) is None:
            raise NotFoundError(f"the user {user.email!r} is not a member of this workspace")
        shown, key = L.normalize_email(user.email)
        out.setdefault(key, shown)
    if not out:
        raise ValidationError("the digest needs at least one recipient", field="to")
    return list(out.values())


def _sender(
    db: Session, mailbox: str | int | None, workspace_id: int, settings: Settings
) -> tuple[Transport, str, str, str | None]:
    """(transport, from address, from name, mailbox name) for the digest."""
    if mailbox is None:
        return transport_for(None, settings), settings.sender_email, settings.sender_name, None
    row = get_mailbox_row(db, mailbox, workspace_id=workspace_id)
    if not row.smtp_host:
        raise ValidationError(
            f"mailbox {row.name} has no SMTP server; add one, or leave --mailbox out to "
            "write the digest to the local outbox",
            field="mailbox",
        )
    if not row.enabled:
        raise ValidationError(f"mailbox {row.name} is disabled", field="mailbox")
    name = row.from_name or settings.sender_name
    return transport_for(row, settings), row.from_address, name, row.name


def send_digest(
    db: Session,
    *,
    to: Iterable[str] = (),
    users: Iterable[str] = (),
    mailbox: str | int | None = None,
    now: datetime,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    slot: str | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Build the digest and send it to each recipient; record the outcome.

    Args:
        slot: the scheduled instant (ISO) when the worker sends it; None for a send by
            hand. It names the outbox files and Message-IDs, so the same slot is never
            written twice.

    Returns:
        ``{"transport": "smtp" | "outbox", "delivered": bool, "mailbox", "recipients",
        "sent": [{"to", "response", "path"}], "failed": [{"to", "error"}], "since",
        "until", "campaigns"}``. ``delivered`` is True only when an SMTP server accepted
        it for at least one recipient.

    Raises:
        ValidationError, NotFoundError: bad recipients or mailbox (nothing is sent).
    """
    settings = settings or get_settings()
    recipients = resolve_recipients(db, to, users, workspace_id=workspace_id)
    transport, from_address, from_name, mailbox_name = _sender(db, mailbox, workspace_id, settings)
    workspace = resolve_workspace(db, workspace_id)
    digest = build_digest(db, today=now.date(), workspace_id=workspace_id)
    subject = (
        f"Weekly digest: {digest['since'].isoformat()} to {digest['until'].isoformat()} "
        f"({len(digest['campaigns'])} campaign{'s' if len(digest['campaigns']) != 1 else ''})"
    )
    content = EmailContent(
        subject=subject,
        text=digest_text(digest, workspace.name),
        html=digest_html(digest, workspace.name),
    )
    base_key = f"digest:{workspace_id}:{slot or now.isoformat()}"
    domain = from_address.rpartition("@")[2]
    sent: list[dict[str, Any]] = []
    failed: list[dict[str, str]] = []
    for address in recipients:
        key = f"{base_key}:{address.lower()}"
        message = build_email(
            content,
            EmailEnvelope(
                from_name=from_name, from_address=from_address, to_name=None, to_address=address
            ),
            message_id=make_message_id(key, domain),
            date=now,
            unsubscribe_https=None,
            unsubscribe_mailto=None,
            postal_address=None,
            extra_headers={"Auto-Submitted": "auto-generated"},
        )
        try:
            receipt = transport.send(
                message, mail_from=from_address, rcpt_to=address, now=now, key=key
            )
        except ChannelError as err:
            failed.append({"to": address, "error": err.message})
            continue
        sent.append({"to": address, "response": receipt.response, "path": receipt.path})
    kind = transport.name
    result = {
        "transport": kind,
        "delivered": kind != "outbox" and bool(sent),
        "mailbox": mailbox_name,
        "recipients": recipients,
        "sent": sent,
        "failed": failed,
        "since": digest["since"],
        "until": digest["until"],
        "campaigns": len(digest["campaigns"]),
    }
    detail = {
        "slot": slot,
        "transport": kind,
        "mailbox": mailbox_name,
        "recipients": len(recipients),
        "sent": len(sent),
        "failed": [f["error"] for f in failed],
        "since": digest["since"].isoformat(),
        "until": digest["until"].isoformat(),
    }
    with unit_of_work(db):
        repo.add_event(
            db,
            workspace_id,
            OutreachEvent(
                type=EventType.DIGEST_SENT if sent else EventType.DIGEST_FAILED,
                occurred_at=now,
                channel="EMAIL",
                detail=detail,
            ),
        )
    return result


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _slot_attempts(db: Session, workspace_id: int, slot: datetime) -> list[SlotAttempt]:
    events = repo.workspace_events_since(
        db,
        workspace_id,
        [EventType.DIGEST_ATTEMPTED, EventType.DIGEST_SENT, EventType.DIGEST_FAILED],
        slot,
    )
    attempts: list[SlotAttempt] = []
    for event in events:
        if (event.detail or {}).get("slot") != slot.isoformat():
            continue
        if event.type == EventType.DIGEST_ATTEMPTED:
            attempts.append(SlotAttempt(event.occurred_at, None))
        elif attempts and attempts[-1].outcome is None:
            outcome = "SENT" if event.type == EventType.DIGEST_SENT else "FAILED"
            attempts[-1] = SlotAttempt(event.occurred_at, outcome)
    return attempts


def send_scheduled_digest(
    db: Session, *, now: datetime, settings: Settings | None = None
) -> dict[str, Any] | None:
    """The worker's weekly send: the digest of the latest slot, if it is due.

    Off (None) while ``AICMO_DIGEST_TO`` and ``AICMO_DIGEST_USERS`` are both unset. The
    attempt is recorded (under a lock on the workspace) before the send, so the same slot
    is never sent twice, whatever restarts; see :func:`aicmo.cam.domain.digest.digest_due`.

    Returns:
        None when nothing was due; else :func:`send_digest`'s result plus ``"slot"``.
    """
    settings = settings or get_settings()
    to, users = _split(settings.digest_to), _split(settings.digest_users)
    if not to and not users:
        return None
    workspace_id = resolve_workspace(db, settings.digest_workspace).id
    slot = latest_slot(
        now,
        weekday=WEEKDAYS.index(settings.digest_weekday),
        hour=settings.digest_hour,
        tz=ZoneInfo(settings.timezone),
    )
    if not digest_due(_slot_attempts(db, workspace_id, slot), now):
        db.rollback()  # a read: no lock is taken in the (usual) case of nothing to do
        return None
    with write_unit(db):
        repo.lock_workspace(db, workspace_id)
        if not digest_due(_slot_attempts(db, workspace_id, slot), now):
            return None
        repo.add_event(
            db,
            workspace_id,
            OutreachEvent(
                type=EventType.DIGEST_ATTEMPTED,
                occurred_at=now,
                channel="EMAIL",
                detail={"slot": slot.isoformat()},
            ),
        )
    try:
        result = send_digest(
            db,
            to=to,
            users=users,
            mailbox=settings.digest_mailbox,
            now=now,
            workspace_id=workspace_id,
            slot=slot.isoformat(),
            settings=settings,
        )
    except (ValidationError, NotFoundError) as err:
        with unit_of_work(db):
            repo.add_event(
                db,
                workspace_id,
                OutreachEvent(
                    type=EventType.DIGEST_FAILED,
                    occurred_at=now,
                    channel="EMAIL",
                    detail={"slot": slot.isoformat(), "failed": [err.message]},
                ),
            )
        raise
    return {**result, "slot": slot.isoformat()}
