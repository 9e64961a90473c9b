"""Short reads on SQLite, served on the event loop's own thread.

Why: Python's ``sqlite3`` gives up the GIL at every row it steps. A read in a worker
thread then waits at each row for the event loop's thread to hand the GIL back: under
load a lead listing cost about 7 ms in the server against 3 ms as a direct call, and the
API served SQLite at half the rate of the same calls made directly (docs/performance.md).
On the loop's thread the read keeps the GIL it already holds, and skips the trip to a
worker thread and back.

Why holding up the loop for it is safe:

- Only routes marked as short reads come here (``aicmo.web.api.route.short_read``): a
  page of at most the API's page size, or rollups; bounded work of a few milliseconds.
- They read on a connection of their own that SQLite keeps read-only
  (:func:`aicmo.db.connect.sqlite_reader`): a write is refused at once instead of
  waiting for the lock, and in WAL mode a read never waits for the writer.
- The one write such a request may want, noting when an API key was last used, goes to
  a worker thread and the answer does not wait for it.
- A read that SQLite refuses (busy, or a write after all) is run again the usual way, in
  a worker thread, and counted: a refused write is a route marked by mistake.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from aicmo.db.connect import session_factory, sqlite_reader
from aicmo.operator_services.accounts import record_key_use

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Notes a key's use (key id, moment): what a read on the loop hands to a thread.
RecordUse = Callable[[int, datetime], None]

#: SQLite's primary result codes for "not now" and "not on this connection".
_BUSY, _LOCKED, _READONLY = 5, 6, 8


class LoopReader:
    """Runs a short read's work on the calling (event loop) thread, on the read-only
    connection, and hands the key's use to a worker thread."""

    def __init__(self, reader: Engine, writer: sessionmaker[Session]) -> None:
        self._sessions = session_factory(reader)
        self._writer = writer
        self._pending: set[asyncio.Future[None]] = set()
        #: Reads served here, and reads SQLite refused here (then run in a thread).
        self.served = 0
        self.refused = 0
        self.refused_writes = 0

    @classmethod
    def for_engine(cls, engine: Engine, writer: sessionmaker[Session]) -> LoopReader | None:
        """A reader for a SQLite file; None for PostgreSQL (its driver gives up the GIL
        only to wait for the server) or an in-memory database."""
        reader = sqlite_reader(engine)
        return None if reader is None else cls(reader, writer)

    def run(
        self, work: Callable[[dict[str, Any], RecordUse], T], values: dict[str, Any]
    ) -> T | None:
        """``work(values, record_use)`` with each session in ``values`` replaced by one on
        the read-only connection; None when SQLite refused it (run it elsewhere)."""
        session = self._sessions()
        given = {k: session if isinstance(v, Session) else v for k, v in values.items()}
        try:
            answer = work(given, self.record_use_later)
        except OperationalError as err:
            code = _result_code(err)
            if code not in (_BUSY, _LOCKED, _READONLY):
                raise
            self.refused += 1
            if code == _READONLY:
                self.refused_writes += 1
                log.warning("a route marked as a short read tried to write: %s", err.orig)
            return None
        finally:
            session.close()
        self.served += 1
        return answer

    def record_use_later(self, key_id: int, moment: datetime) -> None:
        """Note the key's use in a worker thread, where waiting for the lock holds up
        no one; a failure is logged (the figure is shown to the minute, nothing else)."""
        future = asyncio.get_running_loop().run_in_executor(
            None, partial(self._record_use, key_id, moment)
        )
        self._pending.add(future)
        future.add_done_callback(self._recorded)

    def _record_use(self, key_id: int, moment: datetime) -> None:
        with self._writer() as db:
            record_key_use(db, key_id, moment)

    def _recorded(self, future: asyncio.Future[None]) -> None:
        self._pending.discard(future)
        if not future.cancelled() and future.exception() is not None:
            log.warning("could not note an API key's use: %s", future.exception())


def _result_code(err: OperationalError) -> int | None:
    orig = err.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        return None if code is None else int(code) & 0xFF
    return None
