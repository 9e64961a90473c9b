"""Webhooks out through the service layer, on SQLite and PostgreSQL: the outbox row is
written with the event (or not at all), retries, giving up, replay, disabling, the SSRF
guard at registration and at delivery, and workspaces kept apart."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import EventDB, WebhookDeliveryDB, WebhookEndpointDB
from aicmo.cam.domain import webhooks as W
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.config import get_settings
from aicmo.crypto import encrypt_secret
from aicmo.db import bulk
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services import accounts, campaigns, webhooks
from aicmo.operator_services.leads import create_lead

#: A little after the events are recorded (a delivery is due from its event's recording).
T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


@pytest.fixture(autouse=True)
def _fresh_t0() -> None:
    """A minute ahead of each test's own start: the trigger stamps deliveries with the
    database's clock, and a module imported at the start of a long run would otherwise
    hand the tests a "now" that is already in the past."""
    global T0
    T0 = datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)


URL = "https://hooks.receiver-corp.com/aicmo"


def public_resolver(host: str, port: int) -> list[str]:
    return ["93.184.216.34"]


def private_resolver(host: str, port: int) -> list[str]:
    return ["93.184.216.34", "10.0.0.7"]  # one private answer is enough to refuse


class Receiver:
    """A transport that answers from a script and records what it was sent (dials nothing)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status = self.statuses.pop(0) if self.statuses else 200
        return httpx.Response(status, text="ok" if status < 300 else "busy")

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def register(
    db: Session, events: str = "email.replied,lead.unsubscribed", ws: int = 1
) -> dict[str, Any]:
    return webhooks.register_webhook(db, URL, events, workspace_id=ws, resolver=public_resolver)


def add_event(
    db: Session,
    type_: EventType,
    channel: str | None = "EMAIL",
    ws: int = 1,
    lead_id: int | None = None,
    **kw: Any,
) -> EventDB:
    event = OutreachEvent(type=type_, occurred_at=T0, channel=channel, **kw)
    row = repo.add_event(db, ws, event, lead_id=lead_id)
    db.commit()
    return row


def deliveries(db: Session) -> list[WebhookDeliveryDB]:
    db.expire_all()
    return list(db.scalars(select(WebhookDeliveryDB).order_by(WebhookDeliveryDB.id)))


def deliver(db: Session, receiver: Receiver, now: datetime, **kw: Any) -> dict[str, int]:
    return webhooks.deliver_due(
        db,
        worker="w1",
        now=now,
        clock=lambda: now,
        resolver=public_resolver,
        transport=receiver.transport,
        jitter=lambda: 0.5,
        **kw,
    )


def test_an_event_of_a_subscribed_type_is_queued_in_its_own_transaction(db: Session) -> None:
    endpoint = register(db)
    assert endpoint["secret"].startswith("whsec_")
    replied = add_event(db, EventType.REPLY_RECEIVED, "EMAIL")
    add_event(db, EventType.REPLY_RECEIVED, "LINKEDIN")  # linkedin.replied: not subscribed
    add_event(db, EventType.LEAD_CREATED, None)  # not subscribed
    unsubscribed = add_event(db, EventType.UNSUBSCRIBED, None)
    assert [(d.endpoint_id, d.event_id, d.status) for d in deliveries(db)] == [
        (endpoint["id"], replied.id, "PENDING"),
        (endpoint["id"], unsubscribed.id, "PENDING"),
    ]
    # Rolled back: neither the event nor its delivery.
    repo.add_event(db, 1, OutreachEvent(type=EventType.UNSUBSCRIBED, occurred_at=T0))
    db.flush()
    db.rollback()
    assert len(deliveries(db)) == 2


def test_events_written_in_bulk_are_queued_too(db: Session) -> None:
    """The engine writes MESSAGE_SENT rows with one multi-row INSERT: the trigger sees each."""
    register(db, "email.sent,form.submitted")
    rows = [{"lead_id": None, "message_id": i, "recipient": f"p{i}@x.example"} for i in range(5)]
    shared = {
        "workspace_id": 1,
        "type": "MESSAGE_SENT",
        "occurred_at": T0,
        "recorded_at": T0,
        "channel": "EMAIL",
        "source": "smtp",
        "detail": {},
    }
    bulk.insert_rows(db, cast(Table, EventDB.__table__), rows, shared=shared)
    db.commit()
    assert len(deliveries(db)) == 5


def test_a_campaign_paused_and_resumed_is_published(db: Session) -> None:
    register(db, "campaign.paused,campaign.resumed,campaign.started")
    c = campaigns.create_campaign(
        db, "c1", steps=[{"channel": "EMAIL", "template": {"subject": "s", "body": "b"}}]
    )
    create_lead(db, email="ann@lead.example")
    campaigns.start_campaign(db, c["id"])
    campaigns.set_campaign_status(db, c["id"], "PAUSED")
    campaigns.set_campaign_status(db, c["id"], "ACTIVE")
    receiver = Receiver()
    deliver(db, receiver, datetime.now(UTC) + timedelta(seconds=1))
    types = [json.loads(r.content)["type"] for r in receiver.requests]
    assert sorted(types) == ["campaign.paused", "campaign.resumed", "campaign.started"]


