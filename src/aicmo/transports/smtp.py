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

The reply classification is :mod:`~aicmo.transports.smtp_replies`, opening a session
(connect, TLS, EHLO, AUTH) :mod:`~aicmo.transports.smtp_session`, and the name and TLS
guards :mod:`~aicmo.transports.netguard`; this module re-exports their public names.
"""

from __future__ import annotations

import re
import ssl
import threading
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NoReturn

from aicmo.errors import ConfigurationError
from aicmo.transports.base import (
    PermanentSendError,
    SendConfigurationError,
    SendOutcomeUnknownError,
    SendReceipt,
    TransientSendError,
)
from aicmo.transports.closing import ClosesOnExit
from aicmo.transports.netguard import (
    Resolver,
    Security,
    ip_literal,
    is_reserved_name,
    system_resolver,
)
from aicmo.transports.smtp_replies import classify_reply, is_hard_bounce, parse_enhanced_status
from aicmo.transports.smtp_session import (
    SessionFailure,
    SessionStep,
    SmtpClient,
    SmtpSession,
    SmtpSettings,
    session_context,
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
    "parse_enhanced_status",
]

DiagnosisStage = Literal["dns", "tcp", "tls", "auth", "ok"]


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


# --- the transport ------------------------------------------------------------------------

_LINE_END = re.compile(rb"\r\n|\r|\n")
_DOT_AT_LINE_START = re.compile(rb"^\.", re.MULTILINE)


def _wire_data(message: bytes) -> tuple[bytes, int]:
    """The DATA payload (CRLF line ends, dot-stuffed, terminated) and the message size."""
    data = _LINE_END.sub(b"\r\n", message)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return _DOT_AT_LINE_START.sub(b"..", data) + b".\r\n", len(data)


class SmtpTransport(ClosesOnExit):
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
        self._session = SmtpSession(settings, session_context(settings))
        self._client: SmtpClient | None = None
        self._accepted_on_client = 0
        self._clean = True
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        s = self.settings
        return f"SmtpTransport(host={s.host!r}, port={s.port}, security={s.security.value!r})"

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
    ) -> SmtpClient:
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

    def _recipient(self, client: SmtpClient, rcpt_to: str) -> None:
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

    def _data(self, client: SmtpClient, payload: bytes) -> tuple[int, bytes]:
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
        client: SmtpClient,
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
        self, client: SmtpClient, payload: bytes, size: int, mail_from: str, rcpt_to: str
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

    def _ready_client(self) -> tuple[SmtpClient, bool]:
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

    def _connect(self) -> SmtpClient:
        s = self.settings
        if is_reserved_name(s.host):
            raise SendConfigurationError(
                f"{s.host} is a reserved name (RFC 2606/6761) that aicmo never dials; set the "
                "mailbox's SMTP host to the real server",
                stage="connect",
            )
        try:
            return self._session.open([s.host])
        except SessionFailure as failure:
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
    failure: SessionFailure, security: Security
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

_DIAGNOSIS_STAGES: dict[SessionStep, DiagnosisStage] = {
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
    literal = ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = list((resolver or system_resolver)(host, port))
        except (OSError, UnicodeError) as err:
            reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
            return Diagnosis(
                False, "dns", f"Cannot resolve {host} ({reason}) — is the host name spelt right?"
            )
        if not addresses:
            return Diagnosis(False, "dns", f"{host} has no address — is the host name spelt right?")
    try:
        client = SmtpSession(settings, session_context(settings)).open(addresses)
    except SessionFailure as failure:
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
