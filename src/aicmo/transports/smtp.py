"""Send one message at a time over SMTP (stdlib :mod:`smtplib`), and diagnose a mailbox.

:class:`SmtpTransport` keeps one authenticated connection open across sends and reopens it
after ``max_messages_per_connection`` messages, or when the server has closed it while idle
(found by the RSET sent before each reused transaction, or by a disconnect at MAIL FROM).
Reconnecting is only ever done *before* the DATA payload starts: once a byte of the payload
may have left, a lost connection or a timeout is reported as
:class:`~aicmo.transports.base.SendOutcomeUnknownError` and the message is not sent again
(invariant 1). That is why the transaction is driven command by command (MAIL, RCPT, DATA,
payload) instead of through :meth:`smtplib.SMTP.sendmail`, which hides where it failed.

TLS certificates are verified by default (:func:`ssl.create_default_context`); credentials
are never sent over an unencrypted connection except to a loopback relay. Secrets (password,
OAuth2 token) appear in no error message, repr or log line; server replies quoted in errors
are scrubbed of them too.

Reply → error (``stage`` is where it happened; see :func:`classify_reply`):

=====================================================  ===========================  =====
what happened                                          raised                       hard
=====================================================  ===========================  =====
connect refused / timed out / DNS failed / TLS failed  TransientSendError connect   -
greeting 4xx (421 busy), EHLO 4xx, STARTTLS 454        TransientSendError           -
greeting or EHLO 5xx                                   PermanentSendError           no
AUTH 4xx (454 temporary)                               TransientSendError auth      -
AUTH 5xx (535 bad credentials)                         PermanentSendError auth      no
MAIL FROM 4xx / 5xx (sender refused, size 552)         Transient / Permanent mail   no
RCPT TO 4xx (451 greylisted, 452 full)                 TransientSendError rcpt      -
RCPT TO 5xx with enhanced 5.1.x (not 5.1.7/5.1.8)      PermanentSendError rcpt      YES
RCPT TO 5xx without enhanced status, code 550/551/553  PermanentSendError rcpt      YES
RCPT TO other 5xx (5.7.x policy, 5.2.2 full, 552 …)    PermanentSendError rcpt      no
DATA command 4xx / 5xx (before 354)                    Transient / Permanent data   no
connection lost before the 354                         TransientSendError data      -
connection lost or timeout after the 354               SendOutcomeUnknownError      -
final reply 4xx / 5xx (554 5.7.1 spam, 552 size)       Transient / Permanent data   no
final reply not 2xx/4xx/5xx                            SendOutcomeUnknownError      -
STARTTLS or AUTH not offered, password in clear        SendConfigurationError       -
reserved host name (``smtp.example.com``)              SendConfigurationError       -
=====================================================  ===========================  =====

A TLS failure is reported at ``connect`` for implicit TLS and at ``ehlo`` for STARTTLS (the
session negotiation). Failures at ``connect``, ``ehlo`` and ``auth`` concern the mailbox,
not the recipient. 5.1.7 and 5.1.8 are about the *sender's* address, so they are never a hard
bounce of the recipient.

:func:`diagnose` connects, negotiates TLS, authenticates and QUITs without sending anything,
and returns a :class:`Diagnosis` that says in plain words what failed and what to check. It
never dials a reserved name (RFC 2606 / RFC 6761: ``.example``, ``.test``, ``.invalid``,
``.localhost``, ``example.com``/``.net``/``.org``); IP literals are not names and are allowed.
"""

from __future__ import annotations

import base64
import ipaddress
import re
import smtplib
import socket
import ssl
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Literal, NoReturn, Self

from aicmo.errors import ConfigurationError
from aicmo.transports.base import (
    PermanentSendError,
    SendConfigurationError,
    SendOutcomeUnknownError,
    SendReceipt,
    TransientSendError,
)

__all__ = [
    "Diagnosis",
    "Resolver",
    "Security",
    "SmtpSettings",
    "SmtpTransport",
    "classify_reply",
    "diagnose",
    "is_hard_bounce",
    "is_reserved_name",
    "parse_enhanced_status",
]

#: ``resolver(host, port)`` returns the IP addresses to dial, best first.
Resolver = Callable[[str, int], list[str]]

DiagnosisStage = Literal["dns", "tcp", "tls", "auth", "ok"]


