"""A webhook receiver on loopback (http.server in a thread) that checks every request the
way a receiver of Standard Webhooks does, with its own implementation of the check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60


def verify(secret: str, headers: dict[str, str], body: bytes, now: float) -> bool:
    """Standard Webhooks verification, from the specification: HMAC-SHA256 keyed with the
    base64 after ``whsec_``, over ``id.timestamp.body``; any ``v1,`` signature may match;
    the timestamp within five minutes."""
    msg_id, timestamp, header = (
        headers.get("webhook-id"),
        headers.get("webhook-timestamp"),
        headers.get("webhook-signature"),
    )
    if not (msg_id and timestamp and header) or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    ).decode()
    return any(
        part.startswith("v1,") and hmac.compare_digest(part[3:], expected)
        for part in header.split(" ")
    )


@dataclass
class Received:
    webhook_id: str
    body: bytes
    verified: bool
    answered: int | None = None


@dataclass
class Receiver:
    """Answers each POST with the next scripted status (200 once the script is used up).
    ``hold_first`` keeps the first request open until ``release`` is set."""

    statuses: list[int] = field(default_factory=list)
    secret: str = ""
    hold_first: bool = False
    received: list[Received] = field(default_factory=list)
    got_request: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def delivered_ids(self) -> list[str]:
        """The webhook-ids that got a 2xx answer, one entry per answer."""
        return [r.webhook_id for r in self.received if r.answered and r.answered < 300]


@contextmanager
def receiver(**kwargs: object) -> Iterator[Receiver]:
    state = Receiver(**kwargs)  # type: ignore[arg-type]

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            item = Received(
                headers.get("webhook-id", ""),
                body,
                verify(state.secret, headers, body, time.time()),
            )
            with state.lock:
                state.received.append(item)
                first = len(state.received) == 1
                status = state.statuses.pop(0) if state.statuses else 200
            state.got_request.set()
            if first and state.hold_first:
                state.release.wait(60)
            try:
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                item.answered = status
            except OSError:
                pass  # the sender is gone: it never saw this answer

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/aicmo"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
