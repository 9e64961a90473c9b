"""Worker heartbeats (workers) and the figures /healthz reads off other tables."""

from __future__ import annotations

from sqlalchemy import ScalarResult, func, select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import LinkedInAccountDB, WorkerDB


def recent_workers(db: Session, *, limit: int = 50) -> ScalarResult[WorkerDB]:
    """The workers that ticked last, newest first (a sort of a table of a few rows)."""
    return db.scalars(select(WorkerDB).order_by(WorkerDB.last_tick_at.desc()).limit(limit))


def count_paused_linkedin_accounts(db: Session) -> int:
    """LinkedIn accounts paused by the provider's limits, every workspace (a scan of a
    table of a few rows)."""
    paused = db.scalar(select(func.count()).where(LinkedInAccountDB.status == "PAUSED"))
    return int(paused or 0)
