"""A mailbox's minimum gap between two sends, as the sender picker sees it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from aicmo.cam.db_models import OutreachMessageDB
from aicmo.config import get_settings
from aicmo.errors import RateLimitedError
from aicmo.operator_services.channels.email import pick_sender
from aicmo.operator_services.channels.mailboxes import add_mailbox

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def sent(db: Session, mailbox_id: int, at: datetime, key: str) -> None:
    db.add(
        OutreachMessageDB(
            workspace_id=1,
            mailbox_id=mailbox_id,
            channel="EMAIL",
            status="SENT",
            idempotency_key=key,
            created_at=at,
            updated_at=at,
        )
    )
    db.commit()


def test_a_mailbox_waits_its_minimum_gap_and_the_error_says_until_when(db: Session) -> None:
    mb = add_mailbox(db, "a", "a@acme.example", smtp_host="smtp.acme.example", min_gap_seconds=60)
    assert mb["min_gap_seconds"] == 60
    settings = get_settings()
    assert pick_sender(db, 1, T0, settings).mailbox_id == mb["id"]
    sent(db, mb["id"], T0, "k1")
    with pytest.raises(RateLimitedError) as err:
        pick_sender(db, 1, T0 + timedelta(seconds=30), settings)
    assert err.value.retry_at == T0 + timedelta(seconds=60)
    assert pick_sender(db, 1, T0 + timedelta(seconds=60), settings).mailbox_id == mb["id"]


def test_the_next_free_mailbox_is_used_while_another_waits_its_gap(db: Session) -> None:
    a = add_mailbox(db, "a", "a@acme.example", smtp_host="smtp.acme.example", min_gap_seconds=600)
    b = add_mailbox(db, "b", "b@acme.example", smtp_host="smtp.acme.example", min_gap_seconds=600)
    sent(db, a["id"], T0, "k1")
    assert pick_sender(db, 1, T0 + timedelta(seconds=1), get_settings()).mailbox_id == b["id"]


def test_an_imap_cursor_past_two_to_the_31_is_stored(db: Session) -> None:
    """UIDVALIDITY is 32-bit unsigned; servers do use values above PostgreSQL's INTEGER."""
    from aicmo.cam.db_models import MailboxDB

    mb = add_mailbox(db, "a", "a@acme.example", smtp_host="smtp.acme.example")
    row = db.get(MailboxDB, mb["id"])
    assert row is not None
    row.imap_uidvalidity, row.imap_last_uid = 4_294_967_295, 3_000_000_000
    db.commit()
    db.expire_all()
    again = db.get(MailboxDB, mb["id"])
    assert again is not None and again.imap_uidvalidity == 4_294_967_295