def test_a_delivery_is_signed_retried_with_backoff_then_delivered_once(db: Session) -> None:
    endpoint = register(db)
    lead = create_lead(db, email="ann@lead.example", first_name="Ann")
    add_event(db, EventType.REPLY_RECEIVED, lead_id=lead["id"], recipient="ann@lead.example")
    receiver = Receiver(500, 503, 200)
    assert deliver(db, receiver, T0) == {"retry": 1}
    assert deliver(db, receiver, T0 + timedelta(seconds=4)) == {}  # not due yet (5 s)
    assert deliver(db, receiver, T0 + timedelta(seconds=5)) == {"retry": 1}
    assert deliver(db, receiver, T0 + timedelta(seconds=34)) == {}  # 30 s after that
    assert deliver(db, receiver, T0 + timedelta(seconds=35)) == {"delivered": 1}
    assert deliver(db, receiver, T0 + timedelta(days=2)) == {}  # never again
    assert len(receiver.requests) == 3
    ids = {r.headers["webhook-id"] for r in receiver.requests}
    assert len(ids) == 1  # the same id on every attempt: receivers dedupe by it
    last = receiver.requests[-1]
    body = json.loads(last.content)
    assert body["type"] == "email.replied" and body["id"] in ids
    assert body["data"]["lead"]["email"] == "ann@lead.example"
    timestamp = int(last.headers["webhook-timestamp"])
    assert last.headers["webhook-signature"] == W.sign(
        endpoint["secret"], body["id"], timestamp, last.content
    )
    [d] = webhooks.list_deliveries(db, endpoint["id"], workspace_id=1)
    assert d["status"] == "SUCCEEDED"
    assert [a["status_code"] for a in d["log"]] == [500, 503, 200]
    assert all(a["duration_ms"] is not None and a["finished_at"] for a in d["log"])
    assert d["log"][0]["error"] == "HTTP 500"


def test_after_a_day_of_failures_it_gives_up_and_a_replay_starts_again(db: Session) -> None:
    endpoint = register(db)
    add_event(db, EventType.UNSUBSCRIBED, None)
    receiver = Receiver(*([500] * W.MAX_ATTEMPTS))
    now = T0
    outcomes: dict[str, int] = {}
    for _ in range(W.MAX_ATTEMPTS):
        for k, v in deliver(db, receiver, now).items():
            outcomes[k] = outcomes.get(k, 0) + v
        now += timedelta(hours=9)  # past every wait of the schedule
    assert outcomes == {"retry": W.MAX_ATTEMPTS - 1, "failed": 1}
    [d] = webhooks.list_deliveries(db, endpoint["id"], workspace_id=1)
    assert d["status"] == "FAILED" and len(d["log"]) == W.MAX_ATTEMPTS
    replayed = webhooks.replay_delivery(db, endpoint["id"], d["id"], workspace_id=1, now=now)
    assert replayed["status"] == "PENDING" and replayed["attempts"] == 0
    assert deliver(db, receiver, now) == {"delivered": 1}


def test_an_endpoint_failing_for_days_is_disabled_and_says_so(db: Session) -> None:
    endpoint = register(db)
    add_event(db, EventType.UNSUBSCRIBED, None)
    receiver = Receiver(*([500] * 20))
    assert deliver(db, receiver, T0, disable_after=timedelta(days=2)) == {"retry": 1}
    add_event(db, EventType.UNSUBSCRIBED, None)
    out = deliver(db, receiver, T0 + timedelta(days=2), disable_after=timedelta(days=2))
    assert out.get("disabled") == 1
    [listed] = webhooks.list_webhooks(db, workspace_id=1)
    assert not listed["enabled"]
    assert "no successful delivery for 2.0 days" in listed["disabled_reason"]
    assert listed["deliveries"].get("PENDING", 0) == 0
    event = db.scalar(select(EventDB).where(EventDB.type == "WEBHOOK_DISABLED"))
    assert event is not None and event.detail["endpoint_id"] == endpoint["id"]
    # Disabled: new events are not queued for it, nothing is sent.
    add_event(db, EventType.UNSUBSCRIBED, None)
    sent = len(receiver.requests)
    assert deliver(db, receiver, T0 + timedelta(days=3)) == {}
    assert len(receiver.requests) == sent
    webhooks.enable_webhook(db, endpoint["id"], workspace_id=1)
    add_event(db, EventType.UNSUBSCRIBED, None)
    assert deliver(db, receiver, datetime.now(UTC) + timedelta(days=4)) == {"retry": 1}


