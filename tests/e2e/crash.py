"""The crash harness: a campaign to a loopback SMTP sink, worker processes killed with
SIGKILL at random moments and restarted until it is done; then the checks that no lead got
a step twice and every attempt is accounted for. Used by ``tests/e2e/test_kill.py`` (small,
in the suite) and ``bench/crash.py`` (2,000 leads and more).
"""

from __future__ import annotations

import asyncio
import email
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EnrollmentDB, OutreachMessageDB
from aicmo.operator_services import campaigns
from aicmo.operator_services.channels.mailboxes import add_mailbox


class SlowSink:
    """Accepts everything after a short pause; records each message's Message-ID."""

    def __init__(self, delay: float = 0.05) -> None:
        self.ids: list[str] = []
        self.delay = delay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        await asyncio.sleep(self.delay)  # slow enough that kills land mid-campaign
        msg = email.message_from_bytes(envelope.content)
        self.ids.append(str(msg["Message-ID"]))
        return "250 2.0.0 Ok"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker(env: dict[str, str], *, batch: int = 20, lease: float = 1.0) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aicmo",
            "worker",
            "--interval",
            "0.05",
            "--lease",
            str(lease),
            "--batch",
            str(batch),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def remaining(db: Session) -> int:
    db.rollback()
    return int(
        db.scalar(
            select(func.count()).select_from(EnrollmentDB).where(EnrollmentDB.state == "ACTIVE")
        )
        or 0
    )


@dataclass
class CrashRun:
    leads: int
    kills: int
    received: list[str]


def run_crash(
    db: Session,
    db_url: str,
    data_dir: Path,
    *,
    leads: int,
    kills: int,
    delay: float = 0.05,
    batch: int = 20,
    seed: int = 7,
    finish_within: float = 240.0,
) -> CrashRun:
    """Set up a two-step campaign of ``leads`` leads and kill workers ``kills`` times.

    ``finish_within`` bounds the wait for the last worker to finish (a liveness bound, not
    a timing: the wait ends as soon as the campaign is done, so it is generous enough for
    a machine loaded by other work)."""
    sink = SlowSink(delay)
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ops.update_channel_config(  # step 2 follows at once: no per-lead gap here
            db,
            "EMAIL",
            rate_limit_per_hour=1_000_000,
            rate_limit_per_day=1_000_000,
            min_gap_hours=0,
            per_lead_limit=10,
        )
        add_mailbox(
            db,
            "sink",
            "alex@aicmo.example",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            daily_cap=1_000_000,
            hourly_cap=1_000_000,
        )
        for i in range(leads):
            ops.create_lead(db, email=f"lead{i}@acme.example", tags=["crash"])
        steps: list[dict[str, Any]] = [
            {"channel": "EMAIL", "template": {"subject": "One", "body": "First"}},
            {
                "channel": "EMAIL",
                "delay_hours": 0,
                "template": {"subject": "Two", "body": "Second"},
            },
        ]
        campaigns.create_campaign(db, "Crash", steps=steps, audience={"tag": "crash"})
        campaigns.start_campaign(db, "Crash")

        env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
        env.update(
            AICMO_DATABASE_URL=db_url,
            AICMO_DATA_DIR=str(data_dir),
            AICMO_SECRET_KEY=os.environ["AICMO_SECRET_KEY"],
        )
        rng = random.Random(seed)
        done = 0
        while done < kills and remaining(db):
            proc = worker(env, batch=batch)
            time.sleep(rng.uniform(0.8, 1.6))  # start-up is ~0.6 s: kills land mid-work
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            done += 1
        deadline = time.monotonic() + finish_within
        proc = worker(env, batch=batch)
        try:
            while remaining(db) and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.5)  # one more lease: let the last SENDING rows be recovered
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    finally:
        controller.stop()
    return CrashRun(leads, done, list(sink.ids))


def check_crash(db: Session, run: CrashRun) -> Counter[str]:
    """The invariants after a crash run; returns the attempts by status."""
    assert remaining(db) == 0, "the campaign did not finish"
    received = Counter(run.received)
    assert not [mid for mid, n in received.items() if n > 1], "a message arrived twice"
    db.rollback()
    statuses = Counter(db.scalars(select(OutreachMessageDB.status)))
    assert set(statuses) <= {"SENT", "UNKNOWN"}, statuses
    # Every message at the sink is on record, and nothing SENT is missing from the sink.
    sent_ids = set(
        db.scalars(
            select(OutreachMessageDB.rfc_message_id).where(OutreachMessageDB.status == "SENT")
        )
    )
    assert sent_ids <= set(received)
    per_step = Counter(
        db.execute(select(OutreachMessageDB.lead_id, OutreachMessageDB.step_index)).all()
    )
    assert max(per_step.values()) == 1  # one attempt per lead and step, ever
    finished = Counter(db.scalars(select(EnrollmentDB.state)))
    assert sum(finished.values()) == run.leads and set(finished) <= {"COMPLETED", "WAITING"}
    return statuses
