"""Liveness: is a worker ticking, how far behind is the due work, what waits for a person.

Workers write a heartbeat row after every tick; ``/healthz`` and ``aicmo status`` read
these figures. A worker counts as alive when its last tick is younger than
``stale_after`` and it did not say it stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import (
    CampaignDB,
    EnrollmentDB,
    LinkedInAccountDB,
    OperatorTaskDB,
    OutreachMessageDB,
    WorkerDB,
)
from aicmo.cam.domain.messages import MessageStatus
from aicmo.operator_services.uow import utcnow, write_unit

#: A worker that has not ticked for this long is reported as not alive.
STALE_AFTER = timedelta(minutes=2)


def record_tick(
    db: Session,
    name: str,
    *,
    now: datetime,
    started_at: datetime,
    processed: int,
    error: str | None = None,
) -> None:
    """Upsert this worker's heartbeat (one short transaction per tick)."""
    with write_unit(db):
        row = db.get(WorkerDB, name)
        if row is None:
            row = WorkerDB(name=name, started_at=started_at, last_tick_at=now, ticks=0, processed=0)
            db.add(row)
        row.last_tick_at = now
        row.ticks = (row.ticks or 0) + 1
        row.processed = (row.processed or 0) + processed
        row.last_error = error[:2000] if error else None
        row.stopped_at = None


def record_stop(db: Session, name: str, *, now: datetime) -> None:
    with write_unit(db):
        row = db.get(WorkerDB, name)
        if row is not None:
            row.stopped_at = now


def health(
    db: Session, *, now: datetime | None = None, stale_after: timedelta = STALE_AFTER
) -> dict[str, Any]:
    """The figures an operator or a probe needs, from a handful of indexed queries."""
    now = now or utcnow()
    workers: list[dict[str, Any]] = []
    for w in db.scalars(select(WorkerDB).order_by(WorkerDB.last_tick_at.desc()).limit(50)):
        age = (now - w.last_tick_at).total_seconds()
        workers.append(
            {
                "name": w.name,
                "last_tick_at": w.last_tick_at.isoformat(),
                "seconds_since_tick": round(age, 1),
                "alive": w.stopped_at is None and age <= stale_after.total_seconds(),
                "ticks": w.ticks,
                "processed": w.processed,
                "last_error": w.last_error,
            }
        )
    alive = [w for w in workers if w["alive"]]
    # ix_enrollments_due (partial, state = 'ACTIVE')
    due = db.execute(
        select(func.count(), func.min(EnrollmentDB.next_run_at))
        .join(CampaignDB, CampaignDB.id == EnrollmentDB.campaign_id)
        .where(
            EnrollmentDB.state == literal("ACTIVE", literal_execute=True),
            EnrollmentDB.next_run_at <= now,
            CampaignDB.status == "ACTIVE",
        )
    ).one()
    due_count, oldest = int(due[0] or 0), due[1]
    open_tasks = db.execute(
        select(func.count(), func.min(OperatorTaskDB.due_at)).where(OperatorTaskDB.status == "OPEN")
    ).one()
    overdue = db.scalar(
        select(func.count()).where(OperatorTaskDB.status == "OPEN", OperatorTaskDB.due_at < now)
    )
    unknown = db.scalar(
        select(func.count()).where(OutreachMessageDB.status == MessageStatus.UNKNOWN.value)
    )
    paused = db.scalar(select(func.count()).where(LinkedInAccountDB.status == "PAUSED"))
    return {
        "status": "ok" if alive or not workers else "stale",
        "workers_alive": len(alive),
        "seconds_since_last_tick": min(
            (float(w["seconds_since_tick"]) for w in workers), default=None
        ),
        "due_now": due_count,
        "oldest_due_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "open_tasks": int(open_tasks[0] or 0),
        "overdue_tasks": int(overdue or 0),
        "unknown_attempts": int(unknown or 0),
        "paused_linkedin_accounts": int(paused or 0),
        "workers": workers,
    }
