"""Webhooks out over the REST API (uvicorn on loopback), then delivered by a worker tick
to a receiver on loopback: the secret is shown once, the log and replay are the admin's."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.orm import Session

from aicmo.cam.auto import run_once
from aicmo.config import get_settings
from aicmo.operator_services import accounts
from aicmo.web.app import create_app
from tests.http_server import serve
from tests.webhook_receiver import receiver

API = "/api/v1"


@pytest.fixture
def api(db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    monkeypatch.setenv("AICMO_ALLOW_LOOPBACK", "1")  # the receiver is on 127.0.0.1
    get_settings.cache_clear()
    with serve(create_app()) as base:
        yield base + API


def key(db: Session, role: str, workspace_id: int = 1) -> dict[str, str]:
    made = accounts.create_api_key(db, workspace_id=workspace_id, name=role, role=role)
    return {"Authorization": f"Bearer {made['key']}"}


def test_an_admin_registers_a_webhook_a_tick_delivers_and_the_admin_replays(
    api: str, db: Session
) -> None:
    admin, operator = key(db, "admin"), key(db, "operator")
    with receiver() as rx:
        body = {"url": rx.url, "events": ["lead.created"], "description": "CRM sync"}
        assert httpx.post(f"{api}/webhooks", json=body, headers=operator).status_code == 403
        bad = httpx.post(f"{api}/webhooks", json={**body, "events": ["lead.made"]}, headers=admin)
        assert bad.status_code == 422 and bad.json()["field"] == "events"
        made = httpx.post(f"{api}/webhooks", json=body, headers=admin)
        assert made.status_code == 201, made.text
        hook = made.json()
        rx.secret = hook["secret"]
        listed = httpx.get(f"{api}/webhooks", headers=admin).json()["items"]
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

        lead = httpx.post(f"{api}/leads", json={"email": "jo@acme.example"}, headers=operator)
        assert lead.status_code == 201
        figures = run_once(db)
        assert figures.get("webhooks_delivered") == 1, figures
        assert [r.verified for r in rx.received] == [True]

        page = httpx.get(f"{api}/webhooks/{hook['id']}/deliveries", headers=admin).json()
        [d] = page["items"]
        assert d["status"] == "SUCCEEDED" and d["type"] == "lead.created"
        assert d["log"][0]["status_code"] == 200 and d["webhook_id"] == rx.received[0].webhook_id
        replay = httpx.post(
            f"{api}/webhooks/{hook['id']}/deliveries/{d['id']}/replay", headers=admin
        )
        assert replay.status_code == 200 and replay.json()["status"] == "PENDING"
        assert run_once(db).get("webhooks_delivered") == 1
        assert [r.webhook_id for r in rx.received] == [d["webhook_id"]] * 2

        rotated = httpx.post(f"{api}/webhooks/{hook['id']}/rotate-secret", headers=admin)
        assert rotated.json()["secret"] not in (hook["secret"], None)
        gone = httpx.delete(f"{api}/webhooks/{hook['id']}", headers=admin)
        assert gone.status_code == 200
        assert httpx.get(f"{api}/webhooks", headers=admin).json()["items"] == []


def test_a_url_resolving_to_a_private_address_is_a_422_naming_the_field(
    api: str, db: Session
) -> None:
    r = httpx.post(
        f"{api}/webhooks",
        json={"url": "https://10.1.2.3/in", "events": ["email.replied"]},
        headers=key(db, "admin"),
    )
    assert r.status_code == 422 and r.json()["field"] == "url"
    assert "10.1.2.3 is" in r.json()["detail"]
