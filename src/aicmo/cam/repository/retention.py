"""Retention: the statements that blank message bodies older than a cutoff, and the claim
that makes the daily prune run once among all workers.

Every prune works in batches (select ids, then update those ids), so a large backlog is
never one huge transaction; the caller commits each batch.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aicmo.cam.db_models import (
    EventDB,
    InboundMessageDB,
    MaintenanceRunDB,
    OperatorTaskDB,
    OutreachMessageDB,
    WorkspaceDB,
)
from aicmo.cam.domain.messages import MessageStatus

#: Attempts whose body is still needed: not yet handed to a transport, or being handed.
_PENDING = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)


def claim_daily_run(db: Session, name: str, *, now: datetime, every_seconds: int) -> bool:
    """Whether this caller owns the run of ``name`` now: true for exactly one caller per
    period, whichever worker asks (primary key; the UPDATE's row lock on PostgreSQL, the
    write lock on SQLite, makes the second caller see the new time)."""
    table = cast(Table, MaintenanceRunDB.__table__)
    insert = (postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert)(
        table
    )
    created = db.execute(
        insert.values(name=name, last_run_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(table.c.name)
    ).first()
    if created is not None:
        return True
    last = db.scalar(select(MaintenanceRunDB.last_run_at).where(MaintenanceRunDB.name == name))
    if last is not None and (now - last).total_seconds() < every_seconds:
        return False
    # Conditional on the time read: of two callers past the period, only one moves it.
    moved = db.execute(
        update(table)
        .where(table.c.name == name, table.c.last_run_at == last)
        .values(last_run_at=now)
        .returning(table.c.name)
    ).first()
    return moved is not None


def prune_attempt_bodies(db: Session, *, before: datetime, limit: int) -> int:
    """Blank subject and body of up to ``limit`` attempts created before ``before`` that
    are no longer pending; how many (ix_outreach_messages_workspace_created, one range per
    workspace)."""
    ids = list(
        db.scalars(
            select(OutreachMessageDB.id)
            .where(
                OutreachMessageDB.workspace_id.in_(select(WorkspaceDB.id)),
                OutreachMessageDB.created_at < before,
                OutreachMessageDB.status.not_in(_PENDING),
                or_(OutreachMessageDB.subject.is_not(None), OutreachMessageDB.body.is_not(None)),
            )
            .limit(limit)
        )
    )
    if ids:
        db.execute(
            update(OutreachMessageDB)
            .where(OutreachMessageDB.id.in_(ids))
            .values(subject=None, body=None)
        )
    return len(ids)


def prune_inbound_texts(db: Session, *, before: datetime, limit: int) -> int:
    """Blank subject and text of up to ``limit`` inbound messages received before
    ``before``; how many (no index on the receive time alone: a scan of inbound_messages,
    once a day at most)."""
    ids = list(
        db.scalars(
            select(InboundMessageDB.id)
            .where(
                InboundMessageDB.received_at < before,
                or_(InboundMessageDB.subject.is_not(None), InboundMessageDB.text.is_not(None)),
            )
            .limit(limit)
        )
    )
    if ids:
        db.execute(
            update(InboundMessageDB)
            .where(InboundMessageDB.id.in_(ids))
            .values(subject=None, text=None)
        )
    return len(ids)


def prune_event_raw(db: Session, *, before: datetime, limit: int) -> int:
    """Blank the raw payload (a copy of the message or notification) of up to ``limit``
    events that happened before ``before``; how many (ix_events_workspace_occurred, one
    range per workspace). The append-only trigger allows this personal column to change."""
    ids = list(
        db.scalars(
            select(EventDB.id)
            .where(
                EventDB.workspace_id.in_(select(WorkspaceDB.id)),
                EventDB.occurred_at < before,
                EventDB.raw.is_not(None),
            )
            .limit(limit)
        )
    )
    if ids:
        db.execute(update(EventDB).where(EventDB.id.in_(ids)).values(raw=None))
    return len(ids)


def prune_task_bodies(db: Session, *, before: datetime, limit: int) -> int:
    """Blank the message text of up to ``limit`` closed operator tasks created before
    ``before`` (an open task still needs it); how many (a scan of operator_tasks, small)."""
    ids = list(
        db.scalars(
            select(OperatorTaskDB.id)
            .where(
                OperatorTaskDB.created_at < before,
                OperatorTaskDB.status != "OPEN",
                OperatorTaskDB.body.is_not(None),
            )
            .limit(limit)
        )
    )
    if ids:
        db.execute(update(OperatorTaskDB).where(OperatorTaskDB.id.in_(ids)).values(body=None))
    return len(ids)
