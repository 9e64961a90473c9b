"""The webhook sender killed mid-delivery (SIGKILL while the receiver holds the request
open), then restarted: the event still arrives, and nothing is sent again once a 2xx is
recorded. The request the dead sender made is sent once more (at least once): the
receiver sees the same webhook-id twice, which is why receivers dedupe by it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.config import get_settings
from aicmo.operator_services import webhooks
from aicmo.operator_services.uow import utcnow
from tests.webhook_receiver import receiver

LEASE_SECONDS = 3


def sender(db_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    """``aicmo webhook deliver --loop`` in a process of its own (a short lease, so the test
    need not wait a minute for the dead sender's claim to run out)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env.update(
        AICMO_DATABASE_URL=db_url,
        AICMO_DATA_DIR=str(tmp_path / "data"),
        AICMO_SECRET_KEY=get_settings().get_secret_key(),
        AICMO_ALLOW_LOOPBACK="1",
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aicmo",
            "webhook",
            "deliver",
            "--loop",
            "--interval",
            "0.2",
            "--lease",
            str(LEASE_SECONDS),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_sender_killed_mid_delivery_delivers_after_restart_and_never_after_a_2xx(
    db: Session, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AICMO_ALLOW_LOOPBACK", "1")
    get_settings.cache_clear()
    with receiver(hold_first=True) as rx:
        endpoint = webhooks.register_webhook(db, rx.url, "lead.unsubscribed", workspace_id=1)
        rx.secret = endpoint["secret"]
        repo.add_event(db, 1, OutreachEvent(type=EventType.UNSUBSCRIBED, occurred_at=utcnow()))
        db.commit()

        first = sender(db_url, tmp_path)
        try:
            assert rx.got_request.wait(60), "the sender never posted"
        finally:
            first.send_signal(signal.SIGKILL)  # while the receiver holds the request open
            first.wait(30)
        rx.release.set()
        db.rollback()
        [held] = webhooks.list_deliveries(db, endpoint["id"], workspace_id=1)
        assert held["status"] == "PENDING" and held["delivered_at"] is None
        assert held["log"][0]["finished_at"] is None  # the dead sender never recorded it

        second = sender(db_url, tmp_path)
        try:

            def delivered() -> bool:
                db.rollback()  # a fresh snapshot (SQLite's WAL keeps the old one otherwise)
                [d] = webhooks.list_deliveries(db, endpoint["id"], workspace_id=1)
                return bool(d["status"] == "SUCCEEDED")

            wait_for(delivered)
            sent_when_recorded = len(rx.received)
            time.sleep(LEASE_SECONDS + 1.5)  # more rounds, past any lease
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0, second.stderr.read() if second.stderr else ""

    db.rollback()
    assert len(rx.received) == sent_when_recorded == 2  # nothing after the recorded 2xx
    assert all(r.verified for r in rx.received)
    assert len({r.webhook_id for r in rx.received}) == 1  # the receiver can dedupe
    assert len(rx.delivered_ids()) == 1  # the dead sender never got its answer
    [d] = webhooks.list_deliveries(db, endpoint["id"], workspace_id=1)
    assert [a["error"] for a in d["log"]] == [webhooks.INTERRUPTED, None]
    assert d["log"][1]["status_code"] == 200
    assert d["created_at"] <= utcnow() + timedelta(seconds=1)
