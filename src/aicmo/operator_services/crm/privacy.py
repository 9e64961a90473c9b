"""GDPR: everything held about one person (export), and erasure (forget).

Erasure removes the lead and every piece of personal data about them (tags, notes,
message bodies and addresses, the personal fields of their events, their replies'
senders, subjects, texts and Message-IDs, plain suppression entries, the local outbox's
copies of the messages to them), keeps the facts (that messages were sent, that events
happened, without who), and leaves salted hashes on the suppression list so they are
never contacted again.

On SQLite, deleted content is zeroed in the pages (``secure_delete``, see
:mod:`aicmo.db.connect`) and the WAL is checkpointed and truncated after the erasure, so
that the old page versions do not stay in the files while ``serve`` or ``worker`` keep
the database open.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.domain.suppression import (
    SuppressionKind,
    SuppressionReason,
    erased_message_key,
    identity_hash,
    match_pairs,
)
from aicmo.config import get_settings
from aicmo.db.connect import truncate_wal
from aicmo.errors import NotFoundError
from aicmo.operator_services.channels.email import installation_namespace
from aicmo.operator_services.crm.suppression import add_entry, suppression_to_dict
from aicmo.operator_services.leads import lead_to_dict, resolve_lead
from aicmo.operator_services.outreach import message_to_dict
from aicmo.operator_services.uow import utcnow, write_unit
from aicmo.transports.outbox import OutboxTransport


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
    outbox_dir: Path | None = None,
) -> dict[str, Any]:
    """Erase a person (GDPR art. 17) and keep them suppressed by salted hash.

    The database changes commit together (under SQLite's write lock from the start, so
    a running worker is waited for, not failed on); then the outbox files of the
    person's emails are deleted (``outbox_dir``, default the settings' outbox) and, on
    SQLite, the WAL is truncated.

    Returns:
        ``lead_id``, ``messages_blanked``, ``events_blanked``, ``inbound_blanked``,
        ``suppressed_by_hash``, ``outbox_files_erased`` (how many), ``outbox_files_left``
        (paths that could not be deleted, with why) and ``wal_truncated`` (``True``;
        ``False`` when a reader kept the WAL busy, so old page versions stay in it until
        the next checkpoint; ``None`` on PostgreSQL).

    Raises:
        NotFoundError: no such lead (an address never imported can still be suppressed
            with ``add_suppression``).
    """
    now = now or utcnow()
    outbox = OutboxTransport(outbox_dir or get_settings().resolved_outbox_dir)
    with write_unit(db):
        lead = resolve_lead(db, ref, workspace_id=workspace_id)
        ws = repo.get_workspace(db, workspace_id)
        if ws is None:
            raise NotFoundError(f"workspace {workspace_id} does not exist")
        salt = ws.hash_salt
        lead_id = lead.id
        # The outbox file of each email: named after the attempt's key (as the send named
        # it), with the path its receipt recorded as a second place to look.
        namespace = installation_namespace(db, workspace_id)
        outbox_files = [
            (f"{namespace}:{a.idempotency_key}", a.provider_message_id)
            for a in repo.lead_attempts(db, workspace_id, lead_id)
            if a.channel == ChannelType.EMAIL.value and a.transport != "smtp"
        ]
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
        inbound = repo.blank_lead_inbound(
            db,
            workspace_id,
            lead_id=lead_id,
            email=lead.email,
            email_key=email_key,
            rekey=lambda key: erased_message_key(salt, key),
        )
        repo.blank_lead_replies(
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
    erased, left = _erase_outbox_files(outbox, outbox_files)
    return {
        "lead_id": lead_id,
        "messages_blanked": messages,
        "events_blanked": events,
        "inbound_blanked": inbound,
        "suppressed_by_hash": [k.value for k, _ in hashes],
        "outbox_files_erased": erased,
        "outbox_files_left": left,
        "wal_truncated": truncate_wal(db.get_bind().engine),
    }


def _erase_outbox_files(
    outbox: OutboxTransport, files: list[tuple[str, str | None]]
) -> tuple[int, list[str]]:
    """Delete the outbox copies (after the commit: a failed erasure keeps them); how many,
    and the ones that could not be deleted, with why, for the operator to remove."""
    erased = 0
    left: list[str] = []
    for key, receipt in files:
        try:
            erased += len(outbox.erase(key, [receipt]))
        except OSError as err:
            left.append(f"{err.filename or outbox.directory}: {err.strerror or err}")
    return erased, left


__all__ = ["export_person", "forget_person"]
