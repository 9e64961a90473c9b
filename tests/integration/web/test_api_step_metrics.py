"""GET /api/v1/campaigns/{id}/metrics/steps over real HTTP: figures per step and channel
from the rollups, the channel figures beside it unchanged, other workspaces kept out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam import repository as repo
from aicmo.cam.db_models import OutreachMessageDB
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.config import get_settings
from aicmo.operator_services import accounts
from aicmo.operator_services import campaigns as campaign_service
from aicmo.operator_services.engine.tick import run_due
from aicmo.operator_services.uow import unit_of_work, utcnow
from aicmo.web.app import create_app
from tests.http_server import serve

API = "/api/v1"
STEPS: list[dict[str, Any]] = [
    {"channel": "EMAIL", "template": {"subject": "Hi", "body": "Hello"}},
    {"channel": "EMAIL", "delay_hours": 24, "template": {"subject": "Again", "body": "Hi"}},
]


@pytest.fixture
def api(db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with serve(create_app()) as base:
        yield base


def test_step_figures_come_from_the_rollups_and_stay_in_their_workspace(
    api: str, db: Session
) -> None:
    now = utcnow()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # Two days back, and today (whatever the hour the test runs at).
    before, today = midnight - timedelta(days=2) + timedelta(hours=12), midnight
    for k in range(2):
        ops.create_lead(db, email=f"s{k}@lead.example", tags=["t"])
    cid = campaign_service.create_campaign(db, "steps", steps=STEPS, audience={"tag": "t"})["id"]
    campaign_service.start_campaign(db, "steps", now=before)
    run_due(db, now=before, worker="w")
    run_due(db, now=today, worker="w")
    first = db.scalars(
        select(OutreachMessageDB).where(OutreachMessageDB.step_index == 0).limit(1)
    ).one()
    with unit_of_work(db):
        for type_, detail in (
            (EventType.REPLY_RECEIVED, {}),
            (EventType.REPLY_CATEGORIZED, {"category": "interested", "previous": None}),
        ):
            repo.add_event(
                db,
                1,
                OutreachEvent(type=type_, occurred_at=now, channel="EMAIL", detail=detail),
                lead_id=first.lead_id,
                campaign_id=cid,
                message_id=first.id,
                step_index=0,
            )
    key = accounts.create_api_key(db, workspace_id=1, name="v", role="viewer")["key"]
    h = {"Authorization": f"Bearer {key}"}
    r = httpx.get(f"{api}{API}/campaigns/{cid}/metrics/steps?days=7", headers=h)
    assert r.status_code == 200, r.text
    steps = {(s["step"], s["channel"]): s for s in r.json()}
    assert set(steps) == {(0, "EMAIL"), (1, "EMAIL")}
    assert [steps[(i, "EMAIL")]["sent"] for i in (0, 1)] == [2, 2]
    assert (steps[(0, "EMAIL")]["replied"], steps[(0, "EMAIL")]["positive_replied"]) == (1, 1)
    assert steps[(0, "EMAIL")]["positive_reply_rate"] == 50.0
    assert steps[(1, "EMAIL")]["reply_rate"] == 0.0
    # The channel figures keep their shape and agree with the steps'.
    channels = httpx.get(f"{api}{API}/campaigns/{cid}/metrics?days=7", headers=h).json()
    assert channels["EMAIL"]["sent"] == 4 and channels["EMAIL"]["replied"] == 1
    # The last day only: the first step's sends are two days old.
    today = httpx.get(f"{api}{API}/campaigns/{cid}/metrics/steps?days=1", headers=h).json()
    assert {(s["step"], s["sent"]) for s in today} == {(0, 0), (1, 2)}
    # Another workspace's key does not see the campaign.
    accounts.create_workspace(db, "other")
    other_ws = accounts.resolve_workspace(db, "other").id
    other = accounts.create_api_key(db, workspace_id=other_ws, name="o", role="viewer")["key"]
    hidden = httpx.get(
        f"{api}{API}/campaigns/{cid}/metrics/steps", headers={"Authorization": f"Bearer {other}"}
    )
    assert hidden.status_code == 404
    schema = httpx.get(f"{api}/openapi.json").json()
    body = schema["paths"][f"{API}/campaigns/{{campaign_id}}/metrics/steps"]["get"]["responses"]
    assert body["200"]["content"]["application/json"]["schema"]["items"]["$ref"].endswith(
        "StepFigures"
    )
