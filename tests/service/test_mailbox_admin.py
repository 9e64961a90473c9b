"""Mailbox administration: plaintext passwords only on purpose, switching a mailbox off
and on, replacing a stored password (encrypted, never on the audit trail), and display
names that cannot reorder themselves."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import EventDB, MailboxDB
from aicmo.crypto import decrypt_secret
from aicmo.errors import ValidationError
from aicmo.operator_services.channels import mailboxes as M
from aicmo.operator_services.channels.email import sending_mailboxes


def smtp(db: Session, name: str, **kwargs: object) -> dict[str, object]:
    options: dict[str, object] = {
        "smtp_host": "smtp.acme.example",
        "smtp_username": "alex",
        "smtp_password": "first-password",
    }
    options.update(kwargs)
    return M.add_mailbox(db, name, f"{name}@acme.example", **options)  # type: ignore[arg-type]


def test_a_password_in_plaintext_to_another_host_needs_to_be_allowed(db: Session) -> None:
    with pytest.raises(ValidationError, match="--allow-plaintext") as err:
        smtp(db, "sales", smtp_security="none")
    assert err.value.field == "smtp_security"
    with pytest.raises(ValidationError, match="IMAP security 'none'"):
        M.add_mailbox(
            db,
            "inbox",
            "in@acme.example",
            imap_host="imap.acme.example",
            imap_security="none",
            imap_password="pw",
        )
    assert db.scalar(select(MailboxDB)) is None
    smtp(db, "sales", smtp_security="none", allow_plaintext=True)
    # This machine, a TLS mode, or no password at all: nothing crosses the network readable.
    smtp(db, "relay", smtp_host="127.0.0.1", smtp_security="none")
    smtp(db, "relay6", smtp_host="[::1]", smtp_security="none")
    smtp(db, "dev", smtp_host="mail.localhost", smtp_security="none")
    smtp(db, "tls", smtp_security="tls")
    smtp(db, "open", smtp_security="none", smtp_password=None)
    assert len(M.list_mailboxes(db)) == 6


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "a.localhost"])
def test_loopback_hosts(host: str) -> None:
    assert M.is_loopback_host(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "smtp.acme.example", "localhost.example", "0x7f"])
def test_hosts_that_are_not_this_machine(host: str) -> None:
    assert not M.is_loopback_host(host)


def test_a_stored_password_is_replaced_encrypted_and_never_recorded(db: Session) -> None:
    smtp(db, "sales", imap_host="imap.acme.example", imap_password="imap-one")
    M.set_mailbox_secret(db, "sales", "second-password")
    M.set_mailbox_secret(db, "sales", "imap-two", protocol="imap")
    db.expire_all()
    row = db.scalar(select(MailboxDB))
    assert row is not None and row.smtp_secret and row.imap_secret
    assert "second-password" not in row.smtp_secret
    assert decrypt_secret(row.smtp_secret) == "second-password"
    assert decrypt_secret(row.imap_secret) == "imap-two"
    trail = " ".join(str(e.detail) for e in db.scalars(select(EventDB)))
    assert "secret_changed" in trail
    assert "second-password" not in trail and "imap-two" not in trail
    with pytest.raises(ValidationError, match="empty"):
        M.set_mailbox_secret(db, "sales", "")


def test_a_new_password_over_plaintext_to_another_host_needs_to_be_allowed(db: Session) -> None:
    smtp(db, "sales", smtp_security="none", smtp_password=None)
    with pytest.raises(ValidationError, match="--allow-plaintext"):
        M.set_mailbox_secret(db, "sales", "pw")
    M.set_mailbox_secret(db, "sales", "pw", allow_plaintext=True)


def test_a_password_for_a_server_the_mailbox_does_not_have_is_refused(db: Session) -> None:
    smtp(db, "sales")
    with pytest.raises(ValidationError, match="no IMAP server"):
        M.set_mailbox_secret(db, "sales", "pw", protocol="imap")


def test_disable_and_enable_a_mailbox(db: Session) -> None:
    smtp(db, "sales")
    smtp(db, "support")
    assert M.set_mailbox_enabled(db, "sales", False)["enabled"] is False
    assert [m.name for m in sending_mailboxes(db, 1)] == ["support"]
    assert M.set_mailbox_enabled(db, "sales", True)["enabled"] is True
    assert len(sending_mailboxes(db, 1)) == 2
    changes = [e.detail for e in db.scalars(select(EventDB).where(EventDB.detail.is_not(None)))]
    assert {"mailbox": 1, "name": "sales", "enabled": False} in changes


def test_disabling_the_last_sending_mailbox_pauses_email(db: Session) -> None:
    """Email then waits (see test_engine's disabled-mailbox test), never the outbox."""
    assert not M.every_mailbox_disabled(db)  # no mailbox at all: the local outbox
    smtp(db, "sales")
    smtp(db, "support")
    M.set_mailbox_enabled(db, "sales", False)
    assert not M.every_mailbox_disabled(db)
    M.set_mailbox_enabled(db, "support", False)
    assert sending_mailboxes(db, 1) == []
    assert M.every_mailbox_disabled(db)
    M.set_mailbox_enabled(db, "support", True)
    assert not M.every_mailbox_disabled(db)


@pytest.mark.parametrize("char", ["\u202e", "\u202a", "\u2066", "\u2069"])
@pytest.mark.parametrize("field", ["name", "from_name"])
def test_mailbox_names_refuse_bidirectional_controls(db: Session, char: str, field: str) -> None:
    values = {"name": "sales", "from_name": "Alex"}
    values[field] = f"Al{char}ex"
    with pytest.raises(ValidationError, match=f"{field} contains a bidirectional") as err:
        M.add_mailbox(db, values["name"], "a@acme.example", from_name=values["from_name"])
    assert err.value.field == field
    assert db.scalar(select(MailboxDB)) is None
