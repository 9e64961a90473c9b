"""Liveness figures: heartbeats, due work, tasks; /healthz shows counts, not internals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.config import get_settings
from aicmo.operator_services import campaigns
from aicmo.operator_services.engine.tick import run_due
from aicmo.operator_services.ops.health import health, record_stop, record_tick
from aicmo.web.app import create_app
from tests.http_server import serve

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_a_worker_is_alive_while_it_ticks_and_not_after_it_stops(db: Session) -> None:
    assert health(db, now=T0)["workers_alive"] == 0
    record_tick(db, "host:1", now=T0, started_at=T0, processed=3)
    figures = health(db, now=T0 + timedelta(seconds=30))
    assert figures["workers_alive"] == 1 and figures["seconds_since_last_tick"] == 30.0
    assert figures["workers"][0]["processed"] == 3
    assert health(db, now=T0 + timedelta(minutes=3))["workers_alive"] == 0  # stale
    record_tick(db, "host:1", now=T0 + timedelta(minutes=4), started_at=T0, processed=0)
    record_stop(db, "host:1", now=T0 + timedelta(minutes=4))
    assert health(db, now=T0 + timedelta(minutes=4))["workers_alive"] == 0


def test_due_work_and_tasks_are_counted(db: Session) -> None:
    ops.create_lead(db, email="a@acme.example", tags=["t"])
    ops.create_lead(db, linkedin_url="https://www.linkedin.com/in/bee", tags=["t"])
    steps = [
        {
            "channel": "EMAIL",
            "fallback": ["LINKEDIN"],
            "template": {"subject": "Hi", "body": "Hello"},
        }
    ]
    campaigns.create_campaign(db, "C", steps=steps, audience={"tag": "t"}, now=T0)
    campaigns.start_campaign(db, "C", now=T0)
    figures = health(db, now=T0 + timedelta(minutes=10))
    assert figures["due_now"] == 2 and figures["oldest_due_seconds"] == 600.0
    run_due(db, now=T0, worker="w")
    run_due(db, now=T0, worker="w")
    figures = health(db, now=T0 + timedelta(days=2))
    assert figures["due_now"] == 0
    assert figures["open_tasks"] == 1 and figures["overdue_tasks"] == 1


def test_healthz_is_503_without_a_live_worker_when_asked_and_shows_no_internals(
    db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_tick(
        db, "secret-host:42", now=datetime.now(UTC), started_at=T0, processed=0, error="boom"
    )
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with serve(create_app()) as base:
        client = httpx.Client(base_url=base)
        ok = client.get("/healthz")
        assert ok.status_code == 200 and ok.json()["workers_alive"] == 1
        assert "secret-host" not in ok.text and "boom" not in ok.text
        record_stop(db, "secret-host:42", now=datetime.now(UTC))
        assert client.get("/healthz?require_worker=true").status_code == 503
        assert client.get("/healthz").status_code == 200
