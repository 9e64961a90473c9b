"""One message through the channels in order, falling back when a channel cannot be used.

This is the seed's ``ChannelSequencer.execute_sequence``: Email, then LinkedIn, then the
contact form (starting from the message's channel). Each channel that is tried leaves an
attempt on record; a channel is skipped with its reason when it is disabled, at its hourly
or daily limit, or the lead has no address for it; suppression is checked as for any send.
Campaign sequences with delays and retries run in the engine, not here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cam.domain import leads as L
from aicmo.cam.domain.channels import address_of, channel_names, get_spec
from aicmo.cam.domain.messages import OutreachMessage
from aicmo.errors import RateLimitedError, ValidationError
from aicmo.operator_services.channels import get_channel_config
from aicmo.operator_services.leads import create_lead, update_lead
from aicmo.operator_services.outreach import send_outreach_message
from aicmo.operator_services.uow import utcnow


def _linkedin_fields(ref: str | None) -> dict[str, str]:
    """A profile URL, or a bare public identifier (``john-doe``) read as its vanity name."""
    if not ref or not ref.strip():
        return {}
    text = ref.strip()
    if "linkedin.com" in text.lower() or text.startswith("/in/"):
        return {"linkedin_url": text}
    L.check_single_line("recipient_linkedin_id", text, max_len=200)
    return {"linkedin_url": f"https://www.linkedin.com/in/{text}"}


def find_or_create_lead(
    db: Session,
    *,
    email: str | None,
    linkedin: str | None,
    form_url: str | None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """The lead with this email or LinkedIn profile, created if new; missing addresses
    are filled in (never overwritten)."""
    fields: dict[str, Any] = {**_linkedin_fields(linkedin)}
    if email:
        fields["email"] = email
    if form_url:
        fields["form_url"] = form_url
    if "email" not in fields and "linkedin_url" not in fields:
        raise ValidationError(
            "give at least a recipient email or LinkedIn id", field="recipient_email"
        )
    clean = L.normalize_lead_fields(fields)
    lead = None
    for key in ("email_key", "linkedin_key"):
        value = clean.get(key)
        if value:
            lead = repo.find_lead(db, workspace_id, **{key: value})  # type: ignore[arg-type]
            if lead is not None:
                break
    if lead is None:
        return create_lead(db, workspace_id=workspace_id, source="sequencer", **fields)
    missing = {k: v for k, v in fields.items() if getattr(lead, k) in (None, "")}
    if "linkedin_url" in missing and repo.find_lead(
        db,
        workspace_id,
        linkedin_key=clean.get("linkedin_key"),  # type: ignore[arg-type]
    ):
        missing.pop("linkedin_url")  # that profile belongs to another lead
    if missing:
        return update_lead(db, lead.id, workspace_id=workspace_id, **missing)
    return {
        "id": lead.id,
        "email": lead.email,
        "linkedin_url": lead.linkedin_url,
        "form_url": lead.form_url,
    }


def _unusable(
    db: Session, workspace_id: int, channel: str, lead: dict[str, Any], now: datetime
) -> str | None:
    """Why this channel cannot be tried now, or None."""
    config = get_channel_config(db, channel, workspace_id=workspace_id)
    if not config["enabled"]:
        return f"{channel} is disabled"
    if not address_of(channel, lead):
        return f"no {channel} address for this lead"
    return None


def execute_sequence(
    db: Session,
    message: OutreachMessage,
    *,
    recipient_email: str | None = None,
    recipient_linkedin_id: str | None = None,
    form_url: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Try the message's channel, then the others in order, until one carries it.

    Returns ``success``, ``channel_used`` ('EMAIL' / 'LINKEDIN' / 'CONTACT_FORM' or None),
    ``lead_id`` and ``attempts`` (every channel tried or skipped, with status and reason).
    When a channel hands the message to a person (an operator task) or waits for a
    LinkedIn connection, nothing is sent yet: ``success`` is False, ``pending`` names
    the channel and ``task_id`` the task; no further channel is tried.
    """
    now = now or utcnow()
    lead = find_or_create_lead(
        db,
        email=recipient_email,
        linkedin=recipient_linkedin_id,
        form_url=form_url,
        workspace_id=workspace_id,
    )
    order = channel_names()
    start = order.index(message.channel)
    channels = [*order[start:], *order[:start]]
    run = uuid.uuid4().hex
    attempts: list[dict[str, Any]] = []
    for channel in channels:
        reason = _unusable(db, workspace_id, channel, lead, now)
        if (
            reason is None
            and get_spec(channel).needs_subject
            and not (message.subject or "").strip()
        ):
            reason = "an email needs a subject; the message has none"
        if reason is not None:
            attempts.append(
                {"channel": str(channel), "status": "SKIPPED", "error": reason, "message_id": None}
            )
            continue
        try:
            result = send_outreach_message(
                db,
                lead["id"],
                message.body,
                message.subject,
                channel=channel,
                idempotency_key=f"sequence:{run}:{channel}",
                workspace_id=workspace_id,
                now=now,
            )
        except RateLimitedError as err:  # every mailbox at its cap
            attempts.append(
                {
                    "channel": str(channel),
                    "status": "SKIPPED",
                    "error": err.message,
                    "message_id": None,
                }
            )
            continue
        attempts.append(
            {
                "channel": str(channel),
                "status": result["status"],
                "error": result["error"],
                "message_id": result["message_id"],
                "transport": result["transport"],
                "response": result.get("response"),
                "outcome": result["outcome"],
                "task_id": result.get("task_id"),
            }
        )
        if result["outcome"] == "SENT":
            return {
                "success": True,
                "channel_used": str(channel),
                "lead_id": lead["id"],
                "attempts": attempts,
            }
        if result["status"] in {"SUPPRESSED", "UNKNOWN"}:
            # Suppressed: no other channel may be used either. Unknown: it may have been
            # delivered; falling back would risk a second message.
            break
        if result["outcome"] in {"TASK", "WAIT"}:
            # A person will send it (task), or a connection request waits for its answer:
            # not sent yet, and another channel now would make two touches.
            return {
                "success": False,
                "channel_used": None,
                "pending": str(channel),
                "task_id": result.get("task_id"),
                "lead_id": lead["id"],
                "attempts": attempts,
            }
    return {"success": False, "channel_used": None, "lead_id": lead["id"], "attempts": attempts}
