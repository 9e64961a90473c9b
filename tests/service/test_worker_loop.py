"""The worker loop: several loops in one process each tick and leave a heartbeat; logs are
one line per tick, key=value or JSON."""

from __future__ import annotations

import json
import logging
import threading
from contextlib import AbstractContextManager

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import WorkerDB
from aicmo.db.connect import session_factory
from aicmo.operator_services import campaigns
from aicmo.worker import JsonFormatter, KeyValueFormatter, WorkerOptions, run_worker


def test_concurrent_loops_share_the_due_work_and_each_leave_a_heartbeat(
    db: Session, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(30):
        ops.create_lead(db, email=f"l{i}@acme.example", tags=["w"])
    steps = [{"channel": "EMAIL", "template": {"subject": "Hi", "body": "Hello"}}]
    campaigns.create_campaign(db, "W", steps=steps, audience={"tag": "w"})
    campaigns.start_campaign(db, "W")
    make = session_factory(engine)

    def session() -> AbstractContextManager[Session]:
        return make()

    with caplog.at_level(logging.INFO, logger="aicmo"):
        run_worker(session, WorkerOptions(batch=10, once=True, concurrency=3), threading.Event())
    db.rollback()
    workers = list(db.scalars(select(WorkerDB)))
    assert len(workers) == 3 and all(w.stopped_at is not None for w in workers)
    assert sum(w.processed for w in workers) == 30  # each enrollment claimed by one loop
    assert len(ops.get_outreach_history(db)) == 30
    ticks = [r for r in caplog.records if r.getMessage() == "tick"]
    assert len(ticks) == 3


def test_log_lines_carry_the_fields_as_json_or_key_value() -> None:
    record = logging.LogRecord("aicmo.worker", logging.INFO, __file__, 1, "tick", None, None)
    record.fields = {"worker": "h:1", "processed": 4}
    data = json.loads(JsonFormatter().format(record))
    assert data["msg"] == "tick" and data["processed"] == 4 and data["worker"] == "h:1"
    assert KeyValueFormatter().format(record).endswith("info tick worker=h:1 processed=4")
