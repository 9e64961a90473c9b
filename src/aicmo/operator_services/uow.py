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


@contextmanager
def write_unit(db: Session) -> Iterator[Session]:
    """A unit of work that reads, then writes, holding SQLite's write lock from its first
    statement (BEGIN IMMEDIATE; PostgreSQL is unchanged).

    On SQLite a transaction that read first and then writes cannot wait for another
    writer: it fails at once with "database is locked". Starting with the lock, it waits
    (busy timeout) like any writer. Whatever the session had open is committed first.
    """
    if db.in_transaction():
        db.commit()
    with unit_of_work(db):
        if db.get_bind().dialect.name == "sqlite":
            db.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
        yield db
