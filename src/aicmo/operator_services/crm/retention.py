"""Retention: message texts are kept ``AICMO_RETENTION_DAYS`` days, then blanked; the
facts stay.

What is pruned past the cutoff: the rendered subject and body of each attempt (not one
still queued or being sent), the subject and text of each inbound message, the raw
payload of each event (a copy of the message or notification), the text of closed
operator tasks, and the local outbox's ``.eml`` files of the days before the cutoff.
What is kept: every row (attempts, inbound messages, events, tasks) with its dates,
statuses and links, and the daily rollups, so every count and rate stays as it was.
Erasure of one person (``crm.privacy``) goes further and is not limited by age.

The worker runs the prune at most once a day among all its processes (a claim on
``maintenance_runs``); ``aicmo retention prune`` runs it at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam.repository import retention as retention_repo
from aicmo.config import get_settings
from aicmo.errors import ValidationError
from aicmo.operator_services.uow import utcnow, write_unit
from aicmo.transports.outbox import OutboxTransport

#: The name of the worker's daily run in ``maintenance_runs``.
DAILY_RUN = "retention"
#: Rows blanked per transaction: a backlog never becomes one long write lock.
BATCH = 1000

_PRUNES = (
    ("attempts", retention_repo.prune_attempt_bodies),
    ("inbound_messages", retention_repo.prune_inbound_texts),
    ("events_raw", retention_repo.prune_event_raw),
    ("tasks", retention_repo.prune_task_bodies),
)


def prune_message_bodies(
    db: Session,
    *,
    days: int | None = None,
    now: datetime | None = None,
    outbox_dir: Path | None = None,
    batch: int = BATCH,
) -> dict[str, Any]:
    """Blank the message texts older than ``days`` days (default the settings'
    ``retention_days``), in batches of ``batch`` rows per transaction.

    Returns:
        ``cutoff`` (ISO instant), ``attempts``, ``inbound_messages``, ``events_raw``,
        ``tasks`` (rows blanked) and ``outbox_files`` (files deleted).

    Raises:
        ValidationError: no ``days`` given and no retention configured, or ``days`` is
            not a positive whole number.
    """
    settings = get_settings()
    days = settings.retention_days if days is None else days
    if days is None:
        raise ValidationError(
            "no retention period: set AICMO_RETENTION_DAYS or pass --days", field="days"
        )
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValidationError(f"days must be a positive whole number, got {days!r}", field="days")
    cutoff = (now or utcnow()) - timedelta(days=min(days, 36_500))
    out: dict[str, Any] = {"cutoff": cutoff.isoformat()}
    for name, prune in _PRUNES:
        done = 0
        while True:
            with write_unit(db):
                n = prune(db, before=cutoff, limit=batch)
            done += n
            if n < batch:
                break
        out[name] = done
    outbox = OutboxTransport(outbox_dir or settings.resolved_outbox_dir)
    out["outbox_files"] = len(outbox.prune(cutoff.date()))
    return out


def prune_if_due(
    db: Session, *, now: datetime | None = None, outbox_dir: Path | None = None
) -> dict[str, Any] | None:
    """The worker's daily prune: runs when retention is configured and no worker has run
    it in the last 24 hours; its report, or ``None`` when it did not run."""
    days = get_settings().retention_days
    if days is None:
        return None
    now = now or utcnow()
    with write_unit(db):
        mine = retention_repo.claim_daily_run(
            db, DAILY_RUN, now=now, every_seconds=int(timedelta(days=1).total_seconds())
        )
    if not mine:
        return None
    return prune_message_bodies(db, days=days, now=now, outbox_dir=outbox_dir)


__all__ = ["prune_if_due", "prune_message_bodies"]
