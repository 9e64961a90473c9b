"""The unit of work every writing service runs in: commit on success, roll back and
raise an AicmoError on failure, so nothing is left half-written."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from aicmo.errors import AicmoError, ConflictError


def utcnow() -> datetime:
    return datetime.now(UTC)


@contextmanager
def unit_of_work(db: Session) -> Iterator[Session]:
    """Run a write; commit it, or roll it back and translate database errors."""
    try:
        yield db
        db.commit()
    except IntegrityError as err:
        db.rollback()
        raise ConflictError(f"the change conflicts with an existing record: {err.orig}") from err
    except OperationalError as err:
        db.rollback()
        raise AicmoError(f"database error: {err.orig}") from err
    except BaseException:
        db.rollback()
        raise
