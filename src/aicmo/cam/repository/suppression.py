"""The suppression list (suppressions): invariant 2 is checked against it before every
send. Every lookup goes by uq_suppressions_entry (workspace_id, kind, value)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import SuppressionDB


def suppression_hits(
    db: Session, workspace_id: int, *, pairs: Sequence[tuple[str, str]]
) -> list[SuppressionDB]:
    """Entries matching any (kind, value) pair (uq_suppressions_entry index)."""
    if not pairs:
        return []
    conds = [and_(SuppressionDB.kind == k, SuppressionDB.value == v) for k, v in pairs]
    stmt = select(SuppressionDB).where(SuppressionDB.workspace_id == workspace_id, or_(*conds))
    return list(db.scalars(stmt))
