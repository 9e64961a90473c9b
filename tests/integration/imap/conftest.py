"""Real IMAP servers on loopback for the IMAP transport tests.

- ``imap_server``: pymap's in-memory ``dict`` backend, run as a subprocess
  (``pymap --host 127.0.0.1 --port N --no-tls dict --demo-user U --demo-password P``);
  the demo user is the one account, and ``--no-tls`` lets it log in without STARTTLS.
- ``starttls_server``: the same with ``--cert/--key`` (a self-signed certificate made here
  with ``cryptography``); pymap then offers STARTTLS and refuses LOGIN before it.
- ``implicit_tls_server``: pymap speaks no implicit TLS (IMAPS), so a small TLS relay on
  another loopback port terminates TLS with the same certificate and forwards the bytes
  to ``imap_server``.
- ``silent_port`` and ``bye_port``: scripted sockets for the failure modes a real server
  rarely shows on demand (no greeting at all; BYE in answer to the first command).

Servers are started once per test module; each test works in a folder of its own, so the
tests do not depend on one another or on their order.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient  # type: ignore[import-untyped]  # ships no py.typed

from aicmo.transports.imap import ImapSettings, Security
from tests.tls import TlsFiles
from tests.tls import make_self_signed as make_tls_files

HOST = "127.0.0.1"
USER = "alice"
PASSWORD = "hunter2-Xq9vLp"  # distinctive, so a leak into a message or log is caught
START_TIMEOUT = 10.0


@dataclass(frozen=True)
class ImapServer:
    """A running server and the settings that reach it."""

    port: int
    security: Security
    ssl_context: ssl.SSLContext | None = None

    def settings(self, **changes: Any) -> ImapSettings:
        base = ImapSettings(
            host=HOST,
            port=self.port,
            security=self.security,
            username=USER,
            password=PASSWORD,
            timeout=5.0,
            ssl_context=self.ssl_context,
        )
        return replace(base, **changes)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes] | None, log: Path | None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            output = log.read_text(errors="replace") if log else ""
            raise RuntimeError(f"pymap exited with {proc.returncode}:\n{output}")
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {HOST}:{port} after {START_TIMEOUT} s")


@contextmanager
def run_pymap(log: Path, *server_args: str) -> Iterator[int]:
    """Start pymap with the dict backend on a free loopback port; stop it afterwards."""
    port = free_port()
    pymap = Path(sys.executable).with_name("pymap")
    argv = [str(pymap), "--host", HOST, "--port", str(port), *server_args]
    argv += ["dict", "--demo-user", USER, "--demo-password", PASSWORD]
    env = {**os.environ, "FQDN": "pymap.loopback"}  # skips a reverse-DNS lookup per greeting
    env.pop("CERT_FILE", None)
    env.pop("KEY_FILE", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port, proc, log)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def make_self_signed(directory: Path) -> TlsFiles:
    return make_tls_files(directory, prefix="imap")


class TlsRelay:
    """Implicit TLS in front of a plain IMAP port: what stunnel does, in a few threads."""

    def __init__(self, upstream_port: int, context: ssl.SSLContext) -> None:
        self._upstream = (HOST, upstream_port)
        self._context = context
        self._stop = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            tls = self._context.wrap_socket(conn, server_side=True)
        except OSError:  # the client did not trust us, or spoke no TLS
            conn.close()
            return
        upstream = socket.create_connection(self._upstream, timeout=10)
        done = threading.Event()
        for src, dst in ((tls, upstream), (upstream, tls)):
            threading.Thread(target=self._pump, args=(src, dst, done), daemon=True).start()
        done.wait(timeout=30)
        for sock in (tls, upstream):
            sock.close()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket, done: threading.Event) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        done.set()


class ScriptedServer:
    """One-thread loopback socket: greets (or not), then answers the first command with BYE."""

    def __init__(self, *, greet: bool) -> None:
        self._greet = greet
        self._stop = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._held: list[socket.socket] = []
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self._held:
            sock.close()
        self._listener.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            if not self._greet:
                self._held.append(conn)  # never says a word
                continue
            with conn:
                conn.settimeout(5)
                conn.sendall(b"* OK [CAPABILITY IMAP4rev1] scripted server ready\r\n")
                with suppress(OSError):
                    conn.recv(4096)  # CAPABILITY or LOGIN; whatever it is, we are leaving
                    conn.sendall(b"* BYE server shutting down for maintenance\r\n")


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_self_signed(tmp_path_factory.mktemp("imap-tls"))


@pytest.fixture(scope="module")
def imap_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ImapServer]:
    log = tmp_path_factory.mktemp("pymap") / "pymap.log"
    with run_pymap(log, "--no-tls") as port:
        yield ImapServer(port=port, security=Security.NONE)


@pytest.fixture(scope="module")
def starttls_server(
    tmp_path_factory: pytest.TempPathFactory, tls_files: TlsFiles
) -> Iterator[ImapServer]:
    log = tmp_path_factory.mktemp("pymap-starttls") / "pymap.log"
    cert_args = ("--cert", str(tls_files.cert), "--key", str(tls_files.key))
    with run_pymap(log, *cert_args) as port:
        yield ImapServer(
            port=port, security=Security.STARTTLS, ssl_context=tls_files.client_context()
        )


@pytest.fixture(scope="module")
def implicit_tls_server(imap_server: ImapServer, tls_files: TlsFiles) -> Iterator[ImapServer]:
    relay = TlsRelay(imap_server.port, tls_files.server_context())
    try:
        yield ImapServer(
            port=relay.port, security=Security.TLS, ssl_context=tls_files.client_context()
        )
    finally:
        relay.close()


@pytest.fixture(scope="module")
def silent_port() -> Iterator[int]:
    server = ScriptedServer(greet=False)
    try:
        yield server.port
    finally:
        server.close()


@pytest.fixture(scope="module")
def bye_port() -> Iterator[int]:
    server = ScriptedServer(greet=True)
    try:
        yield server.port
    finally:
        server.close()


@pytest.fixture(scope="module")
def mailbox(imap_server: ImapServer) -> Iterator[Any]:
    """The operator's own session on ``imap_server``: appends mail and reads flags.

    One session per module: pymap hashes the password with 500,000 PBKDF2 rounds, so every
    login costs ~0.2 s, and the transport under test already logs in on every call.
    """
    client = IMAPClient(HOST, port=imap_server.port, ssl=False, timeout=5)
    client.login(USER, PASSWORD)
    try:
        yield client
    finally:
        client.logout()


@pytest.fixture
def folder(mailbox: Any) -> str:
    """A fresh, empty folder for one test (its own UIDVALIDITY and UIDs)."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    mailbox.create_folder(name)
    return name
