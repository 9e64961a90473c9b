"""Fetching new mail from an IMAP mailbox (replies, bounces, complaints) with imapclient.

This module's job is to hand the inbound pipeline the raw bytes of every message that
arrived in one folder since a cursor, and to say whether the cursor still holds. It is
read-only by construction: the folder is opened with ``EXAMINE``
(``select_folder(readonly=True)``) and bodies are fetched with ``BODY.PEEK[]``, so
polling never sets ``\\Seen`` or changes any flag; an operator's mail client sees the
mailbox exactly as before.

What it must not do: parse or classify mail (that is ``aicmo.cam.inbound``), store the
cursor (the service layer keeps ``(uidvalidity, last_uid)`` in the database), delete or
move anything, or put a secret in an error message or a log line.

The cursor
    A cursor is ``(uidvalidity, last_uid)``. ``fetch_new`` returns the messages whose UID
    is greater than ``last_uid``, oldest first, at most ``limit`` per call; the caller
    stores the returned cursor and calls again until no message comes back. When the
    server's UIDVALIDITY differs from the stored one (the folder was recreated or
    renumbered), stored UIDs mean nothing any more: the fetch starts again from the
    beginning and says so with ``reset=True`` (the caller deduplicates by Message-ID).
    ``last_uid=None`` means "from the beginning"; a caller that must not import years of
    old mail on its first run starts from ``current_cursor(settings)`` instead.

Errors
    Connection failures, timeouts, TLS handshake failures and a server's BYE raise
    ``TransientChannelError`` (poll again later). A refused login, a missing folder, a
    certificate that does not verify, a server without the STARTTLS that the settings ask
    for, or a reserved host name raise ``ConfigurationError`` (an operator must act).
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal

from imapclient import IMAPClient  # type: ignore[import-untyped]  # ships no py.typed
from imapclient.exceptions import LoginError  # type: ignore[import-untyped]

from aicmo.errors import AicmoError, ConfigurationError, TransientChannelError
from aicmo.transports.netguard import (
    Resolver,
    Security,
    is_reserved_name,
    system_resolver,
    tls_context,
)

__all__ = [
    "Diagnosis",
    "DiagnosisStage",
    "FetchResult",
    "FetchedMessage",
    "ImapSettings",
    "Resolver",
    "Security",
    "current_cursor",
    "diagnose",
    "fetch_new",
]

#: The step at which ``diagnose`` stopped; ``"ok"`` when every step passed.
DiagnosisStage = Literal["dns", "tcp", "tls", "auth", "folder", "ok"]

_BODY = b"BODY[]"  # what the server answers to BODY.PEEK[]


@dataclass(frozen=True)
class ImapSettings:
    """Where the mailbox is and how to log in. Secrets stay out of ``repr``.

    ``oauth2_token``, when set, is used (XOAUTH2) instead of ``password``. Certificates
    are verified unless ``ssl_context`` says otherwise (tests pass a context that trusts
    their self-signed certificate).
    """

    host: str
    port: int
    security: Security
    username: str
    password: str | None = field(default=None, repr=False)
    oauth2_token: str | None = field(default=None, repr=False)
    folder: str = "INBOX"
    timeout: float = 30.0
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "security", Security(self.security))
        except ValueError as err:
            choices = ", ".join(s.value for s in Security)
            raise ConfigurationError(
                f"unknown IMAP security mode {self.security!r} (choose one of {choices})"
            ) from err
        if not self.host.strip():
            raise ConfigurationError("the IMAP host is empty")
        if not 0 < self.port < 65536:
            raise ConfigurationError(f"the IMAP port {self.port} is not between 1 and 65535")
        if not self.username:
            raise ConfigurationError(f"no IMAP user name is configured for {self.host}")
        if not self.folder:
            raise ConfigurationError(f"no IMAP folder is configured for {self.host}")
        if self.timeout <= 0:
            raise ConfigurationError(f"the IMAP timeout must be positive, not {self.timeout}")


@dataclass(frozen=True)
class FetchedMessage:
    """One message, byte for byte as the server returned it (RFC 5322, normally CRLF)."""

    uid: int
    raw: bytes


@dataclass(frozen=True)
class FetchResult:
    """What one ``fetch_new`` call found, and the cursor to store for the next call.

    ``last_uid`` is the highest UID in ``messages``, or the cursor passed in when there is
    nothing new (``None`` after a reset of an empty folder). ``reset`` is true when the
    server's UIDVALIDITY differed from the stored one, so the fetch started again from the
    beginning of the folder.
    """

    uidvalidity: int
    messages: tuple[FetchedMessage, ...]
    last_uid: int | None
    reset: bool


@dataclass(frozen=True)
class Diagnosis:
    """The outcome of ``diagnose``: the first stage that failed, or ``"ok"``."""

    ok: bool
    stage: DiagnosisStage
    message: str


@dataclass(frozen=True)
class _Folder:
    """What EXAMINE told us about the selected folder."""

    uidvalidity: int
    exists: int
    uidnext: int | None


def fetch_new(
    settings: ImapSettings, *, uidvalidity: int | None, last_uid: int | None, limit: int = 500
) -> FetchResult:
    """Fetch the messages that arrived in the folder after the cursor, oldest first.

    Read-only: the folder is examined, never selected for writing, and bodies are fetched
    with ``BODY.PEEK[]``, so no flag changes. Call again with the returned
    ``(uidvalidity, last_uid)`` until ``messages`` is empty.

    Args:
        settings: The mailbox.
        uidvalidity: The stored UIDVALIDITY, or ``None`` when there is none yet (the
            ``last_uid`` given is then taken as is).
        last_uid: The highest UID already handled, or ``None`` for "from the beginning".
        limit: At most this many messages are returned (at least 1).

    Returns:
        The messages with UID > ``last_uid`` in ascending UID order (at most ``limit``)
        and the new cursor. ``reset`` is true, and the fetch started from the beginning,
        when the server's UIDVALIDITY is not the stored one.

    Raises:
        ConfigurationError: Login refused, folder missing, certificate not trusted,
            STARTTLS not offered, reserved host name.
        TransientChannelError: Unreachable server, timeout, TLS failure, BYE, or a
            command the server failed; poll again later.
        ValueError: ``limit`` is below 1.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit}")
    with _session(settings) as client:
        folder = _examine(client, settings)
        reset = uidvalidity is not None and uidvalidity != folder.uidvalidity
        cursor = None if reset else last_uid
        after = cursor or 0
        uids: list[int] = []
        if folder.exists:
            with _translate(settings, "searching for new mail"):
                found = client.search(["UID", f"{after + 1}:*"])
            # RFC 3501 §6.4.8: "n:*" always includes the last message, even when its UID
            # is below n, so a poll with nothing new would return the newest mail again.
            uids = sorted(int(uid) for uid in found if int(uid) > after)[:limit]
        messages = _fetch_bodies(client, settings, uids)
    return FetchResult(
        uidvalidity=folder.uidvalidity,
        messages=messages,
        last_uid=messages[-1].uid if messages else cursor,
        reset=reset,
    )


