"""Liveness: is a worker ticking, how far behind is the due work, what waits for a person.

Workers write a heartbeat row after every tick; ``/healthz`` and ``aicmo status`` read
these figures. A worker counts as alive when its last tick is younger than
``stale_after`` and it did not say it stopped. ``email_waiting`` counts the workspaces
whose email cannot go, by reason ("all mailboxes disabled": SMTP mailboxes, none of them
enabled; their email waits, it is not sent to the local outbox).
``auth_failure_reports`` counts the DMARC
failure reports of the last week: receivers telling us our mail fails SPF/DKIM, which
hurts every send until the DNS is fixed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import WorkerDB
from aicmo.cam.domain.events import EventType
from aicmo.operator_services.uow import utcnow, write_unit

#: A worker that has not ticked for this long is reported as not alive.
STALE_AFTER = timedelta(minutes=2)
#: How far back ``auth_failure_reports`` counts.
AUTH_FAILURE_WINDOW = timedelta(days=7)


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
    for w in repo.recent_workers(db, limit=50):
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
    due_count, oldest = repo.due_summary(db, now)
    open_count, _ = repo.open_task_summary(db)
    return {
        "status": "ok" if alive or not workers else "stale",
        "workers_alive": len(alive),
        "seconds_since_last_tick": min(
            (float(w["seconds_since_tick"]) for w in workers), default=None
        ),
        "due_now": due_count,
        "oldest_due_seconds": round((now - oldest).total_seconds(), 1) if oldest else 0.0,
        "open_tasks": open_count,
        "overdue_tasks": repo.count_overdue_tasks(db, now),
        "unknown_attempts": repo.count_unknown_attempts(db),
        "paused_linkedin_accounts": repo.count_paused_linkedin_accounts(db),
        # Workspaces whose email waits, by why (the engine's reason for each wait).
        "email_waiting": {
            "all mailboxes disabled": len(repo.workspaces_with_every_mailbox_disabled(db))
        },
        "auth_failure_reports": repo.count_recent_events(
            db, EventType.AUTH_FAILURE_REPORTED.value, now - AUTH_FAILURE_WINDOW
        ),
        "workers": workers,
    }
