"""Oversized request bodies over real HTTP (uvicorn on loopback): refused with 413 before
the server has read them, whether their length is declared or they come chunked.

The client writes the request on a raw socket, a slice at a time, and stops as soon as
the answer arrives; a wrapper around the app counts the body bytes the server handed it.
Both figures must stay far below the body's size."""

from __future__ import annotations

import base64
import select
import socket
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.orm import Session

from aicmo.cam.unsubscribe_token import UnsubscribeClaim, make_token
from aicmo.config import get_settings
from aicmo.web.app import BODY_LIMITS, create_app
from tests.http_server import serve

MIB = 1024 * 1024
#: What each request offers to send: far over every cap (the tester sent 400 MB).
OFFERED = 64 * MIB
SLICE = 64 * 1024


@dataclass
class Answer:
    status: int
    head: str
    body: bytes
    sent: int  # body bytes the client managed to write before the answer came


class Counting:
    """Wraps the app: counts the request body bytes the server passed on to it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.read = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        async def counted() -> Any:
            message = await receive()
            self.read += len(message.get("body", b""))
            return message

        await self.app(scope, counted, send)


@pytest.fixture
def app(db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Counting:
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    monkeypatch.setenv("AICMO_SENDGRID_WEBHOOK_PUBLIC_KEY", _any_p256_key())
    get_settings.cache_clear()
    return Counting(create_app())


def _any_p256_key() -> str:
    der = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(der).decode()


def post(base: str, path: str, headers: dict[str, str], *, chunked: bool) -> Answer:
    """POST ``OFFERED`` bytes of body to ``path``, a slice at a time, until the server
    answers (or closes); bounded in bytes and in time."""
    host, port = base.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {OFFERED}")
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 256 * 1024)
    sent = 0
    received = b""
    deadline = time.monotonic() + 30
    piece = b"x" * SLICE
    try:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        while sent < OFFERED and time.monotonic() < deadline:
            readable, writable, _ = select.select([sock], [sock], [], 1.0)
            if readable:
                break
            if not writable:
                continue
            frame = f"{SLICE:x}\r\n".encode() + piece + b"\r\n" if chunked else piece
            try:
                sock.sendall(frame)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += SLICE
        sock.settimeout(10)
        while b"\r\n\r\n" not in received or not _complete(received):
            try:
                data = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not data:
                break
            received += data
    finally:
        sock.close()
    head, _, body = received.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head else 0
    return Answer(status, head.decode("latin-1"), body, sent)


def _complete(received: bytes) -> bool:
    head, _, body = received.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def fresh_sendgrid_headers() -> dict[str, str]:
    """Signature headers that pass the checks made before the body is read (present,
    fresh): only the body's signature could refuse them, and the body is too large."""
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(b"s" * 70).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": str(int(time.time())),
        "Content-Type": "application/json",
    }


def valid_unsubscribe_path() -> str:
    token = make_token(get_settings().get_secret_key(), UnsubscribeClaim(1, 1))
    return f"/u/{token}"


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("route", ["unsubscribe", "sendgrid"])
def test_an_oversized_body_is_refused_before_the_server_reads_it(
    app: Counting, route: str, chunked: bool
) -> None:
    if route == "unsubscribe":
        path, headers, cap = valid_unsubscribe_path(), {}, BODY_LIMITS["/u/"]
    else:
        path, headers, cap = "/webhooks/sendgrid", fresh_sendgrid_headers(), 2 * MIB
        assert BODY_LIMITS["/webhooks/sendgrid"] == cap
    with serve(app) as base:
        answer = post(base, path, headers, chunked=chunked)
        # The server is still fine afterwards.
        assert httpx.get(f"{base}/healthz").status_code == 200
    assert answer.status == 413, answer.head
    assert "application/problem+json" in answer.head
    assert "connection: close" in answer.head.lower()
    problem = httpx.Response(413, content=answer.body).json()
    assert problem["status"] == 413 and problem["title"] == "Content Too Large"
    assert str(cap) in problem["detail"]
    if chunked:
        # Counted as it came: refused once past the cap, the rest never read.
        assert cap < app.read <= cap + 1 * MIB
    else:
        # Refused on the declared length: not one byte of the body was read.
        assert app.read == 0
    # The client was stopped long before it had sent the 64 MiB it offered (what it got
    # out is what the loopback socket buffers took, a few MiB at most).
    assert answer.sent < 16 * MIB, answer.sent


def test_a_forged_unsubscribe_link_is_refused_without_reading_its_body(app: Counting) -> None:
    """The tester's request: /u/x with a large chunked body. The token is checked first."""
    with serve(app) as base:
        answer = post(base, "/u/x", {}, chunked=True)
    assert answer.status == 400
    assert "connection: close" in answer.head.lower()
    assert app.read == 0
    assert answer.sent < 16 * MIB


def test_sendgrid_with_an_absurd_or_missing_timestamp_is_403_before_the_body_is_read(
    app: Counting,
) -> None:
    with serve(app) as base:
        answers = []
        for stamp in ("999999999999", "0", "-1", "1e12", "now", "9" * 40, ""):
            headers = {**fresh_sendgrid_headers(), "X-Twilio-Email-Event-Webhook-Timestamp": stamp}
            answers.append(httpx.post(f"{base}/webhooks/sendgrid", content=b"[]", headers=headers))
        big = post(
            base,
            "/webhooks/sendgrid",
            {**fresh_sendgrid_headers(), "X-Twilio-Email-Event-Webhook-Timestamp": "999999999999"},
            chunked=True,
        )
    assert [a.status_code for a in answers] == [403] * len(answers)
    assert big.status == 403 and big.sent < 16 * MIB
    assert app.read == 0


def test_bodies_within_their_cap_still_arrive(app: Counting) -> None:
    with serve(app) as base:
        one_click = httpx.post(
            f"{base}{valid_unsubscribe_path()}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    # The link is genuine (it names no attempt on record: nothing left to suppress).
    assert one_click.status_code == 200 and "Unsubscribed" in one_click.text
    assert app.read == len(b"List-Unsubscribe=One-Click")