def current_cursor(settings: ImapSettings) -> tuple[int, int]:
    """The cursor ``(uidvalidity, last_uid)`` of the folder as it is now.

    Passing it to ``fetch_new`` returns only mail that arrives after this call: use it on
    a first run that must not import the folder's old mail. ``last_uid`` is UIDNEXT - 1
    (never below the newest message's UID; 0 for a folder that never held mail). Fetches
    no message.

    Args:
        settings: The mailbox.

    Returns:
        ``(uidvalidity, last_uid)`` to store as the cursor.

    Raises:
        ConfigurationError, TransientChannelError: As ``fetch_new``.
    """
    with _session(settings) as client:
        folder = _examine(client, settings)
        highest = folder.uidnext - 1 if folder.uidnext is not None else 0
        if folder.exists:
            with _translate(settings, "reading the newest UID"):
                newest = client.search(["UID", "*"])
            highest = max([highest, *(int(uid) for uid in newest)])
    return folder.uidvalidity, max(highest, 0)


def diagnose(settings: ImapSettings, *, resolver: Resolver | None = None) -> Diagnosis:
    """Check a mailbox step by step and name the first step that fails. Fetches no mail.

    Stages: ``dns`` (reserved names are refused before any lookup; the host is resolved
    with ``resolver``, the system's by default), ``tcp`` (a connection to a resolved
    address), ``tls`` (implicit TLS or STARTTLS handshake and certificate; skipped for
    ``Security.NONE``), ``auth`` (login), ``folder`` (the folder is examined), ``ok``.

    Args:
        settings: The mailbox.
        resolver: ``(host, port) -> addresses`` for the ``dns`` and ``tcp`` stages (tests
            inject one). The IMAP session after them connects by host name through the
            system's resolver, as ``fetch_new`` does.

    Returns:
        ``Diagnosis(ok, stage, message)``; never raises for a mailbox problem.
    """
    host, port = settings.host, settings.port
    where = f"{host}:{port}"
    if is_reserved_name(host):
        return Diagnosis(False, "dns", _reserved_message(host))
    try:
        addresses = list(dict.fromkeys((resolver or system_resolver)(host, port)))
    except OSError as err:
        return Diagnosis(False, "dns", f"cannot resolve IMAP host {host}: {_os_reason(err)}")
    if not addresses:
        return Diagnosis(False, "dns", f"IMAP host {host} resolves to no address")

    failures: list[str] = []
    for address in addresses:
        try:
            socket.create_connection((address, port), timeout=settings.timeout).close()
            break
        except OSError as err:
            failures.append(f"{address}: {_os_reason(err)}")
    else:
        return Diagnosis(False, "tcp", f"cannot connect to {where} ({'; '.join(failures)})")

    stage: DiagnosisStage = "tcp" if settings.security == Security.NONE else "tls"
    client: Any = None
    try:
        client = _connect(settings)
        _start_tls(client, settings)
        stage = "auth"
        _login(client, settings)
        stage = "folder"
        folder = _examine(client, settings)
    except AicmoError as err:
        if client is not None:
            _close(client, polite=False)
        return Diagnosis(False, stage, err.message)
    _close(client, polite=True)
    return Diagnosis(
        True,
        "ok",
        f"logged in to {where} as {settings.username} ({settings.security.value}); folder "
        f"{settings.folder!r} holds {folder.exists} messages (UIDVALIDITY {folder.uidvalidity})",
    )


