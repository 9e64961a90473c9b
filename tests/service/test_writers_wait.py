"""On SQLite, a command that reads and then writes waits for the worker's write lock
instead of failing with "database is locked" (a reply read while a tick is writing was
lost to the operator as an error; `campaign start` and `lead note` failed the same way)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.db.connect import session_factory
from aicmo.operator_services import campaigns
from aicmo.operator_services.inbound.processing import process_inbound_message
from aicmo.operator_services.uow import write_unit


def _reply() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ann Lee <ann@lead.example>"
    msg["To"] = "sales@agency.example"
    msg["Subject"] = "Re: hello"
    msg["Message-ID"] = "<reply-1@lead.example>"
    msg["Date"] = "Mon, 07 Dec 2026 06:00:00 +0000"
    msg.set_content("Sounds good, let's talk on Thursday.")
    return msg.as_bytes()


def _hold_write_lock(engine: Engine, held: threading.Event, seconds: float) -> None:
    """What a worker's tick does: take the write lock, write, keep it a while, commit."""
    with session_factory(engine)() as other, write_unit(other):
        other.execute(text("UPDATE workspaces SET name = name || '' WHERE id = 1"))
        held.set()
        time.sleep(seconds)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("operation", ["inbound reply", "campaign start", "lead note"])
def test_a_read_then_write_command_waits_for_the_workers_lock(
    engine: Engine, db: Session, operation: str
) -> None:
    lead = ops.create_lead(db, email="ann@lead.example", first_name="Ann")
    campaigns.create_campaign(
        db, "q1", steps=[{"channel": "EMAIL", "template": {"subject": "Hi", "body": "Hello"}}]
    )
    runs: dict[str, Callable[[], object]] = {
        "inbound reply": lambda: process_inbound_message(
            db, _reply(), received_at=datetime.now(UTC)
        ),
        "campaign start": lambda: campaigns.start_campaign(db, "q1"),
        "lead note": lambda: ops.add_note(db, lead["id"], "called, no answer"),
    }
    db.rollback()
    # The session has read (as every command does before it writes) ...
    assert ops.get_lead(db, lead["id"])["email"] == "ann@lead.example"
    held = threading.Event()
    worker = threading.Thread(target=_hold_write_lock, args=(engine, held, 1.0))
    worker.start()
    assert held.wait(10), "the stand-in worker did not take the lock"
    try:
        # ... and now writes while the "worker" holds the lock and then commits.
        result = runs[operation]()
    finally:
        worker.join()
    assert result
    db.rollback()
    if operation == "inbound reply":
        assert isinstance(result, dict) and result["duplicate"] is False
    if operation == "campaign start":
        assert campaigns.campaign_status(db, "q1")["status"] == "ACTIVE"
    if operation == "lead note":
        assert ops.get_lead(db, lead["id"])["notes"][0]["body"] == "called, no answer"
