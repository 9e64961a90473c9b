"""The module paths of the seed's file map, on a real database: ``aicmo.cam.operator_services``
is the service layer itself, ``aicmo.cam.auto`` runs what the worker and the CLI run, and
``aicmo.cam.outreach.RateLimiter`` answers what the engine then does."""

from __future__ import annotations

import importlib
import logging
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import aicmo.cam.operator_services
import aicmo.operator_services
from aicmo import operator_services as ops
from aicmo.bootstrap import open_session
from aicmo.cam import auto
from aicmo.cam.db_models import EnrollmentDB, WorkerDB
from aicmo.cam.outreach import RateLimiter
from aicmo.config import get_settings
from aicmo.db.connect import session_factory
from aicmo.errors import RateLimitedError
from aicmo.operator_services import campaigns
from aicmo.operator_services.engine.tick import run_due
from aicmo.operator_services.uow import utcnow
from aicmo.worker import WorkerOptions, run_worker

ONE_EMAIL = [{"channel": "EMAIL", "template": {"subject": "Hi", "body": "Hello"}}]


def test_cam_operator_services_is_the_service_layer_module_and_its_submodules() -> None:
    from aicmo.cam.operator_services import send_outreach_message

    assert aicmo.cam.operator_services is aicmo.operator_services
    assert send_outreach_message is aicmo.operator_services.send_outreach_message
    for sub in ("outreach", "engine", "engine.tick", "channels.limits", "campaigns"):
        alias = importlib.import_module(f"aicmo.cam.operator_services.{sub}")
        assert alias is importlib.import_module(f"aicmo.operator_services.{sub}")
        parent = aicmo.cam.operator_services
        for part in sub.split("."):
            parent = getattr(parent, part)
        assert parent is alias


def _leads(db: Session, tag: str, n: int) -> list[int]:
    return [ops.create_lead(db, email=f"{tag}{i}@acme.example", tags=[tag])["id"] for i in range(n)]