# --- the session --------------------------------------------------------------------


@contextmanager
def _session(settings: ImapSettings) -> Iterator[Any]:
    """A logged-in client; logs out after success, drops the connection after an error."""
    client = _connect(settings)
    polite = False
    try:
        _start_tls(client, settings)
        _login(client, settings)
        yield client
        polite = True
    finally:
        _close(client, polite=polite)


def _connect(settings: ImapSettings) -> Any:
    """TCP connection (and the TLS handshake for implicit TLS) up to the server's greeting."""
    if is_reserved_name(settings.host):
        raise ConfigurationError(_reserved_message(settings.host))
    implicit = settings.security == Security.TLS
    with _translate(settings, "connecting"):
        return IMAPClient(
            settings.host,
            port=settings.port,
            ssl=implicit,
            ssl_context=tls_context(settings.ssl_context) if implicit else None,
            timeout=settings.timeout,
        )


def _start_tls(client: Any, settings: ImapSettings) -> None:
    """Upgrade with STARTTLS when asked to; never fall back to a clear-text login."""
    if settings.security != Security.STARTTLS:
        return
    with _translate(settings, "starting TLS"):
        offered = client.has_capability("STARTTLS")
        if not offered:
            raise ConfigurationError(
                f"IMAP server {settings.host}:{settings.port} does not offer STARTTLS; "
                "refusing to log in without TLS (use security 'tls' for port 993)"
            )
        client.starttls(tls_context(settings.ssl_context))


def _login(client: Any, settings: ImapSettings) -> None:
    """LOGIN with the password, or AUTHENTICATE XOAUTH2 with the token when one is set."""
    who = f"{settings.username}@{settings.host}"
    if settings.oauth2_token is None and settings.password is None:
        raise ConfigurationError(f"IMAP login failed for {who}: no password or OAuth2 token set")
    with _translate(settings, "logging in"):
        try:
            if settings.oauth2_token is not None:
                client.oauth2_login(settings.username, settings.oauth2_token)
            else:
                client.login(settings.username, settings.password)
        except LoginError as err:
            reason = _scrub(_imap_reason(err), settings)
            if isinstance(err.__context__, imaplib.IMAP4.abort):
                # imapclient wraps every failure during login, a BYE included, in LoginError.
                raise TransientChannelError(
                    f"IMAP server {settings.host}:{settings.port} closed the connection "
                    f"while logging in: {reason}"
                ) from err
            method = "XOAUTH2" if settings.oauth2_token is not None else "password"
            raise ConfigurationError(
                f"IMAP login failed for {who}: {reason} (method: {method})"
            ) from err


