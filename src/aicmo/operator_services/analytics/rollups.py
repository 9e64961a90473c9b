"""Rebuilding the daily rollups from the events table, safely while workers run.

The rollups (``metrics_daily``) are kept up to date as events land and are the only
source of every rate. A rebuild recomputes a range of days from the append-only events
with the same arithmetic (:func:`aicmo.cam.domain.rollups.deltas`), so it repairs rows
that drifted (a bug, a restore, a row edited by hand) and fills the outcome counters for
days recorded before they existed.

Concurrency. Each day is rebuilt in a transaction of its own: delete the day's rows,
stream the day's events, insert the recomputed rows, commit. While that transaction
runs, no event that counts may commit, or it could be both missed by the scan and have
its bump deleted (or be counted twice):

- PostgreSQL: the transaction first takes ``SHARE ROW EXCLUSIVE`` on metrics_daily
  (``repository.metrics.lock_rollups``). Every bump is an upsert, which needs ``ROW
  EXCLUSIVE`` and so waits; a bump's transaction always inserts its event first and
  commits after the bump, so no counted event commits while the lock is held. A worker
  that bumped before the lock was granted has committed (or rolled back) by then: the
  lock waits for it. The isolation stays READ COMMITTED on purpose: every statement after
  the lock sees all that committed before it (REPEATABLE READ would keep a snapshot from
  before the lock was granted on some paths and miss those events).
- SQLite: the transaction starts with BEGIN IMMEDIATE, the database's single write lock;
  writers wait for it (busy timeout) and readers go on.

A worker is thus held up for one day's rebuild at a time, never for the whole range.
The events are read through a streaming cursor in chunks; only the day's counters (one
entry per rollup row) are held in memory.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam.domain.rollups import day_of, deltas
from aicmo.cam.repository import metrics as metrics_repo
from aicmo.errors import ValidationError
from aicmo.operator_services.uow import utcnow, write_unit

#: At most this many days in one rebuild (a century): a typo in a date is an error, not
#: a loop of a million empty transactions.
MAX_DAYS = 36_500


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def rebuild_day(
    db: Session, day: date, *, workspace_id: int | None = None, chunk: int = 5000
) -> dict[str, int]:
    """Recompute one day's rollup rows (of one workspace, or all) in one transaction.

    Returns:
        ``events`` read, ``rows`` written, ``deleted`` rows replaced.
    """
    counts: dict[metrics_repo.RollupKey, Counter[str]] = {}
    events = 0
    with write_unit(db):
        metrics_repo.lock_rollups(db)
        deleted = metrics_repo.delete_rollups(db, first=day, last=day, workspace_id=workspace_id)
        for ev in metrics_repo.counted_events(
            db,
            start=_midnight(day),
            end=_midnight(day + timedelta(days=1)),
            workspace_id=workspace_id,
            chunk=chunk,
        ):
            events += 1
            for column, by in deltas(ev.type, ev.channel, ev.detail):
                key = metrics_repo.rollup_key(
                    ev.workspace_id,
                    day_of(ev.occurred_at),
                    ev.channel,
                    ev.campaign_id,
                    ev.step_index,
                    ev.variant,
                    ev.mailbox_id,
                )
                counts.setdefault(key, Counter())[column] += by
        # A row whose counters all cancel out (a reply categorised positive, then
        # corrected) means nothing; the incremental path may leave it at zero.
        kept = {k: c for k, c in counts.items() if any(c.values())}
        rows = metrics_repo.insert_rollups(db, kept)
    return {"events": events, "rows": rows, "deleted": deleted}


def rebuild_range(
    db: Session,
    first: date | None,
    last: date | None,
    *,
    workspace_id: int | None = None,
    now: datetime | None = None,
) -> tuple[date, date]:
    """The days a rebuild covers: ``first`` defaults to the oldest event's day (today on
    an empty database), ``last`` to today.

    Raises:
        ValidationError: ``first`` is after ``last``, or the range is longer than
            ``MAX_DAYS``.
    """
    today = (now or utcnow()).date()
    if first is None:
        oldest = metrics_repo.first_event_time(db, workspace_id)
        db.commit()
        first = min(day_of(oldest), today) if oldest is not None else today
    last = today if last is None else last
    if first > last:
        raise ValidationError(f"--from {first} is after --to {last}", field="from")
    span = (last - first).days + 1
    if span > MAX_DAYS:
        raise ValidationError(f"at most {MAX_DAYS} days in one rebuild, got {span}", field="from")
    return first, last


def rebuild_rollups(
    db: Session,
    *,
    first: date | None = None,
    last: date | None = None,
    workspace_id: int | None = None,
    now: datetime | None = None,
    chunk: int = 5000,
    progress: Callable[[date, dict[str, int]], None] | None = None,
) -> dict[str, Any]:
    """Recompute the rollups of the days ``first``..``last`` (UTC dates, both included)
    from the events table, one transaction per day (see the module's docstring).

    Args:
        first: the first day; default the day of the oldest event (today on an empty
            database).
        last: the last day; default today.
        workspace_id: one workspace; default every workspace.
        progress: called after each day with the day and its counts.

    Returns:
        ``first``, ``last`` (ISO dates), ``days``, ``events`` read, ``rows`` written.

    Raises:
        ValidationError: ``first`` is after ``last``, or the range is longer than
            ``MAX_DAYS``.
    """
    first, last = rebuild_range(db, first, last, workspace_id=workspace_id, now=now)
    total = {"events": 0, "rows": 0}
    day = first
    while day <= last:
        done = rebuild_day(db, day, workspace_id=workspace_id, chunk=chunk)
        total["events"] += done["events"]
        total["rows"] += done["rows"]
        if progress is not None:
            progress(day, done)
        day += timedelta(days=1)
    span = (last - first).days + 1
    return {"first": first.isoformat(), "last": last.isoformat(), "days": span, **total}


__all__ = ["MAX_DAYS", "rebuild_day", "rebuild_range", "rebuild_rollups"]
