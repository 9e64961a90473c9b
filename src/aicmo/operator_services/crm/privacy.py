"""GDPR: everything held about one person (export), and erasure (forget).

Erasure removes the lead and every piece of personal data about them (tags, notes,
message bodies and addresses, the personal fields of their events, plain suppression
entries), keeps the facts (that messages were sent, that events happened, without who),
and leaves salted hashes on the suppression list so they are never contacted again.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.suppression import (
    SuppressionKind,
    SuppressionReason,
    identity_hash,
    match_pairs,
)
from aicmo.errors import NotFoundError
from aicmo.operator_services.crm.suppression import add_entry, suppression_to_dict
from aicmo.operator_services.leads import lead_to_dict, resolve_lead
from aicmo.operator_services.outreach import message_to_dict
from aicmo.operator_services.uow import unit_of_work, utcnow


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def export_person(
    db: Session, ref: str | int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """Everything held about one person, JSON-ready (GDPR art. 15 / 20)."""
    lead = resolve_lead(db, ref, workspace_id=workspace_id)
    messages = repo.lead_attempts(db, workspace_id, lead.id)
    events = repo.lead_events(db, workspace_id, lead.id)
    inbound = repo.lead_inbound_messages(db, workspace_id, lead.id)
    ws = repo.get_workspace(db, workspace_id)
    assert ws is not None
    pairs = match_pairs(ws.hash_salt, email_key=lead.email_key, linkedin_key=lead.linkedin_key)
    suppressions = repo.suppression_hits(db, workspace_id, pairs=pairs)
    data: dict[str, Any] = _jsonable(
        {
            "exported_at": utcnow(),
            "lead": lead_to_dict(lead, with_notes=True),
            "messages": [message_to_dict(m) for m in messages],
            "events": [
                {
                    "id": e.id,
                    "type": e.type,
                    "occurred_at": e.occurred_at,
                    "channel": e.channel,
                    "source": e.source,
                    "campaign_id": e.campaign_id,
                    "message_id": e.message_id,
                    "recipient": e.recipient,
                    "reason": e.reason,
                    "detail": e.detail,
                }
                for e in events
            ],
            "inbound_messages": [
                {
                    "kind": m.kind,
                    "received_at": m.received_at,
                    "from": m.from_address,
                    "subject": m.subject,
                    "text": m.text,
                }
                for m in inbound
            ],
            "suppressions": [suppression_to_dict(s) for s in suppressions],
        }
    )
    return data


def forget_person(
    db: Session,
    ref: str | int,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    actor: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Erase a person (GDPR art. 17) and keep them suppressed by salted hash.

    Raises:
        NotFoundError: no such lead (an address never imported can still be suppressed
            with ``add_suppression``).
    """
    now = now or utcnow()
    with unit_of_work(db):
        lead = resolve_lead(db, ref, workspace_id=workspace_id)
        ws = repo.get_workspace(db, workspace_id)
        if ws is None:
            raise NotFoundError(f"workspace {workspace_id} does not exist")
        lead_id = lead.id
        email_key, linkedin_key = lead.email_key, lead.linkedin_key
        hashes: list[tuple[SuppressionKind, str]] = []
        if email_key:
            hashes.append((SuppressionKind.EMAIL_HASH, identity_hash(ws.hash_salt, email_key)))
        if linkedin_key:
            hashes.append(
                (SuppressionKind.LINKEDIN_HASH, identity_hash(ws.hash_salt, linkedin_key))
            )
        for kind, digest in hashes:
            add_entry(
                db,
                workspace_id,
                kind,
                digest,
                SuppressionReason.ERASED,
                source="erasure",
                actor=actor,
                now=now,
            )
        plain = [(k, v) for k, v in (("EMAIL", email_key), ("LINKEDIN", linkedin_key)) if v]
        if plain:
            repo.delete_suppressions(db, workspace_id, plain)
        messages = repo.blank_lead_attempts(db, workspace_id, lead_id)
        repo.cancel_lead_tasks(db, workspace_id, lead_id)
        repo.blank_lead_inbound(
            db, workspace_id, lead_id=lead_id, email=lead.email, email_key=email_key
        )
        # Events keep what happened; who it happened to is blanked (the trigger allows
        # only these personal columns to change).
        events = repo.blank_personal_events(
            db, workspace_id, lead_id=lead_id, email=lead.email, email_key=email_key
        )
        # Enrollments go with the lead; unlink what points at them first, so no single
        # statement has to cascade down two paths at once (PostgreSQL checks the SET NULL
        # of one path against rows the other path is still deleting).
        repo.unlink_attempts_from_lead_enrollments(db, lead_id)
        repo.unlink_tasks_from_lead_enrollments(db, lead_id)
        repo.delete_enrollments_of_lead(db, lead_id)
        db.delete(lead)
        db.flush()
        repo.add_event(
            db,
            workspace_id,
            OutreachEvent(
                type=EventType.LEAD_ERASED,
                occurred_at=now,
                detail={"messages_blanked": messages, "events_blanked": events},
            ),
            lead_id=lead_id,
            actor=actor,
        )
    return {
        "lead_id": lead_id,
        "messages_blanked": messages,
        "events_blanked": events,
        "suppressed_by_hash": [k.value for k, _ in hashes],
    }


__all__ = ["export_person", "forget_person"]
