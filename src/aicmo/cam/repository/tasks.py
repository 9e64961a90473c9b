"""Operator tasks (operator_tasks): steps a person carries out for the engine.

ix_operator_tasks_open is partial (``WHERE status = 'OPEN'``). SQLite matches a bound
'OPEN' to it (it re-plans for the bound value); PostgreSQL's generic plan for a prepared
statement cannot, so the sweep of open tasks writes the status as a literal.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ScalarResult, case, func, literal, select, update
from sqlalchemy.orm import Session

from aicmo.cam.db_models import OperatorTaskDB
from aicmo.cam.repository.campaigns import enrollment_ids_of_lead
from aicmo.cam.repository.common import keyset_after


def task_page(
    db: Session,
    workspace_id: int,
    *,
    status: str | None,
    overdue_at: datetime | None,
    lead_id: int | None,
    campaign_id: int | None,
    limit: int,
    after: tuple[datetime, int] | None = None,
) -> ScalarResult[OperatorTaskDB]:
    """Tasks, soonest due first, filtered; ``overdue_at``: only OPEN ones due before it;
    ``after``: the (due_at, id) the previous page ended with.

    For OPEN tasks, ix_operator_tasks_open (workspace_id, due_at) where the planner
    matches the bound status; otherwise the workspace's tasks are read and sorted (an
    operator's listing, not a hot path).
    """
    stmt = select(OperatorTaskDB).where(OperatorTaskDB.workspace_id == workspace_id)
    if status is not None:
        stmt = stmt.where(OperatorTaskDB.status == status)
    if overdue_at is not None:
        stmt = stmt.where(OperatorTaskDB.status == "OPEN", OperatorTaskDB.due_at < overdue_at)
    if lead_id is not None:
        stmt = stmt.where(OperatorTaskDB.lead_id == lead_id)
    if campaign_id is not None:
        stmt = stmt.where(OperatorTaskDB.campaign_id == campaign_id)
    if after is not None:
        stmt = stmt.where(
            keyset_after([(OperatorTaskDB.due_at, False), (OperatorTaskDB.id, False)], after)
        )
    stmt = stmt.order_by(OperatorTaskDB.due_at, OperatorTaskDB.id).limit(limit)
    return db.scalars(stmt)


def open_tasks(db: Session) -> ScalarResult[OperatorTaskDB]:
    """Every OPEN task of every workspace (ix_operator_tasks_open: the literal matches
    its WHERE)."""
    open_ = OperatorTaskDB.status == literal("OPEN", literal_execute=True)
    return db.scalars(select(OperatorTaskDB).where(open_))


def open_task_summary(db: Session) -> tuple[int, datetime | None]:
    """(how many, the earliest due_at) of OPEN tasks, every workspace
    (ix_operator_tasks_open where the bound status is matched, else a scan)."""
    row = db.execute(
        select(func.count(), func.min(OperatorTaskDB.due_at)).where(OperatorTaskDB.status == "OPEN")
    ).one()
    return int(row[0] or 0), row[1]


def count_overdue_tasks(db: Session, now: datetime) -> int:
    """OPEN tasks due before ``now``, every workspace (as open_task_summary)."""
    overdue = db.scalar(
        select(func.count()).where(OperatorTaskDB.status == "OPEN", OperatorTaskDB.due_at < now)
    )
    return int(overdue or 0)


def workspace_task_counts(db: Session, workspace_id: int, now: datetime) -> tuple[int, int]:
    """(open, overdue: open and due before ``now``) tasks of one workspace
    (ix_operator_tasks_open (workspace_id, due_at): the literal matches its WHERE)."""
    open_ = OperatorTaskDB.status == literal("OPEN", literal_execute=True)
    overdue = func.sum(case((OperatorTaskDB.due_at < now, 1), else_=0))
    row = db.execute(
        select(func.count(), overdue).where(OperatorTaskDB.workspace_id == workspace_id, open_)
    ).one()
    return int(row[0] or 0), int(row[1] or 0)


def cancel_lead_tasks(db: Session, workspace_id: int, lead_id: int) -> None:
    """Erasure: blank and cancel the lead's tasks (no index leads with lead_id: a scan,
    once per erasure)."""
    db.execute(
        update(OperatorTaskDB)
        .where(OperatorTaskDB.workspace_id == workspace_id, OperatorTaskDB.lead_id == lead_id)
        .values(title="(erased)", body=None, url=None, note=None, status="CANCELLED")
    )


def unlink_tasks_from_lead_enrollments(db: Session, lead_id: int) -> None:
    """Erasure: tasks stop pointing at the lead's enrollments before those go (no index
    on enrollment_id: a scan, once per erasure; the ids as in enrollment_ids_of_lead)."""
    db.execute(
        update(OperatorTaskDB)
        .where(OperatorTaskDB.enrollment_id.in_(enrollment_ids_of_lead(lead_id)))
        .values(enrollment_id=None)
    )
