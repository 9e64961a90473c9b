"""Four worker processes at once: no enrollment is claimed twice, and no hour or day
window ever holds more sends than its limit (invariant 3), on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import OutreachMessageDB
from aicmo.operator_services import campaigns
from aicmo.operator_services.channels.mailboxes import add_mailbox
from tests.e2e.crash import SlowSink, free_port, worker

LEADS = 120
PER_HOUR = 45


def test_four_workers_share_the_work_and_the_limits(
    db: Session, db_url: str, tmp_path: Path
) -> None:
    sink = SlowSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        ops.update_channel_config(db, "EMAIL", rate_limit_per_hour=PER_HOUR, rate_limit_per_day=500)
        add_mailbox(
            db,
            "sink",
            "alex@aicmo.example",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            daily_cap=10_000,
            hourly_cap=10_000,
        )
        for i in range(LEADS):
            ops.create_lead(db, email=f"lead{i}@acme.example", tags=["four"])
        steps: list[dict[str, Any]] = [
            {"channel": "EMAIL", "template": {"subject": "One", "body": "First"}},
        ]
        campaigns.create_campaign(db, "Four", steps=steps, audience={"tag": "four"})
        campaigns.start_campaign(db, "Four")
        env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
        env.update(
            AICMO_DATABASE_URL=db_url,
            AICMO_DATA_DIR=str(tmp_path / "data"),
            AICMO_SECRET_KEY=os.environ["AICMO_SECRET_KEY"],
        )
        procs = [worker(env) for _ in range(4)]
        deadline = time.monotonic() + 60
        try:
            while len(sink.ids) < PER_HOUR and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2.0)  # the workers keep trying: the limit must still hold
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                proc.wait(timeout=30)
    finally:
        controller.stop()

    db.rollback()
    rows = list(
        db.execute(
            select(
                OutreachMessageDB.lead_id, OutreachMessageDB.created_at, OutreachMessageDB.status
            )
        ).all()
    )
    assert len(sink.ids) == PER_HOUR  # exactly the hourly limit went out, no more
    assert max(Counter(lead for lead, _, _ in rows).values()) == 1  # no enrollment twice
    times = sorted(t for _, t, status in rows if status in {"SENT", "SENDING", "UNKNOWN"})
    for i, start in enumerate(times):
        in_hour = sum(1 for t in times[i:] if t - start < timedelta(hours=1))
        assert in_hour <= PER_HOUR
