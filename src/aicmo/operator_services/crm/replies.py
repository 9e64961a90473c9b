"""Human replies: their category, the operator's corrections, and the inbox that lists them.

Every REPLY_RECEIVED (an email through ``inbound.processing``, a LinkedIn message through
``channels.linkedin_accounts``) gets a ``replies`` row and a category from the rule set
(:mod:`aicmo.cam.inbound.categories`) in the same transaction, and one REPLY_CATEGORIZED
event records it. A correction by a person records one more such event, with the category
it replaces; setting the category a reply already has records nothing.

The event carries the attribution (lead, channel, campaign, step, variant, mailbox) of the
REPLY_RECEIVED it categorises, so the rollups count a correction in the row the reply was
counted in. Its ``detail`` is ``{"category", "previous", "rule", "reply_event_id"}``.

The category moves the lead's stage (:mod:`aicmo.cam.domain.reply_stage`: forward only,
a correction undoes the previous category's move first) and the lead is regraded; a reply
categorised ``unsubscribe`` suppresses the address or LinkedIn profile it came from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import (
    DEFAULT_WORKSPACE_ID,
    LeadDB,
    OutreachMessageDB,
    ReplyDB,
)
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType, LeadStage, MessageStatus
from aicmo.cam.domain.reply_categories import ReplyCategory
from aicmo.cam.domain.reply_stage import plan_stage
from aicmo.cam.domain.suppression import SuppressionKind, SuppressionReason
from aicmo.cam.inbound.categories import OPERATOR, Categorization, categorize_reply
from aicmo.cam.inbound.text import clean_line
from aicmo.errors import NotFoundError, ValidationError

# ReplyAttribution is part of this module's interface (the callers that record replies
# import it from here); it lives with the events it attributes.
from aicmo.operator_services.crm.events import ReplyAttribution as ReplyAttribution
from aicmo.operator_services.crm.events import add_attributed_event
from aicmo.operator_services.crm.suppression import add_entry
from aicmo.operator_services.leads import lead_event, regrade_lead
from aicmo.operator_services.uow import utcnow, write_unit

#: How much of a reply's new text the inbox shows (characters).
SNIPPET_CHARS = 300
#: The most replies one page may hold.
MAX_PAGE = 500


#: The stages a reply moves on to ENGAGED (later ones are further along already).
_NOT_YET_ENGAGED = frozenset({LeadStage.NEW.value, LeadStage.CONTACTED.value})


def mark_replied(
    db: Session,
    attempt: OutreachMessageDB | None,
    lead: LeadDB | None,
    *,
    replied_at: datetime,
    now: datetime,
    why: str,
) -> None:
    """A person answered, by email or on LinkedIn: the attempt answered is REPLIED and a
    lead not yet engaged becomes ENGAGED, on its audit trail (the caller's transaction)."""
    if attempt is not None:
        attempt.status = MessageStatus.REPLIED.value
        attempt.replied_at = replied_at
    if lead is not None and lead.stage in _NOT_YET_ENGAGED:
        old, lead.stage = lead.stage, LeadStage.ENGAGED.value
        detail = {"from": old, "to": lead.stage, "why": why}
        lead_event(db, lead, EventType.LEAD_STAGE_CHANGED, now, detail=detail)


def record_reply_event(
    db: Session,
    workspace_id: int,
    event: OutreachEvent,
    lead: LeadDB | None,
    where: ReplyAttribution,
) -> int:
    """Record a REPLY_RECEIVED event (inside the caller's transaction); its id."""
    row = add_attributed_event(db, workspace_id, event, lead.id if lead else None, where)
    db.flush()
    return row.id


def categorize_new_reply(
    db: Session,
    workspace_id: int,
    *,
    reply_event_id: int,
    lead: LeadDB | None,
    channel: ChannelType,
    where: ReplyAttribution,
    received_at: datetime,
    text: str | None,
    subject: str | None = None,
    sender: str | None = None,
    calendar: str | None = None,
    inbound_message_id: int | None = None,
    linkedin_account_id: int | None = None,
    now: datetime | None = None,
) -> ReplyDB:
    """Categorise a reply just recorded, inside the caller's transaction: the row, the
    REPLY_CATEGORIZED event, the stage move and the regrade."""
    now = now or utcnow()
    found = categorize_reply(text or "", subject=subject or "", calendar=calendar)
    row = ReplyDB(
        workspace_id=workspace_id,
        reply_event_id=reply_event_id,
        inbound_message_id=inbound_message_id,
        lead_id=lead.id if lead is not None else None,
        channel=channel.value,
        message_id=where.message_id,
        campaign_id=where.campaign_id,
        step_index=where.step_index,
        variant=where.variant,
        mailbox_id=where.mailbox_id,
        linkedin_account_id=linkedin_account_id,
        received_at=received_at,
        sender=clean_line(sender, max_len=320) if sender else None,
        subject=clean_line(subject, max_len=1000) if subject else None,
        snippet=_snippet(text),
        category=found.category.value,
        rule=found.rule,
        categorized_at=now,
    )
    repo.add_reply(db, row)  # first: the regrade below counts it
    _apply(db, row, lead, found, previous=None, occurred_at=received_at, actor=None, now=now)
    return row


def set_reply_category(
    db: Session,
    reply_id: int,
    category: str,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    user_id: int | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The operator's correction: the reply gets ``category`` (rule ``operator``).

    Records one REPLY_CATEGORIZED event naming the category it replaces, re-applies the
    stage move (the previous category's move undone first) and regrades the lead. Setting
    the category the reply already has changes and records nothing.

    Returns:
        The reply as :func:`list_replies` shows it, plus ``changed``.

    Raises:
        ValidationError: an unknown category. NotFoundError: no such reply here.
    """
    wanted = _category(category)
    now = now or utcnow()
    with write_unit(db):
        row = repo.reply_for_update(db, workspace_id, reply_id)
        if row is None:
            raise NotFoundError(f"no reply with id {reply_id}")
        lead = repo.get_lead(db, workspace_id, row.lead_id) if row.lead_id else None
        changed = row.category != wanted.value
        if changed:
            previous = row.category
            row.category, row.rule = wanted.value, OPERATOR
            row.categorized_at, row.categorized_by = now, user_id
            found = Categorization(wanted, OPERATOR)
            _apply(db, row, lead, found, previous=previous, occurred_at=now, actor=actor, now=now)
        result = {**reply_to_dict(row, lead), "changed": changed}
    return result


def _apply(
    db: Session,
    row: ReplyDB,
    lead: LeadDB | None,
    found: Categorization,
    *,
    previous: str | None,
    occurred_at: datetime,
    actor: str | None,
    now: datetime,
) -> None:
    """The event, the stage move and the regrade of one (re)categorisation."""
    where = ReplyAttribution(
        row.message_id, row.campaign_id, row.step_index, row.variant, row.mailbox_id
    )
    add_attributed_event(
        db,
        row.workspace_id,
        OutreachEvent(
            type=EventType.REPLY_CATEGORIZED,
            occurred_at=occurred_at,
            channel=row.channel,
            source="operator" if found.rule == OPERATOR else "rules",
            reason=f'"{found.phrase}"' if found.phrase else None,
            detail={
                "category": found.category.value,
                "previous": previous,
                "rule": found.rule,
                "reply_event_id": row.reply_event_id,
            },
        ),
        row.lead_id,
        where,
        actor=actor,
    )
    if lead is None:
        row.stage_from = row.stage_to = None
        return
    undo = (row.stage_from, row.stage_to) if row.stage_from and row.stage_to else None
    plan = plan_stage(lead.stage, found.category, undo=undo)
    row.stage_from, row.stage_to = plan.move if plan.move else (None, None)
    if plan.stage != lead.stage:
        old, lead.stage = lead.stage, plan.stage
        why = f"reply {found.category.value} ({found.rule})"
        detail = {"from": old, "to": lead.stage, "why": why}
        lead_event(db, lead, EventType.LEAD_STAGE_CHANGED, now, detail=detail, actor=actor)
    if found.category is ReplyCategory.UNSUBSCRIBE:
        _suppress(db, row, lead, found, actor=actor, now=now)
    regrade_lead(db, lead, now=now)


def _suppress(
    db: Session,
    row: ReplyDB,
    lead: LeadDB,
    found: Categorization,
    *,
    actor: str | None,
    now: datetime,
) -> None:
    """A reply that asks to hear no more suppresses the address or profile it came from
    (invariant 2), as an email opt-out does in the inbound classifier. Correcting the
    category later does not lift it: removing a suppression is a deliberate act."""
    if row.channel == ChannelType.LINKEDIN.value:
        kind, value = SuppressionKind.LINKEDIN, lead.linkedin_key
    else:
        kind, value = SuppressionKind.EMAIL, lead.email_key
    if not value:
        return
    source = "operator" if found.rule == OPERATOR else f"{row.channel.lower()}-reply"
    add_entry(
        db,
        row.workspace_id,
        kind,
        value,
        SuppressionReason.UNSUBSCRIBED,
        source=source,
        note=f'reply #{row.id}: "{found.phrase}"' if found.phrase else f"reply #{row.id}",
        actor=actor,
        now=now,
    )


def list_replies(
    db: Session,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    category: str | None = None,
    campaign_id: int | None = None,
    channel: str | None = None,
    lead_id: int | None = None,
    after: tuple[datetime, int] | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    """Replies from every mailbox and LinkedIn account, newest first.

    ``after``: the (received_at, id) of the last reply of the previous page.

    Raises:
        ValidationError: an unknown category or channel, or a limit out of 1..500.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_PAGE + 1:
        raise ValidationError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    rows = repo.reply_page(
        db,
        workspace_id,
        category=_category(category).value if category is not None else None,
        campaign_id=campaign_id,
        channel=_channel(channel).value if channel is not None else None,
        lead_id=lead_id,
        after=after,
        limit=limit,
    )
    return [reply_to_dict(reply, lead) for reply, lead in rows]


def reply_to_dict(row: ReplyDB, lead: LeadDB | None) -> dict[str, Any]:
    """A reply as the inbox shows it (the full text stays with the inbound message)."""
    return {
        "id": row.id,
        "received_at": row.received_at,
        "channel": row.channel,
        "category": row.category,
        "rule": row.rule,
        "categorized_at": row.categorized_at,
        "categorized_by": row.categorized_by,
        "lead_id": row.lead_id,
        "lead_name": _name(lead),
        "lead_email": lead.email if lead is not None else None,
        "lead_stage": lead.stage if lead is not None else None,
        "sender": row.sender,
        "subject": row.subject,
        "snippet": row.snippet,
        "campaign_id": row.campaign_id,
        "mailbox_id": row.mailbox_id,
        "linkedin_account_id": row.linkedin_account_id,
        "reply_event_id": row.reply_event_id,
        "inbound_message_id": row.inbound_message_id,
    }


def _name(lead: LeadDB | None) -> str | None:
    if lead is None:
        return None
    name = " ".join(p for p in (lead.first_name, lead.last_name) if p)
    return name or None


def _snippet(text: str | None) -> str | None:
    if not text or not text.strip():
        return None
    return clean_line(" ".join(text.split()), max_len=SNIPPET_CHARS)


def _category(value: str | None) -> ReplyCategory:
    try:
        return ReplyCategory(str(value).strip().lower())
    except ValueError:
        known = ", ".join(c.value for c in ReplyCategory)
        raise ValidationError(
            f"unknown reply category {value!r}; use one of: {known}", field="category"
        ) from None


def _channel(value: str | None) -> ChannelType:
    text = str(value).strip().upper()
    for channel in (ChannelType.EMAIL, ChannelType.LINKEDIN):
        if channel.value == text:
            return channel
    raise ValidationError(
        f"unknown reply channel {value!r}; use email or linkedin", field="channel"
    )