def test_a_private_address_is_refused_at_registration_and_nothing_is_dialled(db: Session) -> None:
    receiver = Receiver()
    with pytest.raises(ValidationError, match=r"10\.0\.0\.7") as err:
        webhooks.register_webhook(
            db, URL, "email.replied", workspace_id=1, resolver=private_resolver
        )
    assert err.value.field == "url"
    for bad in (
        "http://hooks.receiver-corp.com/x",
        "https://169.254.169.254/latest",
        "ftp://x.com/",
    ):
        with pytest.raises(ValidationError):
            webhooks.register_webhook(
                db, bad, "email.replied", workspace_id=1, resolver=public_resolver
            )
    assert receiver.requests == []
    assert webhooks.list_webhooks(db, workspace_id=1) == []


def test_a_host_that_turns_private_is_refused_at_delivery_and_nothing_is_dialled(
    db: Session,
) -> None:
    endpoint = register(db)  # resolved to a public address then
    add_event(db, EventType.UNSUBSCRIBED, None)
    receiver = Receiver()
    out = webhooks.deliver_due(
        db,
        worker="w1",
        now=T0,
        clock=lambda: T0,
        resolver=private_resolver,  # DNS now answers with a private address
        transport=receiver.transport,
    )
    assert out == {"retry": 1}
    assert receiver.requests == []
    [d] = webhooks.list_deliveries(db, endpoint["id"], workspace_id=1)
    assert "10.0.0.7" in d["log"][0]["error"] and d["log"][0]["status_code"] is None


def test_a_redirect_is_not_followed(db: Session) -> None:
    register(db)
    add_event(db, EventType.UNSUBSCRIBED, None)
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(302, headers={"location": "http://169.254.169.254/"})

    out = webhooks.deliver_due(
        db,
        worker="w1",
        now=T0,
        clock=lambda: T0,
        resolver=public_resolver,
        transport=httpx.MockTransport(answer),
    )
    assert out == {"retry": 1} and len(sent) == 1
    [d] = deliveries(db)
    assert d.last_status_code == 302 and "not followed" in (d.last_error or "")


def test_one_workspace_cannot_see_or_replay_anothers_endpoints(db: Session) -> None:
    other = accounts.create_workspace(db, "bolt")
    theirs = register(db, ws=other["id"])
    add_event(db, EventType.UNSUBSCRIBED, None, ws=other["id"])
    [d] = deliveries(db)
    assert webhooks.list_webhooks(db, workspace_id=1) == []
    for call in (
        lambda: webhooks.list_deliveries(db, theirs["id"], workspace_id=1),
        lambda: webhooks.replay_delivery(db, theirs["id"], d.id, workspace_id=1),
        lambda: webhooks.rotate_secret(db, theirs["id"], workspace_id=1),
        lambda: webhooks.delete_webhook(db, theirs["id"], workspace_id=1),
    ):
        with pytest.raises(NotFoundError):
            call()
    # An event of workspace 1 never reaches workspace 2's endpoint.
    add_event(db, EventType.UNSUBSCRIBED, None, ws=1)
    assert len(deliveries(db)) == 1


def test_rotation_signs_with_both_secrets_for_a_day(db: Session) -> None:
    endpoint = register(db)
    rotated = webhooks.rotate_secret(db, endpoint["id"], workspace_id=1, now=T0)
    assert rotated["secret"] != endpoint["secret"]
    add_event(db, EventType.UNSUBSCRIBED, None)
    receiver = Receiver()
    deliver(db, receiver, T0 + timedelta(hours=1))
    request = receiver.requests[0]
    ts = int(request.headers["webhook-timestamp"])
    header = request.headers["webhook-signature"].split(" ")
    assert header == [
        W.sign(rotated["secret"], request.headers["webhook-id"], ts, request.content),
        W.sign(endpoint["secret"], request.headers["webhook-id"], ts, request.content),
    ]
    count = db.scalar(select(func.count()).select_from(WebhookDeliveryDB))
    assert count == 1


def test_an_endpoint_whose_secret_cannot_be_read_fails_alone(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret stored under another key fails its own deliveries, not the others'."""
    broken = register(db, "lead.unsubscribed")
    good = register(db, "lead.unsubscribed")
    row = db.get(WebhookEndpointDB, broken["id"])
    assert row is not None
    key = get_settings().get_secret_key()
    monkeypatch.setenv("AICMO_SECRET_KEY", "another-key-entirely-for-this-test")
    get_settings.cache_clear()
    row.secret = encrypt_secret("whsec_AAAA")
    db.commit()
    monkeypatch.setenv("AICMO_SECRET_KEY", key)
    get_settings.cache_clear()
    add_event(db, EventType.UNSUBSCRIBED, None)
    receiver = Receiver()
    assert deliver(db, receiver, T0) == {"retry": 1, "delivered": 1}
    assert len(receiver.requests) == 1
    [failed] = webhooks.list_deliveries(db, broken["id"], workspace_id=1)
    assert "cannot be decrypted" in failed["log"][0]["error"]
    assert webhooks.list_deliveries(db, good["id"], workspace_id=1)[0]["status"] == "SUCCEEDED"


def test_an_idle_tick_claims_nothing(db: Session) -> None:
    register(db)
    receiver = Receiver()
    assert deliver(db, receiver, T0) == {}
    assert receiver.requests == []