def test_run_once_sends_the_due_work_and_returns_the_workers_figures(
    db: Session, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    _leads(db, "auto", 3)
    campaigns.create_campaign(db, "Auto", steps=ONE_EMAIL, audience={"tag": "auto"})
    started = auto.start_campaign(db, "Auto")
    assert started["status"] == "ACTIVE" and started["enrolled"] == 3

    figures = auto.run_once(db)

    assert figures["processed"] == 3 and figures["n_complete"] == 3
    assert len(list(get_settings().resolved_outbox_dir.rglob("*.eml"))) == 3
    db.rollback()
    beat = db.scalar(select(WorkerDB).where(WorkerDB.name == figures["worker"]))
    assert beat is not None and beat.stopped_at is not None  # ran, then said it stopped
    # `aicmo worker --once` on the same kind of work logs the same figures.
    _leads(db, "cli", 2)
    campaigns.create_campaign(db, "Cli", steps=ONE_EMAIL, audience={"tag": "cli"})
    campaigns.start_campaign(db, "Cli")
    with caplog.at_level(logging.INFO, logger="aicmo"):
        run_worker(session_factory(engine), WorkerOptions(once=True), threading.Event())
    (tick,) = [r for r in caplog.records if r.getMessage() == "tick"]
    logged = tick.fields  # type: ignore[attr-defined]
    assert set(logged) == set(figures) and logged["n_complete"] == 2


def test_the_faces_use_the_settings_database_without_a_session() -> None:
    with open_session() as db:
        _leads(db, "own", 2)
        campaigns.create_campaign(db, "Own", steps=ONE_EMAIL, audience={"tag": "own"})
        update = ops.update_channel_config(db, "EMAIL", rate_limit_per_hour=3)
        assert update["rate_limit_per_hour"] == 3
    assert auto.start_campaign(None, "Own")["enrolled"] == 2
    assert auto.run_once()["processed"] == 2
    assert RateLimiter().remaining("EMAIL")["per_hour"] == 1


def _send(db: Session, lead_id: int) -> datetime:
    result = ops.send_outreach_message(db, lead_id, "Hello", "Hi")
    assert result["success"], result
    (row,) = [m for m in ops.get_outreach_history(db) if m["id"] == result["message_id"]]
    created: datetime = row["created_at"]
    return created


def test_rate_limiter_counts_real_sends_and_agrees_with_the_engine_at_the_limit(
    db: Session,
) -> None:
    ops.update_channel_config(db, "EMAIL", rate_limit_per_hour=2)
    a, b, c = _leads(db, "rl", 3)
    limiter = RateLimiter(db)
    assert limiter.remaining("email") == {"per_hour": 2, "per_day": 500, "per_lead": None}
    assert limiter.can_send("EMAIL") and limiter.next_slot("EMAIL") is None

    first = _send(db, a)
    assert limiter.remaining("EMAIL") == {"per_hour": 1, "per_day": 499, "per_lead": None}
    assert limiter.can_send("EMAIL") and limiter.next_slot("EMAIL") is None
    assert limiter.remaining("LINKEDIN")["per_hour"] == 100  # another channel's windows

    _send(db, b)
    assert limiter.remaining("EMAIL")["per_hour"] == 0
    assert not limiter.can_send("EMAIL")
    slot = limiter.next_slot("EMAIL")
    assert slot is not None and slot > utcnow()
    assert slot == first + timedelta(hours=1)  # the first send leaves the hour's window

    # The engine refuses the next send, and a campaign waits for exactly that slot.
    with pytest.raises(RateLimitedError) as refused:
        ops.send_outreach_message(db, c, "Hello", "Hi")
    assert refused.value.retry_at == slot
    campaigns.create_campaign(db, "Full", steps=ONE_EMAIL, audience={"lead_ids": [c]})
    campaigns.start_campaign(db, "Full")
    assert run_due(db, now=utcnow(), worker="w")["by_outcome"] == {"rate limited": 1}
    db.rollback()
    enrollment = db.scalar(select(EnrollmentDB).where(EnrollmentDB.lead_id == c))
    assert enrollment is not None and enrollment.next_run_at == slot
    assert limiter.remaining("EMAIL")["per_hour"] == 0  # nothing was recorded for it

    # Room again (a larger limit): the limiter and the engine both say go.
    ops.update_channel_config(db, "EMAIL", rate_limit_per_hour=3)
    assert limiter.can_send("EMAIL") and limiter.next_slot("EMAIL") is None
    assert _send(db, c)
    assert not limiter.can_send("EMAIL")


def test_rate_limiter_applies_the_per_lead_rule_as_the_engine_does(db: Session) -> None:
    ops.update_channel_config(db, "EMAIL", per_lead_limit=2, min_gap_hours=0)
    touched, other = _leads(db, "pl", 2)
    limiter = RateLimiter(db)
    assert limiter.remaining("EMAIL", touched)["per_lead"] == 2

    first = _send(db, touched)
    assert limiter.remaining("EMAIL", touched)["per_lead"] == 1
    assert limiter.can_send("EMAIL", touched)
    _send(db, touched)
    assert limiter.remaining("EMAIL", touched)["per_lead"] == 0
    assert not limiter.can_send("EMAIL", touched)
    assert limiter.can_send("EMAIL", other) and limiter.can_send("EMAIL")
    slot = limiter.next_slot("EMAIL", touched)
    assert slot == first + timedelta(hours=168)  # the week's first touch leaves the window

    # The engine holds the touched lead until that slot and sends to the other now.
    campaigns.create_campaign(db, "Lead", steps=ONE_EMAIL, audience={"tag": "pl"})
    campaigns.start_campaign(db, "Lead")
    outcome = run_due(db, now=utcnow(), worker="w")["by_outcome"]
    assert outcome == {"lead limit": 1, "complete": 1}
    db.rollback()
    waiting = db.scalar(select(EnrollmentDB).where(EnrollmentDB.lead_id == touched))
    assert waiting is not None and waiting.next_run_at == slot

    # The minimum gap counts too: one touch, a 24 h gap, no room until it has passed.
    ops.update_channel_config(db, "EMAIL", min_gap_hours=24)
    assert not limiter.can_send("EMAIL", other)
    gap_slot = limiter.next_slot("EMAIL", other)
    assert gap_slot is not None and gap_slot > utcnow() + timedelta(hours=23)
    assert limiter.remaining("EMAIL", other)["per_lead"] == 1


def test_a_limit_of_zero_never_lets_a_send_through(db: Session) -> None:
    ops.update_channel_config(db, "EMAIL", rate_limit_per_hour=0)
    (lead,) = _leads(db, "zero", 1)
    limiter = RateLimiter(db)
    assert not limiter.can_send("EMAIL", lead)
    assert limiter.next_slot("EMAIL", lead) is None
    assert limiter.remaining("EMAIL") == {"per_hour": 0, "per_day": 500, "per_lead": None}
    with pytest.raises(RateLimitedError):
        ops.send_outreach_message(db, lead, "Hello", "Hi")
