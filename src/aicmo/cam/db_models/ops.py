"""Rows the running system keeps about itself: worker heartbeats, the claim on periodic
housekeeping, and the stored answers that make a retried POST idempotent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aicmo.cam.db_models.base import Base, utcnow, workspace_fk
from aicmo.db.types import JSONType


class WorkerDB(Base):
    """A worker's heartbeat: /healthz reports how long ago each one last finished a tick."""

    __tablename__ = "workers"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column()
    last_tick_at: Mapped[datetime] = mapped_column()
    ticks: Mapped[int] = mapped_column(Integer, default=0)
    processed: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    stopped_at: Mapped[datetime | None] = mapped_column()


class MaintenanceRunDB(Base):
    """When a periodic housekeeping job (the retention prune) last ran: the row a worker
    claims with a conditional UPDATE, so that among all workers the job runs at most once
    per period."""

    __tablename__ = "maintenance_runs"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_run_at: Mapped[datetime] = mapped_column()


class IdempotencyKeyDB(Base):
    """The first answer to a POST sent with an ``Idempotency-Key``, replayed on a retry.

    Stripe's rule: the same key with the same body gets the first response again; the
    same key with another body is refused. Kept per workspace, pruned after a day.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("workspace_id", "key", name="uq_idempotency_keys_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    key: Mapped[str] = mapped_column(String(255))
    request_digest: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
