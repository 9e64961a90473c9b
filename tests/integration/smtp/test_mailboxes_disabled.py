"""Every SMTP mailbox disabled: email waits through the real worker tick (no attempt,
nothing in the local outbox, the reason in the tick's counts and in /healthz), and goes
over SMTP once a mailbox is enabled again. Only a workspace with no mailbox at all
writes to the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EnrollmentDB, OutreachMessageDB
from aicmo.config import get_settings
from aicmo.operator_services import campaigns
from aicmo.operator_services.channels.email import DISABLED_RECHECK, close_transports
from aicmo.operator_services.channels.mailboxes import add_mailbox, set_mailbox_enabled
from aicmo.operator_services.engine.tick import run_due
from aicmo.operator_services.ops.health import health
from tests.integration.smtp.conftest import StartServer

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STEPS = [{"channel": "EMAIL", "template": {"subject": "Hello {{ first_name }}", "body": "A note"}}]


@pytest.fixture(autouse=True)
def _close_connections() -> Iterator[None]:
    yield
    close_transports()


def outbox_files() -> list[Path]:
    folder = get_settings().resolved_outbox_dir
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def start_campaign(db: Session, leads: int) -> None:
    for i in range(leads):
        ops.create_lead(db, email=f"w{i}@wait.example", first_name=f"W{i}", tags=["wait"])
    campaigns.create_campaign(db, "Wait", steps=STEPS, audience={"tag": "wait"}, now=T0)
    assert campaigns.start_campaign(db, "Wait", now=T0)["enrolled"] == leads


def test_email_waits_while_every_mailbox_is_disabled(db: Session, smtp_server: StartServer) -> None:
    server = smtp_server("plain")
    add_mailbox(
        db,
        "sales",
        "alex@aicmo.example",
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_security="none",
    )
    start_campaign(db, 3)
    set_mailbox_enabled(db, "sales", False)

    tick = run_due(db, now=T0, worker="w1")
    assert tick["by_outcome"] == {"mailboxes disabled": 3}
    db.rollback()
    assert list(db.scalars(select(OutreachMessageDB))) == []  # no attempt, not even failed
    assert outbox_files() == []
    assert server.received == []
    for row in db.scalars(select(EnrollmentDB)):
        assert (row.state, row.step_index, row.retries) == ("ACTIVE", 0, 0)
        assert row.next_run_at == T0 + DISABLED_RECHECK and row.claimed_by is None
    assert health(db, now=T0)["email_waiting"] == {"all mailboxes disabled": 1}
    assert run_due(db, now=T0 + timedelta(minutes=5), worker="w1")["processed"] == 0

    set_mailbox_enabled(db, "sales", True)
    assert health(db, now=T0)["email_waiting"] == {"all mailboxes disabled": 0}
    later = run_due(db, now=T0 + DISABLED_RECHECK, worker="w1")
    assert later["processed"] == 3 and "mailboxes disabled" not in later["by_outcome"]
    assert sorted(r.rcpt_tos[0] for r in server.received) == [
        f"w{i}@wait.example" for i in range(3)
    ]
    db.rollback()
    sent = list(db.scalars(select(OutreachMessageDB)))
    assert {(m.status, m.transport) for m in sent} == {("SENT", "smtp")}
    assert outbox_files() == []


def test_a_workspace_without_any_mailbox_writes_to_the_local_outbox(db: Session) -> None:
    start_campaign(db, 2)
    tick = run_due(db, now=T0, worker="w1")
    assert "mailboxes disabled" not in tick["by_outcome"] and tick["processed"] == 2
    db.rollback()
    sent = list(db.scalars(select(OutreachMessageDB)))
    assert {(m.status, m.transport) for m in sent} == {("SENT", "outbox")}
    assert len(outbox_files()) == 2
    assert health(db, now=T0)["email_waiting"] == {"all mailboxes disabled": 0}
