"""Sender mailboxes: SMTP out, IMAP in, each with its own caps. Secrets are encrypted at
rest and never returned, printed or logged."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, MailboxDB
from aicmo.cam.domain import leads as L
from aicmo.crypto import encrypt_secret
from aicmo.errors import ConflictError, NotFoundError, ValidationError
from aicmo.operator_services.crm.events import record_config_change
from aicmo.operator_services.uow import unit_of_work, utcnow

SECURITY_MODES = ("starttls", "tls", "none")


def mailbox_to_dict(row: MailboxDB) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "enabled": row.enabled,
        "from_name": row.from_name,
        "from_address": row.from_address,
        "reply_to": row.reply_to,
        "daily_cap": row.daily_cap,
        "hourly_cap": row.hourly_cap,
        "min_gap_seconds": row.min_gap_seconds,
        "smtp": None
        if not row.smtp_host
        else {
            "host": row.smtp_host,
            "port": row.smtp_port,
            "security": row.smtp_security,
            "username": row.smtp_username,
            "auth": row.smtp_auth,
            "secret": "set" if row.smtp_secret else "not set",
        },
        "imap": None
        if not row.imap_host
        else {
            "host": row.imap_host,
            "port": row.imap_port,
            "security": row.imap_security,
            "username": row.imap_username,
            "auth": row.imap_auth,
            "folder": row.imap_folder,
            "secret": "set" if row.imap_secret else "not set",
            "last_uid": row.imap_last_uid,
            "polled_at": row.imap_polled_at,
        },
        "dkim": f"{row.dkim_selector}._domainkey.{row.dkim_domain}" if row.dkim_key else None,
        "created_at": row.created_at,
    }


def _host(field: str, value: str) -> str:
    host = L.check_single_line(field, value.strip(), max_len=255)
    if not host or any(c.isspace() for c in host) or "/" in host:
        raise ValidationError(
            f"{field} must be a host name or IP address, got {value!r}", field=field
        )
    return host.lower()


def _port(field: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValidationError(f"{field} must be a port number 1-65535, got {value!r}", field=field)
    return value


def _security(field: str, value: str) -> str:
    mode = value.strip().lower()
    if mode not in SECURITY_MODES:
        raise ValidationError(f"{field} must be one of {', '.join(SECURITY_MODES)}", field=field)
    return mode


def is_loopback_host(host: str) -> bool:
    """``localhost``, a ``.localhost`` name or a loopback address (no lookup is made)."""
    name = host.strip().strip("[]").lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_plaintext(
    proto: str, host: str | None, security: str, has_secret: bool, allow_plaintext: bool
) -> None:
    """A password sent without TLS crosses the network readable: only to this machine,
    or when the operator says so.

    Raises:
        ValidationError: security ``none``, a secret and a host that is not loopback,
            without ``allow_plaintext``.
    """
    if not host or security != "none" or not has_secret or allow_plaintext:
        return
    if is_loopback_host(host):
        return
    raise ValidationError(
        f"{proto.upper()} security 'none' would send the password to {host} unencrypted; "
        f"use starttls or tls, or confirm with --allow-plaintext",
        field=f"{proto}_security",
    )


def _cap(field: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{field} must be a whole number >= 0", field=field)
    return value


def add_mailbox(
    db: Session,
    name: str,
    from_address: str,
    *,
    from_name: str | None = None,
    reply_to: str | None = None,
    smtp_host: str | None = None,
    smtp_port: int | None = None,
    smtp_security: str = "starttls",
    smtp_username: str | None = None,
    smtp_password: str | None = None,
    smtp_oauth2_token: str | None = None,
    imap_host: str | None = None,
    imap_port: int | None = None,
    imap_security: str = "tls",
    imap_username: str | None = None,
    imap_password: str | None = None,
    imap_oauth2_token: str | None = None,
    imap_folder: str = "INBOX",
    daily_cap: int = 50,
    hourly_cap: int = 20,
    min_gap_seconds: int = 0,
    dkim_domain: str | None = None,
    dkim_selector: str | None = None,
    dkim_private_key_pem: str | None = None,
    allow_plaintext: bool = False,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    actor: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Store a mailbox; secrets are encrypted before they reach the database.

    A secret over security ``none`` to a host other than this machine needs
    ``allow_plaintext`` (see :func:`check_plaintext`).

    Raises:
        ValidationError: a bad field (named). ConflictError: the name is taken.
    """
    clean_name = L.check_single_line("name", name.strip(), max_len=100)
    if not clean_name:
        raise ValidationError("a mailbox needs a name", field="name")
    address = L.normalize_email(from_address)[0]
    display = L.check_single_line("from_name", from_name.strip()) if from_name else None
    reply = L.normalize_email(reply_to)[0] if reply_to else None
    if smtp_password and smtp_oauth2_token:
        raise ValidationError(
            "give an SMTP password or an OAuth2 token, not both", field="smtp_password"
        )
    if imap_password and imap_oauth2_token:
        raise ValidationError(
            "give an IMAP password or an OAuth2 token, not both", field="imap_password"
        )
    row = MailboxDB(
        workspace_id=workspace_id,
        name=clean_name,
        from_address=address,
        from_name=display,
        reply_to=reply,
        daily_cap=_cap("daily_cap", daily_cap),
        hourly_cap=_cap("hourly_cap", hourly_cap),
        min_gap_seconds=_cap("min_gap_seconds", min_gap_seconds),
        smtp_security=_security("smtp_security", smtp_security),
        imap_security=_security("imap_security", imap_security),
        imap_folder=L.check_single_line("imap_folder", imap_folder.strip() or "INBOX", max_len=200),
    )
    if smtp_host:
        row.smtp_host = _host("smtp_host", smtp_host)
        default_port = {"starttls": 587, "tls": 465, "none": 25}[row.smtp_security]
        row.smtp_port = _port("smtp_port", smtp_port if smtp_port is not None else default_port)
        row.smtp_username = (
            L.check_single_line("smtp_username", smtp_username) if smtp_username else None
        )
        row.smtp_auth = "oauth2" if smtp_oauth2_token else "password"
        secret = smtp_oauth2_token or smtp_password
        check_plaintext("smtp", row.smtp_host, row.smtp_security, bool(secret), allow_plaintext)
        row.smtp_secret = encrypt_secret(secret) if secret else None
    if imap_host:
        row.imap_host = _host("imap_host", imap_host)
        default_port = {"tls": 993, "starttls": 143, "none": 143}[row.imap_security]
        row.imap_port = _port("imap_port", imap_port if imap_port is not None else default_port)
        row.imap_username = L.check_single_line("imap_username", imap_username or address)
        row.imap_auth = "oauth2" if imap_oauth2_token else "password"
        secret = imap_oauth2_token or imap_password
        check_plaintext("imap", row.imap_host, row.imap_security, bool(secret), allow_plaintext)
        row.imap_secret = encrypt_secret(secret) if secret else None
    if dkim_private_key_pem:
        if not (dkim_domain and dkim_selector):
            raise ValidationError(
                "a DKIM key needs --dkim-domain and --dkim-selector", field="dkim_domain"
            )
        if "PRIVATE KEY" not in dkim_private_key_pem:
            raise ValidationError(
                "the DKIM key must be a PEM private key", field="dkim_private_key_pem"
            )
        row.dkim_domain = _host("dkim_domain", dkim_domain)
        row.dkim_selector = L.check_single_line("dkim_selector", dkim_selector.strip(), max_len=100)
        row.dkim_key = encrypt_secret(dkim_private_key_pem)
    now = now or utcnow()
    row.created_at = row.updated_at = now
    with unit_of_work(db):
        taken = repo.mailbox_id_by_name(db, workspace_id, clean_name)
        if taken is not None:
            raise ConflictError(f"a mailbox named {clean_name!r} exists already")
        db.add(row)
        db.flush()
        detail = {"mailbox_added": row.id, "name": clean_name, "from": address}
        record_config_change(db, workspace_id, detail, now=now, actor=actor)
    return mailbox_to_dict(row)


