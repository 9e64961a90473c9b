"""The suppression list (suppressions): invariant 2 is checked against it before every
send. Every lookup goes by uq_suppressions_entry (workspace_id, kind, value)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ScalarResult, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import SuppressionDB
from aicmo.cam.repository.common import keyset_after


def suppression_hits(
    db: Session, workspace_id: int, *, pairs: Sequence[tuple[str, str]]
) -> list[SuppressionDB]:
    """Entries matching any (kind, value) pair (uq_suppressions_entry index)."""
    if not pairs:
        return []
    conds = [and_(SuppressionDB.kind == k, SuppressionDB.value == v) for k, v in pairs]
    stmt = select(SuppressionDB).where(SuppressionDB.workspace_id == workspace_id, or_(*conds))
    return list(db.scalars(stmt))


def find_suppression_entry(
    db: Session, workspace_id: int, kind: str, value: str
) -> SuppressionDB | None:
    """The entry for exactly this (kind, value) (uq_suppressions_entry)."""
    return db.scalar(
        select(SuppressionDB).where(
            SuppressionDB.workspace_id == workspace_id,
            SuppressionDB.kind == kind,
            SuppressionDB.value == value,
        )
    )


def suppression_page(
    db: Session,
    workspace_id: int,
    *,
    kind: str | None,
    reason: str | None,
    limit: int,
    offset: int = 0,
    after: tuple[datetime, int] | None = None,
    search: str | None = None,
) -> ScalarResult[SuppressionDB]:
    """Entries newest first, optionally of one kind and reason (the workspace's range of
    uq_suppressions_entry, then a sort: an operator's listing, not a hot path);
    ``after``: the (created_at, id) the previous page ended with; ``search``: entries whose
    value contains it (wildcards taken literally; a scan of the workspace's entries)."""
    stmt = select(SuppressionDB).where(SuppressionDB.workspace_id == workspace_id)
    if after is not None:
        stmt = stmt.where(
            keyset_after([(SuppressionDB.created_at, True), (SuppressionDB.id, True)], after)
        )
    if kind:
        stmt = stmt.where(SuppressionDB.kind == kind)
    if reason:
        stmt = stmt.where(SuppressionDB.reason == reason)
    if search:
        stmt = stmt.where(SuppressionDB.value.contains(search, autoescape=True))
    stmt = stmt.order_by(SuppressionDB.created_at.desc(), SuppressionDB.id.desc())
    return db.scalars(stmt.limit(limit).offset(offset))


def count_suppressions(db: Session, workspace_id: int) -> int:
    """Entries of the workspace (its range of uq_suppressions_entry, index-only)."""
    stmt = (
        select(func.count())
        .select_from(SuppressionDB)
        .where(SuppressionDB.workspace_id == workspace_id)
    )
    return int(db.scalar(stmt) or 0)


def delete_suppressions(db: Session, workspace_id: int, pairs: Sequence[tuple[str, str]]) -> None:
    """Delete the entries matching any (kind, value) pair (uq_suppressions_entry)."""
    db.execute(
        delete(SuppressionDB).where(
            SuppressionDB.workspace_id == workspace_id,
            or_(*[(SuppressionDB.kind == k) & (SuppressionDB.value == v) for k, v in pairs]),
        )
    )
