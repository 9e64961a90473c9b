"""The sending process: a real child process sending to a real SMTP server on loopback."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EnrollmentDB, OutreachMessageDB
from aicmo.config import get_settings
from aicmo.operator_services import campaigns
from aicmo.operator_services.channels.email import close_transports
from aicmo.operator_services.channels.mailboxes import add_mailbox
from aicmo.operator_services.engine.tick import run_due
from aicmo.transports import send_process
from aicmo.transports.base import PermanentSendError, SendReceipt, TransientSendError
from tests.integration.smtp.conftest import Behaviour, SmtpServer, StartServer

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_child() -> Iterator[None]:
    send_process.close(stop=True)
    yield
    close_transports()
    send_process.close(stop=True)


def job(server: SmtpServer, rcpt: str, n: int = 0) -> send_process.Job:
    message = f"Subject: n{n}\r\nMessage-ID: <{n}@t.example>\r\n\r\nbody {n}\r\n".encode()
    return send_process.Job(server.settings(), message, "me@t.example", rcpt, NOW, f"k{n}")


def child_pid() -> int:
    [child] = send_process._idle
    return child.process.pid


def test_outcomes_come_back_as_the_transport_gives_them(smtp_server: StartServer) -> None:
    server = smtp_server(
        "plain",
        Behaviour(
            rcpt_replies={
                "gone@t.example": "550 5.1.1 No such user",
                "busy@t.example": "451 4.3.0 Try later",
            }
        ),
    )
    jobs = [
        job(server, "a@t.example", 1),
        job(server, "gone@t.example", 2),
        job(server, "busy@t.example", 3),
        job(server, "b@t.example", 4),
    ]
    outcomes, error = send_process.send_many(jobs)
    assert error is None
    first, gone, busy, last = outcomes
    assert isinstance(first, SendReceipt) and isinstance(last, SendReceipt)
    assert (first.transport, first.accepted_at) == ("smtp", NOW)
    assert first.response == "250 2.0.0 Ok: queued as Q1"
    assert last.response == "250 2.0.0 Ok: queued as Q2"
    assert isinstance(gone, PermanentSendError)
    assert (gone.stage, gone.code, gone.enhanced, gone.hard_bounce) == ("rcpt", 550, "5.1.1", True)
    assert "No such user" in gone.message
    assert isinstance(busy, TransientSendError) and busy.code == 451
    assert [r.rcpt_tos for r in server.received] == [["a@t.example"], ["b@t.example"]]
    assert server.received[0].content.endswith(b"body 1\r\n")
    assert server.handler.connections == 1  # one kept-open connection for the four
    # The same child sends the next chunk, on the same connection.
    pid = child_pid()
    more, error = send_process.send_many([job(server, "c@t.example", 5)])
    assert error is None and isinstance(more[0], SendReceipt)
    assert child_pid() == pid and server.handler.connections == 1


def test_a_child_whose_worker_is_gone_sends_nothing(smtp_server: StartServer) -> None:
    server = smtp_server("plain")
    # A child that believes its worker is process 1: its parent is not that, so for it the
    # worker is gone (as after a SIGKILL) and it must not send.
    child = send_process._Child(parent=1)
    try:
        assert child.ready()
        outcomes, error, usable = child.send([job(server, "a@t.example")])
    finally:
        child.stop()
    assert (outcomes, usable) == ([], False)
    assert isinstance(error, send_process.SenderProcessLost)
    assert child.process.returncode == 0
    assert server.received == []
    assert server.handler.connections == 0


def test_the_child_ignores_sigterm_and_sigint_and_stops_when_asked(
    smtp_server: StartServer,
) -> None:
    """Ctrl-C in a terminal, or a service manager, signals the whole process group: the
    worker's graceful stop decides what is still sent, not the signal."""
    server = smtp_server("plain")
    assert send_process.send_many([job(server, "a@t.example", 1)])[1] is None
    pid = child_pid()
    os.kill(pid, signal.SIGTERM)
    os.kill(pid, signal.SIGINT)
    time.sleep(0.2)
    outcomes, error = send_process.send_many([job(server, "b@t.example", 2)])
    assert error is None and isinstance(outcomes[0], SendReceipt)
    assert child_pid() == pid
    [child] = send_process._idle
    send_process.close(stop=True)
    process = child.process
    assert process.returncode == 0
    assert len(server.received) == 2


