"""What every group of statements shares: the dialect's INSERT, a row count, keysets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Result, and_, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


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
