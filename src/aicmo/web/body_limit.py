"""A cap on request bodies, per route, enforced before and while they are read.

Why: every POST route of ``aicmo serve`` used to read its whole body into memory before
looking at it. Three parallel 400 MB posts to ``/u/x`` took the server to 2.9 GB, and it
kept 1.58 GB afterwards. Each route here takes what its real senders send and a margin
(see docs/hardening.md for the figures); anything larger is refused with 413:

* a declared ``Content-Length`` over the cap is refused before one byte of the body is
  read (a client waiting on ``Expect: 100-continue`` never even sends it);
* a body without a length (chunked) is counted as it arrives, and refused as soon as the
  count passes the cap: the route never sees more than the cap.

The 413 carries ``Connection: close``: the server closes the connection instead of
reading and discarding the rest of the body. Its body is an RFC 9457 problem document.
Pure ASGI, so it wraps any app and costs a comparison per chunk.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimitMiddleware", "BodyTooLarge"]


class BodyTooLarge(Exception):
    """Raised inside the app's ``receive`` once a body passes its route's cap."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over {limit} bytes")
        self.limit = limit


class BodyLimitMiddleware:
    """Refuse request bodies over their route's cap with 413, reading no more than the cap.

    ``limits`` maps a path prefix (``/u/``, ``/webhooks/sendgrid``) to the most bytes a
    body may have there; the longest matching prefix wins, and ``default`` covers every
    other path.
    """

    def __init__(self, app: ASGIApp, *, limits: Mapping[str, int], default: int) -> None:
        self.app = app
        # Longest prefix first, so that the first match is the most specific one.
        self.limits = sorted(limits.items(), key=lambda kv: len(kv[0]), reverse=True)
        self.default = default

    def limit_for(self, path: str) -> int:
        for prefix, limit in self.limits:
            if path == prefix or path.startswith(prefix):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        seen = 0
        started = False
        # Whether body bytes may still be on their way when the route answers (it may
        # answer without reading them: a forged link, a missing signature).
        pending = bool(declared) or _has_header(scope, b"transfer-encoding")

        async def counted() -> Message:
            nonlocal seen, pending
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit)
                if not message.get("more_body", False):
                    pending = False
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if pending and not any(k == b"connection" for k, _ in message.get("headers", ())):
                    # Answered before the body was read: close the connection rather than
                    # let the server read (and drop) whatever the client still sends.
                    headers = [*message.get("headers", ()), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except BodyTooLarge:
            if started:  # the route answered already and read on: nothing left to say
                raise
            await _refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    """The declared length, or None when there is none (chunked) or it is not a number
    (the HTTP server refuses a malformed length before the app runs)."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _has_header(scope: Scope, name: bytes) -> bool:
    return any(key == name for key, _ in scope.get("headers", ()))


async def _refuse(send: Send, limit: int) -> None:
    problem: dict[str, Any] = {
        "type": "about:blank",
        "title": "Content Too Large",
        "status": 413,
        "detail": f"The request body is larger than {limit} bytes, the most this URL accepts.",
    }
    body = json.dumps(problem).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
