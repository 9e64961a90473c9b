"""A channel defined only here (SMS through a gateway on loopback) runs through the engine
with the same limits, suppression, retries and fallback as the built-in channels, with no
edit to the engine, campaigns or sequencing: the seam of docs/architecture.md, "Adding a
channel"."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EnrollmentDB, OutreachMessageDB
from aicmo.cam.domain.channels import ChannelSpec, channel_names
from aicmo.errors import PermanentChannelError, TransientChannelError, ValidationError
from aicmo.operator_services import campaigns
from aicmo.operator_services.channels.base import AttemptRequest, Channel, Receipt
from aicmo.operator_services.channels.registry import register_channel, unregister_channel
from aicmo.operator_services.engine.tick import run_due
from tests.http_server import serve

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
OK, FLAKY, INVALID = "+15550100001", "+15550100002", "+15550100009"


@dataclass
class Gateway:
    """An SMS gateway: accepts most numbers, is busy once for FLAKY, refuses INVALID."""

    received: list[dict[str, str]] = field(default_factory=list)
    busy_once: set[str] = field(default_factory=lambda: {FLAKY})

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/messages")
        async def send(request: Request) -> JSONResponse:
            body = await request.json()
            to = body["to"]
            if to in self.busy_once:
                self.busy_once.discard(to)
                return JSONResponse({"error": "busy, try later"}, status_code=503)
            if to == INVALID:
                return JSONResponse({"error": "not a mobile number"}, status_code=400)
            self.received.append(body)
            return JSONResponse({"id": f"sms-{len(self.received)}"})

        return app


class SmsChannel(Channel):
    """The whole channel: its spec, its transport name, and how it delivers."""

    spec = ChannelSpec("SMS", ("phone",))
    transport = "sms-gateway"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def deliver(self, row: OutreachMessageDB, req: AttemptRequest) -> Receipt:
        answer = httpx.post(
            f"{self.base_url}/messages", json={"to": row.recipient, "text": row.body}, timeout=5
        )
        if answer.status_code == 503:
            raise TransientChannelError(answer.json()["error"])
        if answer.status_code >= 400:
            raise PermanentChannelError(answer.json()["error"])
        return Receipt(answer.json()["id"])


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    state = Gateway()
    with serve(state.app()) as base:
        register_channel(SmsChannel(base))
        try:
            yield state
        finally:
            unregister_channel("SMS")


STEPS = [
    {
        "channel": "sms",
        "fallback": ["EMAIL"],
        "template": {"subject": "Hello", "body": "Hi {{ first_name | default('there') }}"},
    }
]


def _campaign(db: Session, name: str) -> None:
    campaigns.create_campaign(db, name, steps=STEPS, audience={"tag": name}, now=T0)
    campaigns.start_campaign(db, name, now=T0)


def _attempts(db: Session, lead_id: int) -> list[tuple[str, str]]:
    db.rollback()
    rows = db.scalars(
        select(OutreachMessageDB)
        .where(OutreachMessageDB.lead_id == lead_id)
        .order_by(OutreachMessageDB.id)
    )
    return [(r.channel, r.status) for r in rows]


def _enrollment(db: Session, lead_id: int) -> EnrollmentDB:
    db.rollback()
    row = db.scalar(select(EnrollmentDB).where(EnrollmentDB.lead_id == lead_id))
    assert row is not None
    return row


def test_a_registered_channel_sends_retries_falls_back_and_respects_suppression(
    db: Session, gateway: Gateway
) -> None:
    people: dict[str, dict[str, Any]] = {
        "ok": {"phone": OK},
        "flaky": {"phone": FLAKY},
        "invalid": {"phone": INVALID},
        "nophone": {},
        "stop": {"phone": "+15550100003"},
    }
    lead = {
        name: ops.create_lead(
            db, email=f"{name}@acme.example", first_name=name.title(), tags=["t"], **fields
        )["id"]
        for name, fields in people.items()
    }
    ops.add_suppression(db, "stop@acme.example", reason="unsubscribed")
    _campaign(db, "t")
    assert "SMS" in channel_names()
    assert ops.get_channel_config(db, "sms")["channel"] == "SMS"

    first = run_due(db, now=T0, worker="w1")

    assert [m["to"] for m in gateway.received] == [OK]
    assert gateway.received[0]["text"] == "Hi Ok"
    assert _attempts(db, lead["ok"]) == [("SMS", "SENT")]
    assert _enrollment(db, lead["ok"]).state == "COMPLETED"
    # A busy gateway: a temporary failure, retried later on the same channel.
    assert _attempts(db, lead["flaky"]) == [("SMS", "FAILED")]
    flaky = _enrollment(db, lead["flaky"])
    assert flaky.state == "ACTIVE" and flaky.retries == 1
    assert flaky.next_run_at is not None and flaky.next_run_at.replace(tzinfo=UTC) > T0
    # Refused for good, or no number at all: the step falls back to email, due at once.
    for name in ("invalid", "nophone"):
        assert _attempts(db, lead[name]) == [("SMS", "FAILED")]
        fallback = _enrollment(db, lead[name])
        assert fallback.channel_index == 1 and fallback.next_run_at is not None
        assert fallback.next_run_at.replace(tzinfo=UTC) <= T0
    # Suppressed: nothing goes out on any channel, and the enrollment stops.
    assert _attempts(db, lead["stop"]) in ([], [("SMS", "SUPPRESSED")])
    assert _enrollment(db, lead["stop"]).state == "STOPPED"
    assert first["processed"] == 5

    run_due(db, now=T0, worker="w1")
    for name in ("invalid", "nophone"):
        assert _attempts(db, lead[name]) == [("SMS", "FAILED"), ("EMAIL", "SENT")]
        assert _enrollment(db, lead[name]).state == "COMPLETED"
    assert len(gateway.received) == 1

    later = flaky.next_run_at.replace(tzinfo=UTC)
    run_due(db, now=later, worker="w1")
    assert [m["to"] for m in gateway.received] == [OK, FLAKY]
    assert _attempts(db, lead["flaky"]) == [("SMS", "FAILED"), ("SMS", "SENT")]
    assert _enrollment(db, lead["flaky"]).state == "COMPLETED"
    history = ops.get_outreach_history(db, channel="SMS")
    assert {h["transport"] for h in history if h["status"] == "SENT"} == {"sms-gateway"}
    assert ops.get_channel_metrics(db, days=7, now=later)["SMS"]["sent"] == 2


def test_a_registered_channel_is_held_to_its_rate_limits(db: Session, gateway: Gateway) -> None:
    ops.update_channel_config(db, "SMS", rate_limit_per_hour=2, rate_limit_per_day=10)
    ids = [
        ops.create_lead(db, email=f"l{i}@acme.example", phone=f"+1555010020{i}", tags=["lim"])["id"]
        for i in range(3)
    ]
    _campaign(db, "lim")

    run_due(db, now=T0, worker="w1")
    assert len(gateway.received) == 2
    waiting = [i for i in ids if _enrollment(db, i).state == "ACTIVE"]
    assert len(waiting) == 1
    slot = _enrollment(db, waiting[0]).next_run_at
    assert slot is not None and slot.replace(tzinfo=UTC) >= T0 + timedelta(hours=1)
    assert _attempts(db, waiting[0]) == []  # a full window writes nothing

    run_due(db, now=slot.replace(tzinfo=UTC), worker="w1")
    assert len(gateway.received) == 3


def test_a_channel_name_that_nobody_registered_is_refused(db: Session) -> None:
    with pytest.raises(ValidationError, match="unknown channel 'PIGEON'"):
        campaigns.create_campaign(
            db, "p", steps=[{"channel": "pigeon", "template": {"body": "coo"}}], now=T0
        )
    with pytest.raises(ValidationError, match="unknown channel"):
        ops.get_channel_config(db, "pigeon")


def test_registering_replaces_no_built_in(gateway: Gateway) -> None:
    class FakeEmail(SmsChannel):
        spec = ChannelSpec("EMAIL", ("email",))

    with pytest.raises(ValueError, match="built-in"):
        register_channel(FakeEmail("http://127.0.0.1:9"))
