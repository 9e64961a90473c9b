"""How many requests run inside the app at once: at most as many as the database pool
has connections, and for their first moments far fewer (one on SQLite, two on
PostgreSQL).

Why the pool-wide limit: a sync route takes a pooled connection in a worker thread and
gives it back only after its response is serialised, which takes another worker thread.
With more requests in flight than connections, every thread can end up waiting for a
connection while every connection belongs to a request waiting for a thread: 100
concurrent clients stalled the server until the pool's 30-second timeout. Requests past
the limit wait here, holding neither a thread nor a connection, and go in as others
finish.

Why the narrow lane: on SQLite the work of a request is Python holding the GIL, with
SQLite releasing it now and then. Fifteen such requests at once take turns on the GIL
and each warms its own connection's page cache: a listing then cost twice the CPU it
costs alone, and two at a time served 40 - 50 % more requests with a third of the p99
(docs/performance.md). Once a request took one trip to a worker thread, one at a time
did better still: SQLite gives up the GIL at every row it steps, and a second request's
thread took it each time (10 - 27 % more requests, p99 under 100 ms). A request holds a
narrow slot for at most ``lease`` seconds and then goes on without it, so a long one (an
import, an export, a report) delays the others by no more than that, instead of holding
the lane for minutes. PostgreSQL's lane: :func:`narrow_lane`.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

#: How long a request may keep a narrow slot before it must share the GIL like any other.
DEFAULT_LEASE_S = 0.25


class ConcurrencyLimit:
    """Pure ASGI: a semaphore around each HTTP request (websockets and lifespan pass),
    and inside it, when ``narrow`` is smaller than ``limit``, a leased narrow lane."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        narrow: int | None = None,
        lease: float = DEFAULT_LEASE_S,
    ) -> None:
        self.app = app
        self.limit = max(1, limit)
        self.narrow = self.limit if narrow is None else max(1, min(narrow, self.limit))
        self.lease = lease
        self._semaphore: asyncio.Semaphore | None = None
        self._lane: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # made on the serving loop, not at import
            self._semaphore = asyncio.Semaphore(self.limit)
            self._lane = asyncio.Semaphore(self.narrow)
        async with self._semaphore:
            if self.narrow >= self.limit or self._lane is None:
                await self.app(scope, receive, send)
                return
            await self._lane.acquire()
            lease = _Lease(self._lane)
            timer = asyncio.get_running_loop().call_later(self.lease, lease.end)
            try:
                await self.app(scope, receive, send)
            finally:
                timer.cancel()
                lease.end()


class _Lease:
    """One narrow slot, given back once: when its request ends or its time is up."""

    __slots__ = ("_held", "_lane")

    def __init__(self, lane: asyncio.Semaphore) -> None:
        self._lane = lane
        self._held = True

    def end(self) -> None:
        if self._held:
            self._held = False
            self._lane.release()


def pool_capacity(pool: object, default: int = 10) -> int:
    """Connections a SQLAlchemy pool hands out at most (its size plus overflow)."""
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", 0)
    if not callable(size):
        return default
    total = int(size()) + max(0, int(overflow))
    return total if total > 0 else default


#: Requests in the narrow lane on SQLite (measured best at 1 on two cores).
SQLITE_NARROW = 1

#: Requests in the narrow lane on PostgreSQL (measured best at 2 on two cores).
POSTGRESQL_NARROW = 2


def narrow_lane(dialect_name: str) -> int:
    """The narrow lane's width for a database.

    PostgreSQL's work happens in its own processes and its driver gives up the GIL
    while it waits for them, so two requests at a time keep the server busy. More take
    turns on the GIL at every answer from the server: each turn can wait out a
    switch interval, and with the serving process's objects out of the collector's way
    (``aicmo.web.app.serving_app``) ten at a time had a p99 of 180 - 190 ms at 10
    clients against 140 - 150 ms for two, for the same requests per second.
    """
    return SQLITE_NARROW if dialect_name == "sqlite" else POSTGRESQL_NARROW
