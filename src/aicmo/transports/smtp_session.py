"""Opening an SMTP session: connect, TLS, EHLO, authenticate, with errors in plain words.

Shared by :class:`~aicmo.transports.smtp.SmtpTransport` (which keeps the session open and
sends through it) and :func:`~aicmo.transports.smtp.diagnose` (which opens one and QUITs).
Every failure is a :class:`SessionFailure` saying at which step it happened and what to
check, with no secret in it; the caller turns it into its own error or diagnosis.
"""

from __future__ import annotations

import base64
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from aicmo.errors import ConfigurationError
from aicmo.transports.netguard import Security, is_loopback_literal, tls_context
from aicmo.transports.smtp_replies import parse_enhanced_status

__all__ = [
    "PLAIN_ADDRESS",
    "SessionFailure",
    "SessionStep",
    "SmtpClient",
    "SmtpSession",
    "SmtpSettings",
    "session_context",
]


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


SessionStep = Literal["tcp", "tls", "greeting", "ehlo", "auth"]
_Kind = Literal["transient", "permanent", "config"]


class SessionFailure(Exception):
    """Opening a session failed at ``step``; ``message`` is already human and secret-free."""

    def __init__(
        self,
        step: SessionStep,
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


PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)


class SmtpClient(smtplib.SMTP):
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
        if not PLAIN_ADDRESS.fullmatch(sender) or any(o.lower() == "smtputf8" for o in options):
            return super().mail(sender, options)
        optionlist = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("mail", f"FROM:<{sender}>{optionlist}")
        return self.getreply()

    def rcpt(self, recip: str, options: Sequence[str] = ()) -> tuple[int, bytes]:
        if not PLAIN_ADDRESS.fullmatch(recip):
            return super().rcpt(recip, options)
        optionlist = " " + " ".join(options) if options and self.does_esmtp else ""
        self.putcmd("rcpt", f"TO:<{recip}>{optionlist}")
        return self.getreply()


def session_context(settings: SmtpSettings) -> ssl.SSLContext | None:
    """The verifying TLS context for ``settings``; None for security=none."""
    if settings.security is Security.NONE:
        return None
    return tls_context(settings.ssl_context)


