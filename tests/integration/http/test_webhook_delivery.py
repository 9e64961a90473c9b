"""Webhooks out to a real receiver on loopback: signed per Standard Webhooks (checked by the
receiver's own implementation), retried after 500s, delivered once per webhook-id."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.config import get_settings
from aicmo.operator_services import webhooks
from aicmo.operator_services.leads import create_lead
from aicmo.operator_services.uow import utcnow
from tests.webhook_receiver import receiver


def at(when: datetime) -> Callable[[], datetime]:
    """A clock stopped at ``when``."""
    return lambda: when


@pytest.fixture(autouse=True)
def _loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AICMO_ALLOW_LOOPBACK", "1")  # the receiver is on 127.0.0.1
    get_settings.cache_clear()


def test_two_500s_then_a_200_deliver_the_event_once(db: Session) -> None:
    with receiver(statuses=[500, 500]) as rx:
        endpoint = webhooks.register_webhook(db, rx.url, "email.replied", workspace_id=1)
        rx.secret = endpoint["secret"]
        lead = create_lead(db, email="ann@lead.example", first_name="Ann")
        repo.add_event(
            db,
            1,
            OutreachEvent(
                type=EventType.REPLY_RECEIVED,
                occurred_at=utcnow(),
                channel="EMAIL",
                recipient="ann@lead.example",
                reason="Sounds good, call me Tuesday",
            ),
            lead_id=lead["id"],
        )
        db.commit()
        start = utcnow() + timedelta(seconds=1)
        outcomes = []
        # The schedule waits 5 s, then 30 s, each ±20 %: the third try is due by 6 + 36 s.
        for offset in (0, 6, 20, 50, 300, 3600):
            now = start + timedelta(seconds=offset)
            outcomes.append(webhooks.deliver_due(db, worker="w", now=now, clock=at(now)))
        assert outcomes == [{"retry": 1}, {"retry": 1}, {}, {"delivered": 1}, {}, {}]
        assert [r.answered for r in rx.received] == [500, 500, 200]
        assert all(r.verified for r in rx.received)
        assert len({r.webhook_id for r in rx.received}) == 1
        assert len(rx.delivered_ids()) == 1
        body = json.loads(rx.received[-1].body)
        assert body["type"] == "email.replied"
        assert body["data"]["reason"] == "Sounds good, call me Tuesday"
        assert body["data"]["lead"]["first_name"] == "Ann"
    [d] = webhooks.list_deliveries(db, endpoint["id"], workspace_id=1)
    assert d["status"] == "SUCCEEDED"
    assert [a["status_code"] for a in d["log"]] == [500, 500, 200]


def test_a_tampered_secret_fails_the_receivers_check(db: Session) -> None:
    """The receiver's check is real: with another secret, nothing verifies."""
    with receiver() as rx:
        webhooks.register_webhook(db, rx.url, "lead.unsubscribed", workspace_id=1)
        rx.secret = "whsec_" + "A" * 44
        repo.add_event(db, 1, OutreachEvent(type=EventType.UNSUBSCRIBED, occurred_at=utcnow()))
        db.commit()
        now = utcnow() + timedelta(seconds=1)
        webhooks.deliver_due(db, worker="w", now=now)
        assert [r.verified for r in rx.received] == [False]