def test_a_lost_child_is_reported_and_replaced(smtp_server: StartServer) -> None:
    server = smtp_server("plain")
    assert send_process.send_many([job(server, "a@t.example", 1)])[1] is None
    first = child_pid()
    os.kill(first, signal.SIGKILL)
    send_process._idle[0].process.wait(timeout=5)
    outcomes, error = send_process.send_many([job(server, "b@t.example", 2)])
    assert outcomes == [] and isinstance(error, send_process.SenderProcessLost)
    outcomes, error = send_process.send_many([job(server, "c@t.example", 3)])
    assert error is None and isinstance(outcomes[0], SendReceipt)
    assert child_pid() != first
    assert [r.rcpt_tos for r in server.received] == [["a@t.example"], ["c@t.example"]]


def test_an_unexpected_error_in_the_child_keeps_what_was_sent_and_the_child(
    smtp_server: StartServer,
) -> None:
    server = smtp_server("plain")
    broken = replace(job(server, "b@t.example", 2), message=None)  # type: ignore[arg-type]
    outcomes, error = send_process.send_many(
        [job(server, "a@t.example", 1), broken, job(server, "c@t.example", 3)]
    )
    assert len(outcomes) == 1 and isinstance(outcomes[0], SendReceipt)
    assert isinstance(error, send_process.SenderProcessLost)
    assert "TypeError" in error.message
    pid = child_pid()
    outcomes, error = send_process.send_many([job(server, "d@t.example", 4)])
    assert error is None and isinstance(outcomes[0], SendReceipt)
    assert child_pid() == pid
    assert [r.rcpt_tos for r in server.received] == [["a@t.example"], ["d@t.example"]]


def test_a_child_that_cannot_start_leaves_sending_to_the_worker(
    db: Session, smtp_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = smtp_server("plain")
    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(send_process.SenderProcessUnavailable):
        send_process.send_many([job(server, "a@t.example")])
    assert server.received == [] and send_process._idle == []
    # The engine sends the chunk from the worker instead.
    _start_campaign(db, server, ["ann"])
    assert run_due(db, now=NOW, worker="w1")["by_outcome"] == {"complete": 1}
    assert [r.rcpt_tos for r in server.received] == [["ann@acme.example"]]


def test_settings_with_their_own_tls_context_stay_in_the_worker(
    smtp_server: StartServer,
) -> None:
    server = smtp_server("starttls")
    assert not send_process.usable(server.settings())
    assert send_process.usable(smtp_server("plain").settings())


def _start_campaign(db: Session, server: SmtpServer, names: list[str]) -> None:
    """A mailbox on ``server`` and a one-step campaign to ``names`` at acme.example."""
    add_mailbox(
        db,
        "sales",
        "alex@aicmo.example",
        smtp_host="127.0.0.1",
        smtp_port=server.port,
        smtp_security="none",
    )
    for name in names:
        ops.create_lead(db, email=f"{name}@acme.example", tags=["p"])
    steps = [{"channel": "EMAIL", "template": {"subject": "Hello", "body": "A note"}}]
    campaigns.create_campaign(db, "P", steps=steps, audience={"tag": "p"}, now=NOW)
    campaigns.start_campaign(db, "P", now=NOW)


def _run_campaign(db: Session, server: SmtpServer) -> dict[str, str]:
    _start_campaign(db, server, ["ann", "bob", "gone", "busy", "cy"])
    run_due(db, now=NOW, worker="w1")
    db.rollback()
    rows = db.execute(select(OutreachMessageDB.recipient, OutreachMessageDB.status)).all()
    states = db.execute(select(EnrollmentDB.state, EnrollmentDB.retries)).all()
    return {str(r): str(s) for r, s in rows} | {"enrollments": str(sorted(states))}


@pytest.mark.parametrize("in_child", [True, False], ids=["child", "thread"])
def test_the_engine_records_the_same_outcomes_whichever_sends(
    db: Session,
    smtp_server: StartServer,
    monkeypatch: pytest.MonkeyPatch,
    in_child: bool,
) -> None:
    monkeypatch.setenv("AICMO_SENDING_PROCESS", "1" if in_child else "0")
    get_settings.cache_clear()
    server = smtp_server(
        "plain",
        Behaviour(
            rcpt_replies={
                "gone@acme.example": "550 5.1.1 No such user",
                "busy@acme.example": "451 4.3.0 Try later",
            }
        ),
    )
    outcome = _run_campaign(db, server)
    assert bool(send_process._idle) is in_child
    assert outcome == {
        "ann@acme.example": "SENT",
        "bob@acme.example": "SENT",
        "cy@acme.example": "SENT",
        "gone@acme.example": "BOUNCED",
        "busy@acme.example": "FAILED",
        "enrollments": str(sorted([("COMPLETED", 0)] * 3 + [("ACTIVE", 1), ("FAILED", 0)])),
    }
    assert sorted(r.rcpt_tos[0] for r in server.received) == [
        "ann@acme.example",
        "bob@acme.example",
        "cy@acme.example",
    ]
