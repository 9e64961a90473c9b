"""Real SMTP servers on loopback for the SMTP transport tests (aiosmtpd).

``smtp_server(...)`` starts an aiosmtpd controller on 127.0.0.1 with an ephemeral port and a
:class:`RecordingHandler` that records every accepted message and can be told to misbehave:
answer MAIL, RCPT or the end of DATA with any reply (a 421 also closes the connection, as
real servers do), hang up at the DATA command, hang up right after its 354, hang up or stall
after the payload. Three kinds: ``plain`` (no TLS, no AUTH), ``starttls`` (STARTTLS required,
AUTH required and only after TLS) and ``tls`` (implicit TLS, AUTH required). The certificate
is self-signed for 127.0.0.1/::1/localhost, generated with ``cryptography`` per session.
Every server is stopped when its test ends.
"""

from __future__ import annotations

import asyncio
import socket
import time
from base64 import b64decode
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, AnyStr, Literal, cast

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from aicmo.transports.smtp import Security, SmtpSettings
from tests.tls import TlsFiles
from tests.tls import make_self_signed as make_tls_files

HOST = "127.0.0.1"
USER = "ana@acme.example"
PASSWORD = "s3cret-Pa55-wX7q"  # distinctive, so a leak into any message or repr is caught
TOKEN = "ya29.tok-Zq81-Lm2p"  # an OAuth2 bearer token, equally distinctive
CLIENT_TIMEOUT = 2.0

ServerKind = Literal["plain", "starttls", "tls"]


def make_self_signed(directory: Path) -> TlsFiles:
    return make_tls_files(directory, prefix="smtp")