class Security(StrEnum):
    """How the connection to the SMTP server is protected."""

    #: Plain connection, then STARTTLS before anything else (usually port 587). Refuses to
    #: continue if the server does not offer STARTTLS.
    STARTTLS = "starttls"
    #: TLS from the first byte, "SMTPS" (usually port 465).
    TLS = "tls"
    #: No encryption: only for a relay on the local network (port 25). Credentials are
    #: refused unless the host is a loopback address.
    NONE = "none"


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to reach one SMTP server.

    ``password`` and ``oauth2_token`` are kept out of the repr. Set ``username`` with either
    ``password`` (AUTH PLAIN/LOGIN) or ``oauth2_token`` (AUTH XOAUTH2), or neither for an
    open relay. ``ssl_context`` replaces the default verifying context (tests use it to
    trust a self-signed certificate).

    Raises:
        ConfigurationError: the settings are malformed (bad port or host, unknown security,
            credentials half given). Settings that are well-formed but cannot work with the
            server (credentials with security=none to a non-loopback host, a reserved host
            name) are refused when connecting, as :class:`SendConfigurationError`.
    """

    host: str
    port: int
    security: Security
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    oauth2_token: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    local_hostname: str | None = None
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "security", Security(self.security))
        except ValueError:
            raise ConfigurationError(
                f"Unknown SMTP security {self.security!r}: use starttls, tls or none"
            ) from None
        if not self.host or self.host != self.host.strip() or "/" in self.host:
            raise ConfigurationError(f"The SMTP host {self.host!r} is not a host name")
        if self.host.startswith("[") and self.host.endswith("]"):  # "[::1]" -> "::1"
            object.__setattr__(self, "host", self.host[1:-1])
        if not 0 < self.port < 65536:
            raise ConfigurationError(f"The SMTP port {self.port} is not between 1 and 65535")
        if self.timeout <= 0:
            raise ConfigurationError("The SMTP timeout must be a positive number of seconds")
        has_secret = self.password is not None or self.oauth2_token is not None
        if self.username and not has_secret:
            raise ConfigurationError(
                f"The SMTP user {self.username!r} has no password or OAuth2 token"
            )
        if has_secret and not self.username:
            raise ConfigurationError("An SMTP password or OAuth2 token needs a user name")


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """The result of :func:`diagnose`.

    Attributes:
        ok: True when every stage passed.
        stage: ``"ok"``, or the first stage that failed: ``"dns"`` (name refused or not
            resolved), ``"tcp"`` (no connection, no greeting, EHLO refused), ``"tls"``
            (handshake, certificate, STARTTLS missing) or ``"auth"``.
        message: one human sentence saying what happened and what to check.
    """

    ok: bool
    stage: DiagnosisStage
    message: str


# --- pure helpers: reply classification and reserved names -----------------------------------

_ENHANCED_STATUS = re.compile(r"^\s*([245]\.\d{1,3}\.\d{1,3})(?![\d.])")
_ADDRESS_HARD_BOUNCE_CODES = frozenset({550, 551, 553})
_SENDER_ADDRESS_STATUSES = frozenset({"5.1.7", "5.1.8"})
_RESERVED_TLDS = frozenset({"example", "test", "invalid", "localhost"})
_RESERVED_DOMAINS = ("example.com", "example.net", "example.org")


def parse_enhanced_status(text: str) -> str | None:
    """The RFC 3463 enhanced status code at the start of a reply text, e.g. ``"5.1.1"``."""
    match = _ENHANCED_STATUS.match(text)
    return match.group(1) if match else None


def is_hard_bounce(stage: str, code: int, enhanced: str | None) -> bool:
    """Whether a refusal means the recipient address itself is bad (and must be suppressed).

    True only for a 5xx answer to RCPT TO whose enhanced status is 5.1.x (bad mailbox, bad
    domain, bad syntax, moved) other than 5.1.7/5.1.8 (those concern the sender), or, when the
    server gives no enhanced status, whose code is 550, 551 or 553. A policy refusal (5.7.x),
    a full mailbox (5.2.2) or anything refused at MAIL or DATA is permanent for this message
    but says nothing bad about the address.
    """
    if stage != "rcpt" or not 500 <= code <= 599:
        return False
    if enhanced is not None:
        return enhanced.startswith("5.1.") and enhanced not in _SENDER_ADDRESS_STATUSES
    return code in _ADDRESS_HARD_BOUNCE_CODES


def classify_reply(
    stage: str, code: int, text: str, *, prefix: str = "The SMTP server refused"
) -> TransientSendError | PermanentSendError:
    """The error for a negative reply received before any of the payload was sent.

    4xx (and anything that is not a 5xx, such as a garbled reply) is transient: nothing was
    handed over, so trying again later is safe. 5xx is permanent, with ``hard_bounce`` from
    :func:`is_hard_bounce`.
    """
    enhanced = parse_enhanced_status(text)
    command = _STAGE_COMMANDS.get(stage, stage)
    message = f"{prefix} {command}: {code} {text}".rstrip()
    if 500 <= code <= 599:
        return PermanentSendError(
            message,
            stage=stage,
            code=code,
            enhanced=enhanced,
            hard_bounce=is_hard_bounce(stage, code, enhanced),
        )
    return TransientSendError(message, stage=stage, code=code, enhanced=enhanced)


def is_reserved_name(host: str) -> bool:
    """Whether ``host`` is a name under a reserved TLD or domain (RFC 2606 / RFC 6761).

    aicmo never dials such names. IP literals are not names and are never reserved.
    """
    name = host.strip().rstrip(".").lower()
    if _ip_literal(name) is not None:
        return False
    if name.rsplit(".", 1)[-1] in _RESERVED_TLDS:
        return True
    return any(name == domain or name.endswith("." + domain) for domain in _RESERVED_DOMAINS)


_STAGE_COMMANDS = {
    "connect": "the connection",
    "ehlo": "EHLO",
    "auth": "AUTH",
    "mail": "MAIL FROM",
    "rcpt": "RCPT TO",
    "data": "DATA",
}


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


def _is_loopback_literal(host: str) -> bool:
    literal = _ip_literal(host)
    return literal is not None and ipaddress.ip_address(literal).is_loopback


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


# --- opening a session (shared by the transport and diagnose) --------------------------------

_Step = Literal["tcp", "tls", "greeting", "ehlo", "auth"]
_Kind = Literal["transient", "permanent", "config"]


class _SessionFailure(Exception):
    """Opening a session failed at ``step``; ``message`` is already human and secret-free."""

    def __init__(
        self,
        step: _Step,
        message: str,
        *,
        kind: _Kind = "transient",
        code: int | None = None,
        text: str = "",
    ) -> None:
        super().__init__(message)
        self.step = step
        self.message = message
        self.kind = kind
        self.code = code
        self.enhanced = parse_enhanced_status(text)


_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)


class _Client(smtplib.SMTP):
    """An :class:`smtplib.SMTP` whose socket comes from ``open_socket``.

    So TCP connect and implicit-TLS handshake are separate, reportable steps, and a resolved
    address can be dialled while TLS still verifies the configured host name.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        open_socket: Callable[[float], socket.socket],
        local_hostname: str | None,
        timeout: float,
    ) -> None:
        self._open_socket = open_socket
        super().__init__(host, port, local_hostname=local_hostname, timeout=timeout)

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self._open_socket(timeout)

    # smtplib quotes every address through the email package's full address parser, a
    # third of a send's own CPU; a plain dot-atom address comes out of it as "<addr>"
    # (property-tested), so that is written directly and anything else goes the long way.

    def mail(self, sender: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        if not _PLAIN_ADDRESS.fullmatch(sender) or any(o.lower() == "smtputf8" for o in options):
            return super().mail(sender, options)
        optionlist = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("mail", f"FROM:<{sender}>{optionlist}")
        return self.getreply()

    def rcpt(self, recip: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        if not _PLAIN_ADDRESS.fullmatch(recip):
            return super().rcpt(recip, options)
        optionlist = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("rcpt", f"TO:<{recip}>{optionlist}")
        return self.getreply()


class _Session:
    """Opens one connected, TLS-protected, authenticated client for ``settings``."""

    def __init__(self, settings: SmtpSettings, context: ssl.SSLContext | None) -> None:
        self.settings = settings
        self.context = context
        self.where = f"{settings.host} port {settings.port}"
        self.secrets = tuple(
            secret for secret in (settings.password, settings.oauth2_token) if secret
        )

    def text(self, raw: bytes | str) -> str:
        """A server reply as one clean line, with any secret scrubbed out."""
        value = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        value = " ".join(value.split())[:500]
        for secret in self.secrets:
            if len(secret) >= 3:
                value = value.replace(secret, "***")
        return value

    def open(self, addresses: Sequence[str]) -> _Client:
        s = self.settings
        if s.username and s.security is Security.NONE and not _is_loopback_literal(s.host):
            raise _SessionFailure(
                "auth",
                f"security=none would send the password to {s.host} unencrypted — use "
                "security=starttls (usually port 587) or security=tls (port 465)",
                kind="config",
            )
        implicit = self.context if s.security is Security.TLS else None
        try:
            client = _Client(
                s.host,
                s.port,
                open_socket=lambda timeout: self._open_socket(addresses, implicit, timeout),
                local_hostname=s.local_hostname,
                timeout=s.timeout,
            )
        except smtplib.SMTPConnectError as err:
            raise self._refused("greeting", "refused the session", err) from None
        except OSError as err:
            raise self._no_greeting(err) from None
        try:
            self._negotiate(client)
        except BaseException:
            client.close()
            raise
        return client

    def _open_socket(
        self, addresses: Sequence[str], implicit: ssl.SSLContext | None, timeout: float
    ) -> socket.socket:
        s = self.settings
        last: OSError | None = None
        sock: socket.socket | None = None
        for address in addresses:
            try:
                sock = socket.create_connection((address, s.port), timeout=timeout)
                break
            except OSError as err:
                last = err
        if sock is None:
            raise self._tcp_failure(last) from None
        if implicit is None:
            return sock
        try:
            return implicit.wrap_socket(sock, server_hostname=s.host)
        except OSError as err:
            sock.close()
            raise self._tls_failure(err) from None

    def _tcp_failure(self, err: OSError | None) -> _SessionFailure:
        port = self.settings.port
        if isinstance(err, ConnectionRefusedError):
            hint = (
                f"cannot connect to {self.where}: connection refused — is the port right "
                "(587 for starttls, 465 for tls, 25 for a relay) and is the server running?"
            )
        elif isinstance(err, TimeoutError):
            hint = (
                f"no answer from {self.where} within {self.settings.timeout:g} s — is the host "
                f"right, and does the firewall allow outgoing connections to port {port}?"
            )
        elif isinstance(err, socket.gaierror):
            hint = (
                f"cannot resolve {self.settings.host} ({err.strerror}) — is the host name "
                "spelt right?"
            )
        else:
            reason = (err.strerror or type(err).__name__) if err else "no address to dial"
            hint = f"cannot connect to {self.where} ({reason}) — is the host right?"
        return _SessionFailure("tcp", hint[0].upper() + hint[1:])

    def _tls_failure(self, err: OSError) -> _SessionFailure:
        host = self.settings.host
        if isinstance(err, ssl.SSLCertVerificationError):
            detail = err.verify_message or "certificate verify failed"
            return _SessionFailure(
                "tls",
                f"TLS handshake failed: certificate verify failed for {host} ({detail}) — is "
                "the host name right, or does the server need security=tls on port 465?",
            )
        if isinstance(err, TimeoutError):
            reason = f"no TLS answer within {self.settings.timeout:g} s"
        elif isinstance(err, ssl.SSLError):
            reason = err.reason or err.strerror or type(err).__name__
        else:
            reason = err.strerror or type(err).__name__
        return _SessionFailure(
            "tls",
            f"TLS handshake with {self.where} failed ({reason}) — does this port speak the "
            "security you chose? Port 465 needs security=tls, port 587 security=starttls.",
        )

    def _no_greeting(self, err: OSError) -> _SessionFailure:
        timed_out = isinstance(err, TimeoutError) or isinstance(err.__context__, TimeoutError)
        if timed_out:
            hint = (
                " — a port that expects TLS from the first byte (465) needs security=tls"
                if self.settings.security is not Security.TLS
                else ""
            )
            return _SessionFailure(
                "greeting",
                f"{self.where} accepted the connection but sent no SMTP greeting within "
                f"{self.settings.timeout:g} s{hint}",
            )
        return _SessionFailure(
            "greeting", f"{self.where} closed the connection before greeting: {err}"
        )

    def _negotiate(self, client: _Client) -> None:
        self._hello(client)
        if self.settings.security is Security.STARTTLS:
            self._starttls(client)
            self._hello(client)
        self._authenticate(client)

    def _refused(
        self, stage: _Step, what: str, err: smtplib.SMTPResponseException
    ) -> _SessionFailure:
        """The server answered ``what`` with an error code: 5xx permanent, else transient."""
        text = self.text(err.smtp_error)
        return _SessionFailure(
            stage,
            f"{self.where} {what}: {err.smtp_code} {text}".rstrip(),
            kind="permanent" if 500 <= err.smtp_code <= 599 else "transient",
            code=err.smtp_code,
            text=text,
        )

    def _hello(self, client: _Client) -> None:
        try:
            client.ehlo_or_helo_if_needed()
        except smtplib.SMTPHeloError as err:
            raise self._refused("ehlo", "refused EHLO/HELO", err) from None
        except OSError as err:
            raise _SessionFailure(
                "ehlo", f"{self.where} closed the connection during EHLO ({err})"
            ) from None

    def _starttls(self, client: _Client) -> None:
        if not client.has_extn("starttls"):
            raise _SessionFailure(
                "tls",
                f"{self.where} does not offer STARTTLS, so mail and password would travel "
                "unencrypted — use security=tls (usually port 465), or security=none only "
                "for a local relay",
                kind="config",
            )
        try:
            client.starttls(context=self.context)
        except smtplib.SMTPResponseException as err:
            raise self._refused("tls", "refused STARTTLS", err) from None
        except smtplib.SMTPServerDisconnected as err:
            raise _SessionFailure(
                "tls", f"{self.where} closed the connection at STARTTLS ({err})"
            ) from None
        except OSError as err:
            raise self._tls_failure(err) from None

    def _authenticate(self, client: _Client) -> None:
        s = self.settings
        if not s.username:
            return
        user = s.username
        if not client.has_extn("auth"):
            raise _SessionFailure(
                "auth",
                f"{self.where} offers no authentication (AUTH) on this connection — check "
                "the security setting (many servers offer AUTH only after STARTTLS), or "
                "remove the user name for an open relay",
                kind="config",
            )
        mechanisms = client.esmtp_features.get("auth", "").upper().split()
        try:
            if s.oauth2_token is not None:
                if "XOAUTH2" not in mechanisms:
                    raise _SessionFailure(
                        "auth",
                        f"{self.where} does not offer AUTH XOAUTH2 (it offers "
                        f"{' '.join(mechanisms) or 'nothing'}) — use a password instead",
                        kind="config",
                    )
                if not s.oauth2_token.isascii():
                    raise _SessionFailure(
                        "auth", "The OAuth2 token is not ASCII; it cannot be right", kind="config"
                    )
                client.auth("XOAUTH2", _xoauth2(user, s.oauth2_token), initial_response_ok=True)
            else:
                password = s.password or ""
                if user.isascii() and password.isascii():
                    client.login(user, password)
                else:
                    _login_plain_utf8(client, user, password, mechanisms)
        except _SessionFailure:
            raise
        except smtplib.SMTPAuthenticationError as err:
            text = self.text(err.smtp_error)
            raise _SessionFailure(
                "auth",
                f"Authentication failed for user {user!r} on {s.host}: {err.smtp_code} "
                f"{text} — check the user name and password (many providers need an app "
                "password or OAuth2)",
                kind="permanent" if 500 <= err.smtp_code <= 599 else "transient",
                code=err.smtp_code,
                text=text,
            ) from None
        except smtplib.SMTPServerDisconnected as err:
            raise _SessionFailure(
                "auth", f"{self.where} closed the connection during AUTH ({err})"
            ) from None
        except smtplib.SMTPException:
            raise _SessionFailure(
                "auth",
                f"{self.where} offers no authentication method aicmo can use (it offers "
                f"{' '.join(mechanisms) or 'nothing'}; aicmo speaks PLAIN, LOGIN, CRAM-MD5 "
                "and XOAUTH2)",
                kind="config",
            ) from None
        except OSError as err:
            raise _SessionFailure(
                "auth", f"The connection to {self.where} failed during AUTH ({err})"
            ) from None


def _xoauth2(user: str, token: str) -> Callable[..., str]:
    initial = f"user={user}\x01auth=Bearer {token}\x01\x01"

    def respond(challenge: bytes | None = None) -> str:
        # The first call carries the credentials. A non-empty challenge is the server's JSON
        # error; RFC 7628 says to answer it with an empty line to get the final 5xx.
        return "" if challenge else initial

    return respond


def _login_plain_utf8(client: _Client, user: str, password: str, mechanisms: list[str]) -> None:
    """AUTH PLAIN with UTF-8 credentials (RFC 4616), which smtplib's ASCII-only login cannot."""
    if "PLAIN" not in mechanisms:
        raise _SessionFailure(
            "auth",
            "The SMTP user name or password is not ASCII, and the server does not offer AUTH "
            "PLAIN, the only method that can carry it",
            kind="config",
        )
    blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, reply = client.docmd("AUTH", f"PLAIN {blob}")
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, reply)


# --- the transport ------------------------------------------------------------------------

_LINE_END = re.compile(rb"\r\n|\r|\n")
_DOT_AT_LINE_START = re.compile(rb"^\.", re.MULTILINE)


def _wire_data(message: bytes) -> tuple[bytes, int]:
    """The DATA payload (CRLF line ends, dot-stuffed, terminated) and the message size."""
    data = _LINE_END.sub(b"\r\n", message)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return _DOT_AT_LINE_START.sub(b"..", data) + b".\r\n", len(data)


class SmtpTransport:
    """Sends messages through one SMTP server, reusing one connection (see module docstring).

    One instance sends one message at a time (a lock serialises concurrent callers). Use it
    as a context manager, or call :meth:`close`, to QUIT the kept-open connection.

    Args:
        settings: the server and credentials.
        max_messages_per_connection: accepted messages after which the connection is
            closed and a new one opened (servers often limit this).
    """

    name: str = "smtp"

    def __init__(self, settings: SmtpSettings, *, max_messages_per_connection: int = 100) -> None:
        if max_messages_per_connection < 1:
            raise ConfigurationError("max_messages_per_connection must be at least 1")
        self.settings = settings
        self.max_messages_per_connection = max_messages_per_connection
        context = settings.ssl_context
        if context is None and settings.security is not Security.NONE:
            context = ssl.create_default_context()
        self._session = _Session(settings, context)
        self._client: _Client | None = None
        self._accepted_on_client = 0
        self._clean = True
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        s = self.settings
        return f"SmtpTransport(host={s.host!r}, port={s.port}, security={s.security.value!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def send(
        self, message: bytes, *, mail_from: str, rcpt_to: str, now: datetime, key: str
    ) -> SendReceipt:
        """Send ``message`` to ``rcpt_to`` with the envelope sender ``mail_from``.

        Bare LF or CR line ends are sent as CRLF; lines starting with a dot are dot-stuffed.
        ``key`` is not sent (SMTP has no idempotency); the caller's key row is what prevents
        a second send.

        Returns:
            A receipt whose ``response`` is the server's final reply, e.g.
            ``"250 2.0.0 Ok: queued as ABC"``.

        Raises:
            TransientSendError: refused for now, or failed before the payload started.
            PermanentSendError: refused for good (``hard_bounce`` when the address is bad).
            SendOutcomeUnknownError: the connection was lost or timed out after the payload
                started; the message may have been accepted.
            SendConfigurationError: the settings cannot work with this server (reserved
                host, STARTTLS or AUTH not offered, credentials over an unencrypted
                connection); nothing was sent.
        """
        payload, size = _wire_data(bytes(message))
        with self._lock:
            return self._send(payload, size, mail_from=mail_from, rcpt_to=rcpt_to, now=now)

    def close(self) -> None:
        """QUIT and close the kept-open connection, if any (errors are ignored)."""
        with self._lock:
            self._quit()

    # -- one transaction --

    def _send(
        self, payload: bytes, size: int, *, mail_from: str, rcpt_to: str, now: datetime
    ) -> SendReceipt:
        try:
            client = self._start_transaction(payload, size, mail_from, rcpt_to)
            self._recipient(client, rcpt_to)
            code, reply = self._data(client, payload)
        except (TransientSendError, PermanentSendError, SendOutcomeUnknownError):
            self._clean = False  # a kept connection may hold a half-done transaction
            raise  # the connection was already kept (RSET next time) or dropped
        except BaseException:
            self._discard()  # anything else leaves the connection in an unknown state
            raise
        self._accepted_on_client += 1
        # A completed transaction leaves the session reset (RFC 5321 4.1.4): no RSET needed.
        self._clean = True
        return SendReceipt(
            transport=self.name,
            accepted_at=now,
            response=f"{code} {self._session.text(reply)}".rstrip(),
        )

    def _start_transaction(
        self, payload: bytes, size: int, mail_from: str, rcpt_to: str
    ) -> _Client:
        """A client on which MAIL FROM was accepted (reconnecting once if a kept-open
        connection turns out to be dead: nothing of the message has been sent yet)."""
        for _attempt in range(2):
            client, reused = self._ready_client()
            options = self._mail_options(client, payload, size, mail_from, rcpt_to)
            try:
                code, reply = client.mail(mail_from, options)
            except OSError as err:  # includes smtplib.SMTPServerDisconnected
                self._discard()
                if reused:
                    continue
                raise TransientSendError(
                    f"The connection to {self._session.where} failed at MAIL FROM ({err})",
                    stage="mail",
                ) from None
            if code == 421 and reused:
                self._discard()
                continue
            if not 200 <= code <= 299:
                self._refused(client, "mail", code, reply)
            return client
        raise TransientSendError(  # pragma: no cover - the second attempt is on a new client
            f"{self._session.where} keeps closing the connection", stage="mail"
        )

    def _recipient(self, client: _Client, rcpt_to: str) -> None:
        try:
            code, reply = client.rcpt(rcpt_to)
        except OSError as err:
            self._discard()
            raise TransientSendError(
                f"The connection to {self._session.where} failed at RCPT TO ({err})",
                stage="rcpt",
            ) from None
        if code not in (250, 251):
            self._refused(client, "rcpt", code, reply)

    def _data(self, client: _Client, payload: bytes) -> tuple[int, bytes]:
        try:
            code, reply = client.docmd("DATA")
        except OSError as err:
            self._discard()
            raise TransientSendError(
                f"The connection to {self._session.where} failed at DATA, before the "
                f"message was sent ({err})",
                stage="data",
            ) from None
        if code != 354:
            self._refused(client, "data", code, reply)
        # From here on the server may have (part of) the message: never reconnect and resend.
        try:
            client.send(payload)
            code, reply = client.getreply()
        except OSError as err:  # smtplib wraps timeouts and resets in SMTPServerDisconnected
            self._discard()
            raise SendOutcomeUnknownError(
                f"The connection to {self._session.where} was lost after the message was sent "
                f"and before the server confirmed it ({err}); it may have been accepted, so it "
                "must not be resent blindly",
                stage="data",
            ) from None
        if 200 <= code <= 299:
            return code, reply
        if 400 <= code <= 599:
            self._refused(
                client, "data", code, reply, prefix="The SMTP server refused the message at"
            )
        self._discard()
        text = self._session.text(reply)
        raise SendOutcomeUnknownError(
            f"{self._session.where} answered the message with an unexpected reply: "
            f"{code} {text}; it may have been accepted, so it must not be resent blindly",
            stage="data",
            code=code if code >= 0 else None,
            enhanced=parse_enhanced_status(text),
        )

    def _refused(
        self,
        client: _Client,
        stage: str,
        code: int,
        reply: bytes,
        *,
        prefix: str = "The SMTP server refused",
    ) -> NoReturn:
        if code == 421 or client.sock is None:
            self._discard()  # 421: the server is closing the connection
        raise classify_reply(stage, code, self._session.text(reply), prefix=prefix)

    def _mail_options(
        self, client: _Client, payload: bytes, size: int, mail_from: str, rcpt_to: str
    ) -> list[str]:
        options: list[str] = []
        if client.has_extn("size"):
            options.append(f"SIZE={size}")
        if not payload.isascii() and client.has_extn("8bitmime"):
            options.append("BODY=8BITMIME")
        if not (mail_from.isascii() and rcpt_to.isascii()):
            if not client.has_extn("smtputf8"):
                raise PermanentSendError(
                    f"{self._session.where} does not accept non-ASCII addresses (no SMTPUTF8)",
                    stage="mail" if not mail_from.isascii() else "rcpt",
                )
            options.append("SMTPUTF8")
        return options

    # -- the kept-open connection --

    def _ready_client(self) -> tuple[_Client, bool]:
        """The kept-open client if it is still alive (RSET answered 250), else a new one."""
        if self._client is not None and self._accepted_on_client >= (
            self.max_messages_per_connection
        ):
            self._quit()
        if self._client is not None and self._clean:
            # A dead connection shows at MAIL FROM, before any of the message is sent,
            # and _start_transaction reconnects then; an RSET round trip per message
            # would cost as much as the send itself.
            return self._client, True
        if self._client is not None:
            try:
                code, _ = self._client.rset()
            except OSError:
                code = -1
            if code == 250:
                return self._client, True
            self._discard()
        self._client = self._connect()
        self._accepted_on_client = 0
        self._clean = True
        return self._client, False

    def _connect(self) -> _Client:
        s = self.settings
        if is_reserved_name(s.host):
            raise SendConfigurationError(
                f"{s.host} is a reserved name (RFC 2606/6761) that aicmo never dials; set the "
                "mailbox's SMTP host to the real server",
                stage="connect",
            )
        try:
            return self._session.open([s.host])
        except _SessionFailure as failure:
            raise _public_error(failure, s.security) from None

    def _discard(self) -> None:
        """Drop the kept-open connection without QUIT (its state is unknown)."""
        client, self._client = self._client, None
        if client is not None:
            client.close()

    def _quit(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            with suppress(OSError):
                client.quit()
        finally:
            client.close()


def _public_error(
    failure: _SessionFailure, security: Security
) -> TransientSendError | PermanentSendError:
    stage: str
    if failure.step in ("tcp", "greeting"):
        stage = "connect"
    elif failure.step == "tls":
        stage = "connect" if security is Security.TLS else "ehlo"
    else:
        stage = failure.step
    if failure.kind == "config":
        return SendConfigurationError(failure.message, stage=stage)
    if failure.kind == "permanent":
        return PermanentSendError(
            failure.message, stage=stage, code=failure.code, enhanced=failure.enhanced
        )
    return TransientSendError(
        failure.message, stage=stage, code=failure.code, enhanced=failure.enhanced
    )


# --- diagnose -----------------------------------------------------------------------------

_DIAGNOSIS_STAGES: dict[_Step, DiagnosisStage] = {
    "tcp": "tcp",
    "greeting": "tcp",
    "ehlo": "tcp",
    "tls": "tls",
    "auth": "auth",
}


def diagnose(settings: SmtpSettings, *, resolver: Resolver | None = None) -> Diagnosis:
    """Check that ``settings`` reach a server that would take mail, without sending any.

    Resolves the host (through ``resolver``, default :func:`socket.getaddrinfo`), connects,
    negotiates TLS, authenticates, and QUITs. A reserved name is refused at the ``dns``
    stage before any lookup.

    Args:
        settings: the server and credentials to check.
        resolver: ``resolver(host, port)`` returns the addresses to dial; injectable so that
            tests never resolve anything.

    Returns:
        The first stage that failed with a message saying what to check, or ``ok``.
    """
    host, port = settings.host, settings.port
    if is_reserved_name(host):
        return Diagnosis(
            False,
            "dns",
            f"{host} is a reserved name (RFC 2606/6761) that aicmo never dials — set the "
            "mailbox's SMTP host to your provider's server (for example smtp.gmail.com)",
        )
    literal = _ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = list((resolver or _system_resolver)(host, port))
        except (OSError, UnicodeError) as err:
            reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
            return Diagnosis(
                False, "dns", f"Cannot resolve {host} ({reason}) — is the host name spelt right?"
            )
        if not addresses:
            return Diagnosis(False, "dns", f"{host} has no address — is the host name spelt right?")
    context = settings.ssl_context
    if context is None and settings.security is not Security.NONE:
        context = ssl.create_default_context()
    try:
        client = _Session(settings, context).open(addresses)
    except _SessionFailure as failure:
        return Diagnosis(False, _DIAGNOSIS_STAGES[failure.step], failure.message)
    try:
        sock = client.sock
        version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
        with suppress(OSError):
            client.quit()
    finally:
        client.close()
    channel = f"over {version}" if version else "without encryption"
    who = (
        f"authenticated as {settings.username}"
        if settings.username
        else "no authentication configured"
    )
    return Diagnosis(
        True, "ok", f"Connected to {host} port {port} {channel}, {who}; no message was sent"
    )