class SmtpSession:
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

    def open(self, addresses: Sequence[str]) -> SmtpClient:
        s = self.settings
        if s.username and s.security is Security.NONE and not is_loopback_literal(s.host):
            raise SessionFailure(
                "auth",
                f"security=none would send the password to {s.host} unencrypted — use "
                "security=starttls (usually port 587) or security=tls (port 465)",
                kind="config",
            )
        implicit = self.context if s.security is Security.TLS else None
        try:
            client = SmtpClient(
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

    def _tcp_failure(self, err: OSError | None) -> SessionFailure:
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
        return SessionFailure("tcp", hint[0].upper() + hint[1:])

    def _tls_failure(self, err: OSError) -> SessionFailure:
        host = self.settings.host
        if isinstance(err, ssl.SSLCertVerificationError):
            detail = err.verify_message or "certificate verify failed"
            return SessionFailure(
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
        return SessionFailure(
            "tls",
            f"TLS handshake with {self.where} failed ({reason}) — does this port speak the "
            "security you chose? Port 465 needs security=tls, port 587 security=starttls.",
        )

    def _no_greeting(self, err: OSError) -> SessionFailure:
        timed_out = isinstance(err, TimeoutError) or isinstance(err.__context__, TimeoutError)
        if timed_out:
            hint = (
                " — a port that expects TLS from the first byte (465) needs security=tls"
                if self.settings.security is not Security.TLS
                else ""
            )
            return SessionFailure(
                "greeting",
                f"{self.where} accepted the connection but sent no SMTP greeting within "
                f"{self.settings.timeout:g} s{hint}",
            )
        return SessionFailure(
            "greeting", f"{self.where} closed the connection before greeting: {err}"
        )

    def _negotiate(self, client: SmtpClient) -> None:
        self._hello(client)
        if self.settings.security is Security.STARTTLS:
            self._starttls(client)
            self._hello(client)
        self._authenticate(client)

    def _refused(
        self, stage: SessionStep, what: str, err: smtplib.SMTPResponseException
    ) -> SessionFailure:
        """The server answered ``what`` with an error code: 5xx permanent, else transient."""
        text = self.text(err.smtp_error)
        return SessionFailure(
            stage,
            f"{self.where} {what}: {err.smtp_code} {text}".rstrip(),
            kind="permanent" if 500 <= err.smtp_code <= 599 else "transient",
            code=err.smtp_code,
            text=text,
        )

    def _hello(self, client: SmtpClient) -> None:
        try:
            client.ehlo_or_helo_if_needed()
        except smtplib.SMTPHeloError as err:
            raise self._refused("ehlo", "refused EHLO/HELO", err) from None
        except OSError as err:
            raise SessionFailure(
                "ehlo", f"{self.where} closed the connection during EHLO ({err})"
            ) from None

    def _starttls(self, client: SmtpClient) -> None:
        if not client.has_extn("starttls"):
            raise SessionFailure(
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
            raise SessionFailure(
                "tls", f"{self.where} closed the connection at STARTTLS ({err})"
            ) from None
        except OSError as err:
            raise self._tls_failure(err) from None

    def _authenticate(self, client: SmtpClient) -> None:
        s = self.settings
        if not s.username:
            return
        user = s.username
        if not client.has_extn("auth"):
            raise SessionFailure(
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
                    raise SessionFailure(
                        "auth",
                        f"{self.where} does not offer AUTH XOAUTH2 (it offers "
                        f"{' '.join(mechanisms) or 'nothing'}) — use a password instead",
                        kind="config",
                    )
                if not s.oauth2_token.isascii():
                    raise SessionFailure(
                        "auth", "The OAuth2 token is not ASCII; it cannot be right", kind="config"
                    )
                client.auth("XOAUTH2", _xoauth2(user, s.oauth2_token), initial_response_ok=True)
            else:
                password = s.password or ""
                if user.isascii() and password.isascii():
                    client.login(user, password)
                else:
                    _login_plain_utf8(client, user, password, mechanisms)
        except SessionFailure:
            raise
        except smtplib.SMTPAuthenticationError as err:
            text = self.text(err.smtp_error)
            raise SessionFailure(
                "auth",
                f"Authentication failed for user {user!r} on {s.host}: {err.smtp_code} "
                f"{text} — check the user name and password (many providers need an app "
                "password or OAuth2)",
                kind="permanent" if 500 <= err.smtp_code <= 599 else "transient",
                code=err.smtp_code,
                text=text,
            ) from None
        except smtplib.SMTPServerDisconnected as err:
            raise SessionFailure(
                "auth", f"{self.where} closed the connection during AUTH ({err})"
            ) from None
        except smtplib.SMTPException:
            raise SessionFailure(
                "auth",
                f"{self.where} offers no authentication method aicmo can use (it offers "
                f"{' '.join(mechanisms) or 'nothing'}; aicmo speaks PLAIN, LOGIN, CRAM-MD5 "
                "and XOAUTH2)",
                kind="config",
            ) from None
        except OSError as err:
            raise SessionFailure(
                "auth", f"The connection to {self.where} failed during AUTH ({err})"
            ) from None


def _xoauth2(user: str, token: str) -> Callable[..., str]:
    initial = f"user={user}\x01auth=Bearer {token}\x01\x01"

    def respond(challenge: bytes | None = None) -> str:
        # The first call carries the credentials. A non-empty challenge is the server's JSON
        # error; RFC 7628 says to answer it with an empty line to get the final 5xx.
        return "" if challenge else initial

    return respond


def _login_plain_utf8(client: SmtpClient, user: str, password: str, mechanisms: list[str]) -> None:
    """AUTH PLAIN with UTF-8 credentials (RFC 4616), which smtplib's ASCII-only login cannot."""
    if "PLAIN" not in mechanisms:
        raise SessionFailure(
            "auth",
            "The SMTP user name or password is not ASCII, and the server does not offer AUTH "
            "PLAIN, the only method that can carry it",
            kind="config",
        )
    blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode("ascii")
    code, reply = client.docmd("AUTH", f"PLAIN {blob}")
    if code not in (235, 503):
        raise smtplib.SMTPAuthenticationError(code, reply)