@dataclass(frozen=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    mail_options: list[str]
    authenticated: bool
    encrypted: bool


@dataclass(frozen=True)
class Behaviour:
    """How the server misbehaves (by default it accepts everything with 250)."""

    mail_reply: str | None = None  #: reply to every MAIL FROM
    rcpt_replies: Mapping[str, str] = field(default_factory=dict)  #: reply per recipient
    data_reply: str | None = None  #: final reply after the payload
    #: at the DATA command: hang up without answering, or send 354 and then hang up
    at_data_command: Literal["hang-up", "354-then-hang-up"] | None = None
    #: after the whole payload arrived: hang up without a reply, or never answer
    after_payload: Literal["hang-up", "stall"] | None = None


class RecordingHandler:
    """aiosmtpd handler: records accepted messages, counts connections, misbehaves on cue."""

    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.received: list[Received] = []
        self.connections = 0
        self.live: set[LoopbackSMTP] = set()

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.behaviour.mail_reply is not None:
            return self.behaviour.mail_reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.behaviour.rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        after = self.behaviour.after_payload
        if after == "hang-up":
            assert server.transport is not None
            server.transport.close()
            return "250 never sent"
        if after == "stall":
            await asyncio.Event().wait()  # cancelled when the client hangs up or the server stops
        if self.behaviour.data_reply is not None:
            return self.behaviour.data_reply
        assert envelope.mail_from is not None
        assert isinstance(envelope.original_content, bytes)
        assert server.transport is not None
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content,
                mail_options=list(envelope.mail_options),
                authenticated=bool(session.authenticated),
                encrypted=server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return f"250 2.0.0 Ok: queued as Q{len(self.received)}"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """RFC 7628 as Gmail speaks it: a bad token gets a 334 JSON error, then a 535."""
        blob = b64decode(args[1]) if len(args) > 1 else b""
        if blob == f"user={USER}\x01auth=Bearer {TOKEN}\x01\x01".encode():
            return AuthResult(success=True, auth_data=USER)
        await server.challenge_auth(b'{"status":"400","schemes":"Bearer","scope":"mail"}')
        return AuthResult(success=False, handled=False, message="535 5.7.8 Token not accepted")


def authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    """Accepts exactly USER / PASSWORD (AUTH PLAIN and LOGIN)."""
    ok = isinstance(auth_data, LoginPassword) and auth_data == (
        USER.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=ok, handled=False)


class LoopbackSMTP(SMTP):
    """aiosmtpd's SMTP plus the test hooks: connection counting and scripted hang-ups.

    ``implicit_tls`` says the listening socket is TLS already: aiosmtpd only knows about
    STARTTLS, so it is told that AUTH needs no further TLS.
    """

    def __init__(self, handler: RecordingHandler, *, implicit_tls: bool = False, **kwargs: Any):
        super().__init__(handler, **kwargs)
        if implicit_tls:
            self._auth_require_tls = False

    @property
    def handler(self) -> RecordingHandler:
        handler = self.event_handler
        assert isinstance(handler, RecordingHandler)
        return handler

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._original_transport is None:  # a new TCP connection, not the STARTTLS upgrade
            self.handler.connections += 1
            self.handler.live.add(self)
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self.handler.live.discard(self)
        super().connection_lost(error)

    async def push(self, status: AnyStr) -> None:
        if self.transport is None or self.transport.is_closing():
            return  # hung up: say nothing more
        await super().push(status)
        text = status.decode("ascii", "replace") if isinstance(status, bytes) else status
        if text.startswith("421") and self.transport is not None:
            self.transport.close()  # 421 means the server closes the connection

    async def smtp_DATA(self, arg: str) -> None:
        mode = self.handler.behaviour.at_data_command
        if mode is not None and self.envelope is not None and self.envelope.rcpt_tos:
            if mode == "354-then-hang-up":
                await self.push("354 End data with <CR><LF>.<CR><LF>")
            assert self.transport is not None
            self.transport.close()
            return
        await super().smtp_DATA(arg)


class LoopbackController(Controller):
    """A Controller on 127.0.0.1 with an ephemeral port, serving :class:`LoopbackSMTP`."""

    def __init__(self, handler: RecordingHandler, **kwargs: Any) -> None:
        super().__init__(handler, hostname=HOST, port=0, **kwargs)

    def factory(self) -> SMTP:
        return LoopbackSMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        assert self.server is not None
        server = cast(asyncio.Server, self.server)
        self.port = int(server.sockets[0].getsockname()[1])
        super()._trigger_server()  # type: ignore[no-untyped-call]


@dataclass
class SmtpServer:
    """A running loopback server, what it received, and settings that reach it."""

    kind: ServerKind
    controller: LoopbackController
    handler: RecordingHandler
    tls: TlsFiles

    @property
    def port(self) -> int:
        return int(self.controller.port)

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def settings(self, **changes: Any) -> SmtpSettings:
        """Settings that reach this server and pass its checks (override any field)."""
        security = {
            "plain": Security.NONE,
            "starttls": Security.STARTTLS,
            "tls": Security.TLS,
        }[self.kind]
        base = SmtpSettings(
            host=HOST,
            port=self.port,
            security=security,
            username=None if self.kind == "plain" else USER,
            password=None if self.kind == "plain" else PASSWORD,
            timeout=CLIENT_TIMEOUT,
            local_hostname="aicmo-test",
            ssl_context=None if self.kind == "plain" else self.tls.client_context(),
        )
        return replace(base, **changes)

    def hang_up_idle_connections(self, reply: str | None = None) -> None:
        """Close every open connection from the server side, as an idle timeout does
        (optionally saying ``reply`` first), and wait until they are gone."""

        async def hang_up() -> None:
            for protocol in list(self.handler.live):
                if reply is not None:
                    await protocol.push(reply)
                if protocol.transport is not None:
                    protocol.transport.close()
            deadline = time.monotonic() + 2.0
            while self.handler.live and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
            assert not self.handler.live, "the server could not close its connections"

        asyncio.run_coroutine_threadsafe(hang_up(), self.controller.loop).result(timeout=3.0)


StartServer = Callable[..., SmtpServer]


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_self_signed(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def smtp_server(tls_files: TlsFiles) -> Iterator[StartServer]:
    """``smtp_server(kind="plain", behaviour=Behaviour(), **smtp_kwargs)`` starts a server;
    all of them are stopped when the test ends."""
    started: list[LoopbackController] = []

    def start(
        kind: ServerKind = "plain",
        behaviour: Behaviour | None = None,
        **smtp_kwargs: Any,
    ) -> SmtpServer:
        handler = RecordingHandler(behaviour or Behaviour())
        kwargs: dict[str, Any] = {"server_hostname": "mx.loopback", "ready_timeout": 5.0}
        if kind == "starttls":
            kwargs.update(
                tls_context=tls_files.server_context(),
                require_starttls=True,
                auth_required=True,
                auth_require_tls=True,
                authenticator=authenticate,
            )
        elif kind == "tls":
            kwargs.update(
                ssl_context=tls_files.server_context(),
                implicit_tls=True,
                auth_required=True,
                authenticator=authenticate,
            )
        kwargs.update(smtp_kwargs)
        controller = LoopbackController(handler, **kwargs)
        controller.start()
        started.append(controller)
        handler.connections = 0  # forget the controller's own start-up probe
        return SmtpServer(kind=kind, controller=controller, handler=handler, tls=tls_files)

    try:
        yield start
    finally:
        for controller in started:
            controller.stop()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port that is bound but not listening: connecting is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        yield int(sock.getsockname()[1])
