"""Honouring an unsubscribe: at once, for every campaign, idempotently."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import OutreachMessageDB
from aicmo.cam.domain import leads as L
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType, MessageStatus
from aicmo.cam.domain.suppression import SuppressionKind, SuppressionReason
from aicmo.cam.unsubscribe_token import UnsubscribeClaim, read_token
from aicmo.config import get_settings
from aicmo.errors import ValidationError
from aicmo.operator_services.crm.events import regrade_if_lead
from aicmo.operator_services.crm.suppression import add_entry
from aicmo.operator_services.uow import utcnow, write_unit


def describe_token(token: str) -> UnsubscribeClaim:
    """Check a token (raises ValidationError when it is not ours)."""
    return read_token(get_settings().get_secret_key(), token)


def token_address(db: Session, token: str) -> tuple[UnsubscribeClaim, str | None]:
    """The claim and the address it unsubscribes (None once the person was erased).

    Raises:
        ValidationError: the token is not valid.
    """
    claim = describe_token(token)
    attempt = db.get(OutreachMessageDB, claim.message_id)
    if attempt is None or attempt.workspace_id != claim.workspace_id:
        return claim, None
    lead = repo.get_lead(db, claim.workspace_id, attempt.lead_id) if attempt.lead_id else None
    if lead is not None and lead.email_key:
        return claim, lead.email_key
    if attempt.recipient:
        try:
            return claim, L.normalize_email(attempt.recipient)[1]
        except ValidationError:
            return claim, None
    return claim, None


def unsubscribe_by_token(
    db: Session, token: str, *, source: str = "link", now: datetime | None = None
) -> dict[str, Any]:
    """Suppress the address the token's message went to; a second call changes nothing.

    Raises:
        ValidationError: the token is not valid.
    """
    claim, email_key = token_address(db, token)
    db.rollback()  # end the read; the write below is its own unit of work
    if email_key is None:  # erased: already suppressed by hash
        return {"email": None, "already": True, "lead_id": None}
    return unsubscribe_address(
        db,
        email_key,
        workspace_id=claim.workspace_id,
        message_id=claim.message_id,
        source=source,
        now=now,
    )


def unsubscribe_address(
    db: Session,
    email_key: str,
    *,
    workspace_id: int,
    message_id: int | None = None,
    source: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    with write_unit(db):
        _row, created = add_entry(
            db,
            workspace_id,
            SuppressionKind.EMAIL,
            email_key,
            SuppressionReason.UNSUBSCRIBED,
            source=source,
            now=now,
        )
        lead = repo.find_lead(db, workspace_id, email_key=email_key)
        if created:
            attempt = db.get(OutreachMessageDB, message_id) if message_id else None
            if attempt is not None and attempt.workspace_id != workspace_id:
                attempt = None
            if attempt is not None:
                attempt.status = MessageStatus.UNSUBSCRIBED.value
            repo.add_event(
                db,
                workspace_id,
                OutreachEvent(
                    type=EventType.UNSUBSCRIBED,
                    occurred_at=now,
                    channel=ChannelType.EMAIL,
                    source=source,
                    recipient=email_key,
                ),
                lead_id=lead.id if lead else None,
                campaign_id=attempt.campaign_id if attempt else None,
                message_id=attempt.id if attempt else None,
            )
            regrade_if_lead(db, lead, EventType.UNSUBSCRIBED, now)
    return {"email": email_key, "already": not created, "lead_id": lead.id if lead else None}
