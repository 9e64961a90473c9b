"""Polling mailboxes: fetch new mail over IMAP, process each message, keep the cursor.

The cursor (UIDVALIDITY, last UID) lives in the mailbox row and is saved after each
batch, so a restart neither misses nor double-counts mail: a message fetched twice after
a crash is recognised by its Message-ID and changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, MailboxDB
from aicmo.config import get_settings
from aicmo.crypto import decrypt_secret
from aicmo.errors import ConfigurationError, NotFoundError
from aicmo.operator_services.channels.email import smtp_settings_for
from aicmo.operator_services.channels.mailboxes import get_mailbox_row
from aicmo.operator_services.inbound.processing import mark_delivered, process_inbound_message
from aicmo.operator_services.uow import utcnow, write_unit
from aicmo.transports import imap, smtp

#: A test hook: settings tweaks (e.g. a TLS context trusting a test certificate).
ImapSettingsHook = Callable[[imap.ImapSettings], imap.ImapSettings]


def imap_settings(mailbox: MailboxDB) -> imap.ImapSettings:
    if not mailbox.imap_host or not mailbox.imap_port:
        raise ConfigurationError(f"mailbox {mailbox.name!r} has no IMAP server configured")
    secret = decrypt_secret(mailbox.imap_secret) if mailbox.imap_secret else None
    return imap.ImapSettings(
        host=mailbox.imap_host,
        port=mailbox.imap_port,
        security=imap.Security(mailbox.imap_security),
        username=mailbox.imap_username or mailbox.from_address,
        password=secret if mailbox.imap_auth == "password" else None,
        oauth2_token=secret if mailbox.imap_auth == "oauth2" else None,
        folder=mailbox.imap_folder,
    )


def poll_mailbox(
    db: Session,
    ref: str | int,
    *,
    from_start: bool = False,
    batch: int = 200,
    max_messages: int = 10_000,
    now: datetime | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    tweak: ImapSettingsHook | None = None,
) -> dict[str, Any]:
    """Read what arrived since the last poll and apply it.

    On the very first poll the cursor is set to the newest message and nothing older is
    read (old mail is not a reply to us), unless ``from_start``.
    """
    mailbox = get_mailbox_row(db, ref, workspace_id=workspace_id)
    settings = imap_settings(mailbox)
    if tweak is not None:
        settings = tweak(settings)
    counts: dict[str, int] = {}
    fetched = 0
    initialised = False
    if mailbox.imap_uidvalidity is None and not from_start:
        uidvalidity, highest = imap.current_cursor(settings)
        with write_unit(db):
            mailbox.imap_uidvalidity, mailbox.imap_last_uid = uidvalidity, highest
            mailbox.imap_polled_at = now or utcnow()
        initialised = True
    while not initialised and fetched < max_messages:
        result = imap.fetch_new(
            settings,
            uidvalidity=mailbox.imap_uidvalidity,
            last_uid=mailbox.imap_last_uid,
            limit=min(batch, max_messages - fetched),
        )
        for message in result.messages:
            outcome = process_inbound_message(
                db,
                message.raw,
                received_at=now or utcnow(),
                mailbox_id=mailbox.id,
                workspace_id=workspace_id,
            )
            key = "duplicate" if outcome["duplicate"] else outcome["kind"]
            counts[key] = counts.get(key, 0) + 1
        fetched += len(result.messages)
        with write_unit(db):
            mailbox.imap_uidvalidity = result.uidvalidity
            mailbox.imap_last_uid = result.last_uid
            mailbox.imap_polled_at = now or utcnow()
        if len(result.messages) < batch:
            break
    delivered = mark_delivered(db, now=now, workspace_id=workspace_id)
    return {
        "mailbox": mailbox.name,
        "initialised": initialised,
        "fetched": fetched,
        "kinds": counts,
        "delivered": delivered,
        "cursor": [mailbox.imap_uidvalidity, mailbox.imap_last_uid],
    }


def poll_all(
    db: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID, **kwargs: Any
) -> list[dict[str, Any]]:
    """Poll every enabled mailbox with IMAP; a failing mailbox is reported, not fatal."""
    ids = repo.pollable_mailbox_ids(db, workspace_id)
    results = []
    for mailbox_id in ids:
        try:
            results.append(poll_mailbox(db, mailbox_id, workspace_id=workspace_id, **kwargs))
        except Exception as err:  # one broken mailbox must not stop the others
            results.append({"mailbox": mailbox_id, "error": str(err)})
    return results


def check_mailbox(
    db: Session, ref: str | int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """Connect, negotiate TLS and authenticate (SMTP and IMAP) without sending or reading."""
    mailbox = get_mailbox_row(db, ref, workspace_id=workspace_id)
    report: dict[str, Any] = {"mailbox": mailbox.name}
    if mailbox.smtp_host:
        try:
            d = smtp.diagnose(smtp_settings_for(mailbox, get_settings()))
            report["smtp"] = {"ok": d.ok, "stage": d.stage, "message": d.message}
        except ConfigurationError as err:
            report["smtp"] = {"ok": False, "stage": "config", "message": err.message}
    if mailbox.imap_host:
        try:
            di = imap.diagnose(imap_settings(mailbox))
            report["imap"] = {"ok": di.ok, "stage": di.stage, "message": di.message}
        except ConfigurationError as err:
            report["imap"] = {"ok": False, "stage": "config", "message": err.message}
    if "smtp" not in report and "imap" not in report:
        raise NotFoundError(f"mailbox {mailbox.name!r} has neither SMTP nor IMAP configured")
    return report
