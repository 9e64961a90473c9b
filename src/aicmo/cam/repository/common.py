"""What every group of statements shares: the dialect's INSERT, a row count, keysets,
the claim of due work."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Result, Select, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from aicmo.cam.db_models import EnrollmentDB, WebhookDeliveryDB
from aicmo.db import bulk

#: The tables whose rows workers claim: a claimed_by worker holds a row until claimed_until.
Claimable = type[EnrollmentDB] | type[WebhookDeliveryDB]


def dialect_insert(db: Session, table: Any) -> Any:
    """An INSERT that knows ON CONFLICT on both SQLite and PostgreSQL."""
    name = db.get_bind().dialect.name
    return (postgresql.insert if name == "postgresql" else sqlite.insert)(table)


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (0 where the driver does not say)."""
    return int(getattr(result, "rowcount", 0) or 0)


def keyset_after(order: Sequence[tuple[Any, bool]], values: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in ``order`` (column, descending?): the condition
    of cursor pagination, which reads the index from where the last page ended instead
    of counting past every row before it as OFFSET does (and never skips or repeats a
    row when others are added meanwhile)."""
    clauses = []
    for i, (column, descending) in enumerate(order):
        ties = [col == value for (col, _), value in zip(order[:i], values[:i], strict=True)]
        step = column < values[i] if descending else column > values[i]
        clauses.append(and_(*ties, step))
    return or_(*clauses)


def claim_due_rows(
    db: Session,
    table: Claimable,
    due: Select[int],
    *,
    order: InstrumentedAttribute[datetime | None],
    now: datetime,
    worker: str,
    batch: int,
    lease: timedelta,
    also: Mapping[str, Any] | None = None,
) -> list[int]:
    """Claim for ``worker`` up to ``batch`` of the rows ``due`` selects (their ids, oldest
    ``order`` first) whose claim is free or expired (a dead worker's); the ids it took.

    On PostgreSQL the candidate rows are locked FOR UPDATE SKIP LOCKED, so two workers take
    different rows without waiting; on SQLite the caller holds the write lock (BEGIN
    IMMEDIATE). The conditional UPDATE (which also sets ``also``) only takes rows still
    free, and the re-read keeps only those this call claimed.
    """
    free = or_(table.claimed_until.is_(None), table.claimed_until < now)
    stmt = due.where(free).order_by(order).limit(batch)
    dialect = db.get_bind().dialect
    if dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=table)
    candidates = list(db.scalars(stmt))
    if not candidates:
        return []
    until = now + lease
    db.execute(
        update(table)
        .where(bulk.among(table.id, candidates, dialect), free)
        .values(claimed_by=worker, claimed_until=until, **(also or {}))
    )
    return list(
        db.scalars(
            select(table.id)
            .where(
                bulk.among(table.id, candidates, dialect),
                table.claimed_by == worker,
                table.claimed_until == until,
            )
            .order_by(order)
        )
    )