def _examine(client: Any, settings: ImapSettings) -> _Folder:
    """Open the folder read-only (EXAMINE) and read UIDVALIDITY, EXISTS, UIDNEXT."""
    name = settings.folder
    with _translate(settings, f"opening folder {name!r}"):
        try:
            info = client.select_folder(name, readonly=True)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as err:
            listed = client.list_folders()
            names = sorted(str(row[2]) for row in listed)
            reason = _scrub(_imap_reason(err), settings)
            where = f"{settings.username}@{settings.host}"
            if not any(_same_folder(name, other) for other in names):
                raise ConfigurationError(
                    f"IMAP folder {name!r} does not exist for {where}; "
                    f"folders: {', '.join(names) or '(none)'}"
                ) from err
            raise ConfigurationError(
                f"IMAP folder {name!r} cannot be opened for {where}: {reason}"
            ) from err
    if b"UIDVALIDITY" not in info:
        raise ConfigurationError(
            f"IMAP server {settings.host}:{settings.port} reports no UIDVALIDITY for "
            f"{name!r}; new mail cannot be tracked"
        )
    uidnext = info.get(b"UIDNEXT")
    return _Folder(
        uidvalidity=int(info[b"UIDVALIDITY"]),
        exists=int(info.get(b"EXISTS", 0)),
        uidnext=int(uidnext) if uidnext is not None else None,
    )


def _fetch_bodies(
    client: Any, settings: ImapSettings, uids: list[int]
) -> tuple[FetchedMessage, ...]:
    """The raw bytes of each UID, in the order given; a UID expunged meanwhile is skipped."""
    if not uids:
        return ()
    with _translate(settings, "fetching messages"):
        response = client.fetch(uids, ["BODY.PEEK[]"])  # PEEK: \Seen stays as it was
    messages = []
    for uid in uids:
        data = response.get(uid, {})
        raw = data.get(_BODY)
        if isinstance(raw, bytes):
            messages.append(FetchedMessage(uid=uid, raw=raw))
    return tuple(messages)


def _close(client: Any, *, polite: bool) -> None:
    """LOGOUT after success; after an error just drop the socket (the server may be gone)."""
    # The work is done or has already failed; closing must not mask either.
    with suppress(OSError, imaplib.IMAP4.error):
        if polite:
            client.logout()
        else:
            client.shutdown()


# --- errors -------------------------------------------------------------------------


@contextmanager
def _translate(settings: ImapSettings, doing: str) -> Iterator[None]:
    """Turn socket, TLS and IMAP failures into aicmo errors with no secret in them."""
    where = f"IMAP server {settings.host}:{settings.port}"
    try:
        yield
    except AicmoError:
        raise
    except ssl.SSLCertVerificationError as err:
        reason = err.verify_message or err.reason or str(err)
        raise ConfigurationError(
            f"{where} presented a certificate that does not verify: {reason}"
        ) from err
    except ssl.SSLError as err:
        raise TransientChannelError(
            f"TLS with {where} failed while {doing}: {err.reason or err}"
        ) from err
    except TimeoutError as err:
        raise TransientChannelError(
            f"{where} did not answer within {settings.timeout:g} s while {doing}"
        ) from err
    except OSError as err:
        raise TransientChannelError(
            f"cannot reach {where} while {doing}: {_os_reason(err)}"
        ) from err
    except imaplib.IMAP4.abort as err:  # BYE, or the connection dropped mid-command
        reason = _scrub(_imap_reason(err), settings)
        raise TransientChannelError(
            f"{where} closed the connection while {doing}: {reason}"
        ) from err
    except imaplib.IMAP4.error as err:
        reason = _scrub(_imap_reason(err), settings)
        raise TransientChannelError(f"{where} failed while {doing}: {reason}") from err


def _imap_reason(err: BaseException) -> str:
    """The server's words from an imaplib/imapclient error (imapclient wraps bytes reprs)."""
    text = str(err)
    match = re.fullmatch(r"b(['\"])(.*)\1", text, flags=re.DOTALL)
    return match.group(2) if match else text


def _os_reason(err: OSError) -> str:
    return err.strerror or str(err) or type(err).__name__


def _scrub(text: str, settings: ImapSettings) -> str:
    """Remove the password and token should a server ever echo them back."""
    for secret in (settings.password, settings.oauth2_token):
        if secret:
            text = text.replace(secret, "***")
    return text


# --- helpers ------------------------------------------------------------------------


def _reserved_message(host: str) -> str:
    return (
        f"IMAP host {host} is a reserved name (RFC 2606/6761) and is never dialled; "
        "use the mailbox's real host name, or 127.0.0.1 or ::1 for a local server"
    )


def _same_folder(wanted: str, listed: str) -> bool:
    # INBOX is case-insensitive (RFC 3501 §5.1); every other name is exact.
    if wanted.upper() == "INBOX":
        return listed.upper() == "INBOX"
    return wanted == listed
