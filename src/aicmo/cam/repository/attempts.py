"""Attempts (outreach_messages): one row per try to reach one lead on one channel.

Index notes are in each docstring; the rate windows and the engine's claims are not here
yet (they stay with the engine for now).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, ScalarResult, and_, func, or_, select, update
from sqlalchemy.orm import Session

from aicmo.cam.db_models import OutreachMessageDB
from aicmo.cam.domain.messages import ChannelType, MessageStatus
from aicmo.cam.repository.campaigns import enrollment_ids_of_lead
from aicmo.cam.repository.common import rowcount


def attempt_bodies(db: Session, workspace_id: int, ids: Sequence[int]) -> dict[int, str | None]:
    """The rendered body of each attempt named, by id (primary key lookups)."""
    if not ids:
        return {}
    stmt = select(OutreachMessageDB.id, OutreachMessageDB.body).where(
        OutreachMessageDB.workspace_id == workspace_id, OutreachMessageDB.id.in_(list(ids))
    )
    return {int(row_id): body for row_id, body in db.execute(stmt)}


def attempt_by_rfc_ids(
    db: Session, workspace_id: int, rfc_ids: Sequence[str]
) -> OutreachMessageDB | None:
    """The newest attempt whose Message-ID is one of ``rfc_ids``
    (ix_outreach_messages_rfc_message_id)."""
    stmt = (
        select(OutreachMessageDB)
        .where(
            OutreachMessageDB.workspace_id == workspace_id,
            OutreachMessageDB.rfc_message_id.in_(rfc_ids),
        )
        .order_by(OutreachMessageDB.id.desc())
        .limit(1)
    )
    return db.scalar(stmt)


def latest_sent_email(db: Session, workspace_id: int, lead_id: int) -> OutreachMessageDB | None:
    """The lead's newest email attempt that was sent (ix_outreach_messages_lead, or
    ix_outreach_messages_channel where the planner has no statistics to choose by)."""
    stmt = (
        select(OutreachMessageDB)
        .where(
            OutreachMessageDB.workspace_id == workspace_id,
            OutreachMessageDB.lead_id == lead_id,
            OutreachMessageDB.channel == ChannelType.EMAIL.value,
            OutreachMessageDB.sent_at.is_not(None),
        )
        .order_by(OutreachMessageDB.id.desc())
        .limit(1)
    )
    return db.scalar(stmt)


def sent_emails_before(
    db: Session, workspace_id: int, cutoff: datetime, *, limit: int
) -> list[OutreachMessageDB]:
    """Up to ``limit`` SENT emails sent at or before ``cutoff``, not to the outbox
    (ix_outreach_messages_status_sent): the delivery sweep's next batch."""
    return list(
        db.scalars(
            select(OutreachMessageDB)
            .where(
                OutreachMessageDB.status == MessageStatus.SENT.value,
                OutreachMessageDB.sent_at <= cutoff,
                OutreachMessageDB.workspace_id == workspace_id,
                OutreachMessageDB.channel == ChannelType.EMAIL.value,
                OutreachMessageDB.transport != "outbox",
            )
            .limit(limit)
        )
    )


def step_errors(db: Session, enrollment_id: int, step_index: int) -> Sequence[Row[str, str | None]]:
    """(channel, error) of the failed attempts of one step, in order
    (ix_outreach_messages_enrollment_id)."""
    return db.execute(
        select(OutreachMessageDB.channel, OutreachMessageDB.error)
        .where(
            OutreachMessageDB.enrollment_id == enrollment_id,
            OutreachMessageDB.step_index == step_index,
            OutreachMessageDB.error.is_not(None),
        )
        .order_by(OutreachMessageDB.id)
    ).all()


def count_unknown_attempts(db: Session) -> int:
    """Attempts whose outcome is UNKNOWN, every workspace (ix_outreach_messages_status_sent
    prefix, index-only)."""
    unknown = db.scalar(
        select(func.count()).where(OutreachMessageDB.status == MessageStatus.UNKNOWN.value)
    )
    return int(unknown or 0)


def attempts_in_doubt(
    db: Session, workspace_id: int, *, sending_before: datetime, limit: int
) -> tuple[int, int, list[OutreachMessageDB]]:
    """The workspace's attempts whose outcome is not known: (UNKNOWN ones, SENDING ones
    last touched before ``sending_before`` (a worker stopped mid-send; the next tick marks
    them UNKNOWN), up to ``limit`` of both, newest first).

    Both statuses lead ix_outreach_messages_status_sent (an index range each); the
    workspace and the age are filtered on those few rows.
    """
    unknown = OutreachMessageDB.status == MessageStatus.UNKNOWN.value
    stuck = and_(
        OutreachMessageDB.status == MessageStatus.SENDING.value,
        OutreachMessageDB.updated_at < sending_before,
    )
    mine = OutreachMessageDB.workspace_id == workspace_id
    n_unknown = db.scalar(select(func.count()).where(mine, unknown))
    n_stuck = db.scalar(select(func.count()).where(mine, stuck))
    rows = db.scalars(
        select(OutreachMessageDB)
        .where(mine, or_(unknown, stuck))
        .order_by(OutreachMessageDB.id.desc())
        .limit(limit)
    )
    return int(n_unknown or 0), int(n_stuck or 0), list(rows)


def lead_attempts(db: Session, workspace_id: int, lead_id: int) -> ScalarResult[OutreachMessageDB]:
    """Every attempt to reach one lead, oldest first (ix_outreach_messages_lead)."""
    return db.scalars(
        select(OutreachMessageDB)
        .where(OutreachMessageDB.workspace_id == workspace_id, OutreachMessageDB.lead_id == lead_id)
        .order_by(OutreachMessageDB.id)
    )


def blank_lead_attempts(db: Session, workspace_id: int, lead_id: int) -> int:
    """Erasure: blank the personal fields of the lead's attempts; how many
    (ix_outreach_messages_lead)."""
    return rowcount(
        db.execute(
            update(OutreachMessageDB)
            .where(
                OutreachMessageDB.workspace_id == workspace_id,
                OutreachMessageDB.lead_id == lead_id,
            )
            .values(recipient=None, subject=None, body=None, error=None, details=None)
        )
    )


def unlink_attempts_from_lead_enrollments(db: Session, lead_id: int) -> None:
    """Erasure: attempts stop pointing at the lead's enrollments before those go
    (ix_outreach_messages_enrollment_id, for the ids of enrollment_ids_of_lead)."""
    db.execute(
        update(OutreachMessageDB)
        .where(OutreachMessageDB.enrollment_id.in_(enrollment_ids_of_lead(lead_id)))
        .values(enrollment_id=None)
    )


def attempt_by_key(db: Session, key: str) -> OutreachMessageDB | None:
    """The attempt recorded under an idempotency key, if any (uq_attempt_key: keys are
    unique across workspaces)."""
    return db.scalar(select(OutreachMessageDB).where(OutreachMessageDB.idempotency_key == key))
