""" "Test connection" for a mailbox from the dashboard: SMTP and IMAP, step by step.

The same settings and transport code the engine sends and polls with (``diagnose`` of
:mod:`aicmo.transports.smtp` and :mod:`aicmo.transports.imap`: connect, TLS, log in,
examine the folder; no message is sent or read). A request from a web page must not turn
the server into a probe of its own machine, so a host that is or resolves to a loopback,
unspecified or link-local address is refused unless ``AICMO_ALLOW_LOOPBACK`` is set (as in
the tests); the command line (``aicmo mailbox test``) has no such limit.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cam.domain.mailbox_check import check_steps
from aicmo.config import get_settings
from aicmo.errors import ConfigurationError, NotFoundError
from aicmo.operator_services.channels.email import smtp_settings_for
from aicmo.operator_services.channels.mailboxes import get_mailbox_row, is_loopback_host
from aicmo.operator_services.inbound.imap_poll import imap_settings
from aicmo.transports import imap, smtp
from aicmo.transports.netguard import ip_literal, is_reserved_name, system_resolver

Resolver = Callable[[str, int], list[str]]


def _own_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified or ip.is_link_local


def _pinned(host: str, port: int, allow_loopback: bool) -> tuple[Resolver | None, str | None]:
    """A resolver that answers with the addresses checked here (so the check and the
    connection see the same ones), or the reason the host is refused. A name that does not
    resolve is left to ``diagnose``, which says so at its ``dns`` step."""
    if is_reserved_name(host):
        return None, None
    if not allow_loopback and is_loopback_host(host):
        return None, f"{host} is this machine"
    literal = ip_literal(host)
    try:
        addresses = [literal] if literal else system_resolver(host, port)
    except (OSError, UnicodeError):
        return None, None
    if not allow_loopback:
        own = [a for a in addresses if _own_address(a)]
        if own:
            return None, f"{host} resolves to {own[0]}, an address of this machine or its link"
    return (lambda _h, _p: list(addresses)), None


def check_mailbox_connection(
    db: Session,
    ref: str | int,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    allow_loopback: bool | None = None,
) -> dict[str, Any]:
    """Connect to the mailbox's SMTP and IMAP servers as the engine does, without sending
    or reading mail, and say for each step what worked or what failed and what to do.

    Args:
        allow_loopback: default ``AICMO_ALLOW_LOOPBACK``.

    Returns:
        ``{"mailbox", "ok", "checks": [{"protocol", "ok", "message", "steps": [...]}]}``;
        a mailbox problem is a failed step, never an exception.

    Raises:
        NotFoundError: no such mailbox, or it has neither SMTP nor IMAP configured.
    """
    settings = get_settings()
    allow = settings.allow_loopback if allow_loopback is None else allow_loopback
    mailbox = get_mailbox_row(db, ref, workspace_id=workspace_id)
    name = mailbox.name
    # Everything is read before the first connection: no transaction stays open while a
    # slow server is waited for.
    plans: list[tuple[str, str, int, bool, bool, Any]] = []
    if mailbox.smtp_host and mailbox.smtp_port:
        try:
            smtp_cfg: Any = smtp_settings_for(mailbox, settings)
        except ConfigurationError as err:
            smtp_cfg = err
        plans.append(
            (
                "smtp",
                mailbox.smtp_host,
                mailbox.smtp_port,
                mailbox.smtp_security != "none",
                bool(mailbox.smtp_username),
                smtp_cfg,
            )
        )
    if mailbox.imap_host and mailbox.imap_port:
        try:
            imap_cfg: Any = imap_settings(mailbox)
        except ConfigurationError as err:
            imap_cfg = err
        plans.append(
            (
                "imap",
                mailbox.imap_host,
                mailbox.imap_port,
                mailbox.imap_security != "none",
                True,
                imap_cfg,
            )
        )
    db.rollback()
    checks: list[dict[str, Any]] = []
    for protocol, host, port, encrypted, authenticates, cfg in plans:
        resolver, refused = _pinned(host, port, allow)
        if isinstance(cfg, ConfigurationError):
            ok, stage, message = False, "config", cfg.message
        elif refused:
            ok, stage, message = False, "address", refused
        else:
            d = (smtp.diagnose if protocol == "smtp" else imap.diagnose)(cfg, resolver=resolver)
            ok, stage, message = d.ok, d.stage, d.message
        steps = check_steps(
            "smtp" if protocol == "smtp" else "imap",
            ok,
            stage,
            message,
            encrypted=encrypted,
            authenticates=authenticates,
        )
        checks.append(
            {
                "protocol": protocol.upper(),
                "ok": ok,
                "message": message,
                "steps": [asdict(s) for s in steps],
            }
        )
    if not checks:
        raise NotFoundError(
            f"mailbox {name!r} has neither SMTP nor IMAP configured; add it again with its servers"
        )
    return {"mailbox": name, "ok": all(c["ok"] for c in checks), "checks": checks}