def list_mailboxes(
    db: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> list[dict[str, Any]]:
    return [mailbox_to_dict(r) for r in repo.workspace_mailboxes(db, workspace_id)]


def get_mailbox_row(
    db: Session, ref: str | int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> MailboxDB:
    """A mailbox by id or name (for adapters inside the service layer only)."""
    if isinstance(ref, int) or str(ref).isdigit():
        row = repo.mailbox_by_ref(db, workspace_id, mailbox_id=int(ref))
    else:
        row = repo.mailbox_by_ref(db, workspace_id, name=str(ref).strip())
    if row is None:
        raise NotFoundError(f"no mailbox {ref!r}")
    return row


def every_mailbox_disabled(db: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> bool:
    """The workspace has SMTP mailboxes and none is enabled: its email waits."""
    smtp = [m for m in repo.workspace_mailboxes(db, workspace_id) if m.smtp_host]
    return bool(smtp) and not any(m.enabled for m in smtp)


def set_mailbox_enabled(
    db: Session,
    ref: str | int,
    enabled: bool,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    actor: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Switch a mailbox on or off: a disabled one neither sends nor is polled.

    With no enabled SMTP mailbox left, email waits (nothing is sent, nothing goes to
    the local outbox) until one is enabled again; the engine and /healthz say why.

    Raises:
        NotFoundError: no such mailbox.
    """
    now = now or utcnow()
    with unit_of_work(db):
        row = get_mailbox_row(db, ref, workspace_id=workspace_id)
        if row.enabled == enabled:
            return mailbox_to_dict(row)
        row.enabled = enabled
        row.updated_at = now
        detail = {"mailbox": row.id, "name": row.name, "enabled": enabled}
        record_config_change(db, workspace_id, detail, now=now, actor=actor)
    return mailbox_to_dict(row)


def set_mailbox_secret(
    db: Session,
    ref: str | int,
    secret: str,
    *,
    protocol: str = "smtp",
    allow_plaintext: bool = False,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    actor: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Replace a mailbox's stored SMTP or IMAP password (encrypted at rest, as at
    ``add_mailbox``); the audit trail says it changed, never what it is.

    Raises:
        NotFoundError: no such mailbox. ValidationError: an empty secret, a protocol the
            mailbox has no server for, or a plaintext connection (see
            :func:`check_plaintext`).
    """
    proto = protocol.strip().lower()
    if proto not in ("smtp", "imap"):
        raise ValidationError("the protocol is smtp or imap", field="protocol")
    if not secret:
        raise ValidationError("the password is empty", field=f"{proto}_password")
    now = now or utcnow()
    with unit_of_work(db):
        row = get_mailbox_row(db, ref, workspace_id=workspace_id)
        host = row.smtp_host if proto == "smtp" else row.imap_host
        if not host:
            raise ValidationError(
                f"mailbox {row.name} has no {proto.upper()} server", field=f"{proto}_host"
            )
        security = row.smtp_security if proto == "smtp" else row.imap_security
        check_plaintext(proto, host, security, True, allow_plaintext)
        token = encrypt_secret(secret)
        if proto == "smtp":
            row.smtp_secret, row.smtp_auth = token, "password"
        else:
            row.imap_secret, row.imap_auth = token, "password"
        row.updated_at = now
        detail = {"mailbox": row.id, "name": row.name, "secret_changed": proto}
        record_config_change(db, workspace_id, detail, now=now, actor=actor)
    return mailbox_to_dict(row)
