"""What every row module shares: the declarative base with its naming convention and
column types, the default workspace, and the workspace foreign key every owned row has.

In its own module so the table groups can each import it without importing one another.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, Index, MetaData, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aicmo.db.types import JSONType, UTCDateTime

DEFAULT_WORKSPACE_ID = 1

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSONType,
        list[Any]: JSONType,
    }


def workspace_fk() -> Mapped[int]:
    """The ``workspace_id`` column of an owned row: removed with its workspace."""
    return mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"),
        default=DEFAULT_WORKSPACE_ID,
        nullable=False,
    )


def partial_index(name: str, *columns: str, where: str) -> Index:
    """An index of only the rows matching ``where`` (a SQL condition), on both databases:
    a queue's scan then costs what is pending, not what piled up since."""
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))
