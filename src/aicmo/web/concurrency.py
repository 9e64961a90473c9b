"""At most as many requests inside the app as the database pool has connections.

Why: a sync route takes a pooled connection in a worker thread and gives it back only
after its response is serialised, which takes another worker thread. With more requests
in flight than connections, every thread can end up waiting for a connection while every
connection belongs to a request waiting for a thread: 100 concurrent clients stalled the
server until the pool's 30-second timeout. Requests past the limit wait here, holding
neither a thread nor a connection, and go in as others finish.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send


class ConcurrencyLimit:
    """Pure ASGI: a semaphore around each HTTP request (websockets and lifespan pass)."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = max(1, limit)
        self._semaphore: asyncio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._semaphore is None:  # made on the serving loop, not at import
            self._semaphore = asyncio.Semaphore(self.limit)
        async with self._semaphore:
            await self.app(scope, receive, send)


def pool_capacity(pool: object, default: int = 10) -> int:
    """Connections a SQLAlchemy pool hands out at most (its size plus overflow)."""
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", 0)
    if not callable(size):
        return default
    total = int(size()) + max(0, int(overflow))
    return total if total > 0 else default
