"""Answering a reply from the inbox: in the same conversation, on the same channel.

An email answer goes out from the mailbox the conversation used, threaded (In-Reply-To
the reply's Message-ID, References the chain before it), through the same path as every
send (:func:`~aicmo.operator_services.outreach.send_outreach_message`): the attempt and
its events on record, suppression and rate limits applied, the message built and DKIM
signed by the one builder, handed to the mailbox's transport (the local outbox when no
mailbox is configured, which the result says). A LinkedIn answer goes through the
conversation's provider account, or becomes a task for a person when there is none.

Nothing here sends by itself or reports a delivery the transport did not make.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import (
    DEFAULT_WORKSPACE_ID,
    InboundMessageDB,
    LeadDB,
    LinkedInAccountDB,
    OutreachMessageDB,
    ReplyDB,
)
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.domain.threads import is_message_id, reply_subject, thread_references
from aicmo.errors import ConflictError, NotFoundError, ValidationError
from aicmo.operator_services.channels.linkedin_accounts import list_linkedin_accounts
from aicmo.operator_services.crm.replies import reply_to_dict
from aicmo.operator_services.outreach import (
    get_outreach_history,
    send_outreach_message,
    suppression_reason,
)

#: How many of the lead's attempts since the reply its page lists.
RECENT_ANSWERS = 20


def get_reply(
    db: Session, reply_id: int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """One reply with its full text and how it can be answered.

    Returns:
        :func:`~aicmo.operator_services.crm.replies.reply_to_dict` plus ``text`` (the new
        text of the message, without the quoted history), ``message_key`` (its
        Message-ID or provider key), ``answer`` (see :func:`answer_plan`) and
        ``answers`` (the lead's attempts since the reply, newest first).

    Raises:
        NotFoundError: no such reply in this workspace.
    """
    row, lead, inbound = _load(db, reply_id, workspace_id)
    answers = []
    if lead is not None:
        history = get_outreach_history(
            db, lead_id=lead.id, limit=RECENT_ANSWERS, workspace_id=workspace_id
        )
        answers = [a for a in history if _naive(a["created_at"]) >= _naive(row.received_at)]
    return {
        **reply_to_dict(row, lead),
        "text": (inbound.text if inbound is not None and inbound.text else row.snippet) or "",
        "message_key": inbound.message_key if inbound is not None else None,
        "answer": answer_plan(db, row, lead, inbound),
        "answers": answers,
    }


def answer_plan(
    db: Session, row: ReplyDB, lead: LeadDB | None, inbound: InboundMessageDB | None
) -> dict[str, Any]:
    """How an answer to this reply would go: ``possible`` (else ``why`` not), ``via`` (the
    mailbox or account, in words), ``task`` (True: a person sends it), ``subject``,
    ``in_reply_to`` and ``references`` (email), ``blocked`` (the suppression that refuses
    it)."""
    plan: dict[str, Any] = {
        "channel": row.channel,
        "possible": False,
        "why": None,
        "via": None,
        "task": False,
        "subject": None,
        "in_reply_to": None,
        "references": (),
        "mailbox_id": None,
        "linkedin_account_id": None,
        "blocked": None,
    }
    if lead is None:
        plan["why"] = "this reply matched no lead; answer it from your mail client"
        return plan
    if row.channel == ChannelType.LINKEDIN.value:
        return _linkedin_plan(db, row, lead, plan)
    if not lead.email:
        plan["why"] = f"lead #{lead.id} has no email address; add one on the lead's page"
        return plan
    attempt = db.get(OutreachMessageDB, row.message_id) if row.message_id else None
    earlier: list[str | None] = []
    if attempt is not None:
        details = attempt.details or {}
        earlier = [*details.get("references", []), attempt.rfc_message_id]
    key = inbound.message_key if inbound is not None else None
    answered = key if is_message_id(key) else None
    mailbox_id = _conversation_mailbox(db, row, inbound)
    if mailbox_id is not None:
        mailbox = repo.mailbox_by_ref(db, row.workspace_id, mailbox_id=mailbox_id)
        assert mailbox is not None
        via = f"mailbox {mailbox.name} ({mailbox.from_address})"
    elif repo.has_smtp_mailbox(db, row.workspace_id):
        via = "a mailbox chosen by rotation (the conversation used none)"
    else:
        via = (
            "the local outbox: no mailbox is configured, so the answer is written as an "
            ".eml file and not delivered to the lead"
        )
    subject = (inbound.subject if inbound is not None else None) or row.subject
    if not subject and attempt is not None:
        subject = attempt.subject
    plan.update(
        possible=True,
        via=via,
        subject=reply_subject(subject),
        in_reply_to=answered,
        references=thread_references(earlier, answered),
        mailbox_id=mailbox_id,
        blocked=suppression_reason(db, lead, ChannelType.EMAIL),
    )
    return plan


def answer_reply(
    db: Session,
    reply_id: int,
    body: str,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Send an answer to a reply in its conversation (see the module's docstring).

    ``idempotency_key``: the same key twice sends once (a form submitted twice).

    Returns:
        :func:`~aicmo.operator_services.outreach.send_outreach_message`'s result plus
        ``via`` (the mailbox or account, in words) and ``reply_id``. A suppressed lead's
        answer is on record with status SUPPRESSED and not sent.

    Raises:
        NotFoundError: no such reply. ValidationError: an empty answer, or a reply that
            cannot be answered from here (no lead, no address). RateLimitedError: the
            mailbox or channel is at a limit (nothing written).
    """
    if not isinstance(body, str) or not body.strip():
        raise ValidationError("write the answer first", field="body")
    row, lead, inbound = _load(db, reply_id, workspace_id)
    plan = answer_plan(db, row, lead, inbound)
    if not plan["possible"] or lead is None:
        raise ValidationError(plan["why"] or "this reply cannot be answered here", field="body")
    key = idempotency_key or uuid.uuid4().hex

    def send() -> dict[str, Any]:
        return send_outreach_message(
            db,
            lead.id,
            body,
            plan["subject"],
            channel=row.channel,
            idempotency_key=f"answer:{reply_id}:{key}",
            workspace_id=workspace_id,
            now=now,
            in_reply_to=plan["in_reply_to"],
            references=plan["references"],
            mailbox_id=plan["mailbox_id"],
            linkedin_account_id=plan["linkedin_account_id"],
        )

    try:
        result = send()
    except ConflictError:
        # The same form submitted twice at once: the other request's attempt holds the
        # key now, and asking again returns it (``duplicate``) instead of an error.
        db.rollback()
        result = send()
    return {**result, "via": plan["via"], "reply_id": reply_id}


def _load(
    db: Session, reply_id: int, workspace_id: int
) -> tuple[ReplyDB, LeadDB | None, InboundMessageDB | None]:
    row = db.get(ReplyDB, reply_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFoundError(f"no reply with id {reply_id}")
    lead = repo.get_lead(db, workspace_id, row.lead_id) if row.lead_id else None
    inbound = db.get(InboundMessageDB, row.inbound_message_id) if row.inbound_message_id else None
    return row, lead, inbound


def _conversation_mailbox(
    db: Session, row: ReplyDB, inbound: InboundMessageDB | None
) -> int | None:
    """The mailbox our side of the conversation went out from, else the one the reply
    was read in (when it can send); None when the conversation used the outbox."""
    if row.mailbox_id is not None and repo.mailbox_by_ref(
        db, row.workspace_id, mailbox_id=row.mailbox_id
    ):
        return row.mailbox_id
    if inbound is not None and inbound.mailbox_id is not None:
        mailbox = repo.mailbox_by_ref(db, row.workspace_id, mailbox_id=inbound.mailbox_id)
        if mailbox is not None and mailbox.smtp_host:
            return mailbox.id
    return None


def _linkedin_plan(db: Session, row: ReplyDB, lead: LeadDB, plan: dict[str, Any]) -> dict[str, Any]:
    if not (lead.linkedin_url or lead.linkedin_id):
        plan["why"] = f"lead #{lead.id} has no LinkedIn profile; add it on the lead's page"
        return plan
    plan["possible"] = True
    plan["blocked"] = suppression_reason(db, lead, ChannelType.LINKEDIN)
    own = db.get(LinkedInAccountDB, row.linkedin_account_id) if row.linkedin_account_id else None
    if own is not None and own.enabled and own.status == "ACTIVE":
        plan["linkedin_account_id"] = own.id
        plan["via"] = f"LinkedIn account {own.name} ({own.provider})"
        return plan
    enabled = [a for a in list_linkedin_accounts(db, workspace_id=row.workspace_id) if a["enabled"]]
    if any(a["status"] == "ACTIVE" for a in enabled):
        plan["via"] = "another LinkedIn account (the conversation's is paused or gone)"
        return plan
    if enabled:
        plan["possible"] = False
        plan["why"] = (
            "every LinkedIn account is paused; resume one (aicmo linkedin resume NAME), then answer"
        )
        return plan
    plan["task"] = True
    plan["via"] = (
        "a task for you: no LinkedIn provider account is configured, so aicmo cannot "
        "send it; the task holds the text to copy and the profile link"
    )
    return plan


def _naive(value: datetime) -> datetime:
    """Stored times compared whether or not the database kept their zone (UTC both)."""
    return value.replace(tzinfo=None)
