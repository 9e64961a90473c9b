"""``/api/v1/costs`` and ``/api/v1/analytics/attribution`` over real HTTP, on a database
holding a real history (``tests.attribution_history``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from aicmo.config import get_settings
from aicmo.operator_services import accounts
from aicmo.web.app import create_app
from tests.attribution_history import make_history
from tests.http_server import serve

API = "/api/v1"
NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def api(db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with serve(create_app()) as base:
        yield base


def keys(db: Session, workspace_id: int) -> dict[str, dict[str, str]]:
    out = {}
    for role in ("viewer", "admin"):
        key = accounts.create_api_key(db, workspace_id=workspace_id, name=role, role=role)["key"]
        out[role] = {"Authorization": f"Bearer {key}"}
    return out


def test_admins_set_costs_viewers_read_them_and_the_report(api: str, db: Session) -> None:
    make_history(db)
    mine = keys(db, 1)
    other_ws = accounts.create_workspace(db, "other")["id"]
    theirs = keys(db, other_ws)

    body = {"channel": "EMAIL", "monthly": 30, "per_action": "0.10", "currency": "EUR"}
    refused = httpx.put(f"{api}{API}/costs", json=body, headers=mine["viewer"])
    assert refused.status_code == 403
    put = httpx.put(f"{api}{API}/costs", json=body, headers=mine["admin"])
    assert put.status_code == 200, put.text
    assert (put.json()["monthly"], put.json()["per_action"]) == ("30.00", "0.10")
    linkedin = {"channel": "LINKEDIN", "per_action": 2}
    assert httpx.put(f"{api}{API}/costs", json=linkedin, headers=mine["admin"]).status_code == 200
    listed = httpx.get(f"{api}{API}/costs", headers=mine["viewer"]).json()
    assert [(c["name"], c["currency"]) for c in listed] == [("EMAIL", "EUR"), ("LINKEDIN", "EUR")]
    assert httpx.get(f"{api}{API}/costs", headers=theirs["viewer"]).json() == []

    second = {"channel": "EMAIL", "monthly": 1, "currency": "USD"}
    problem = httpx.put(f"{api}{API}/costs", json=second, headers=mine["admin"])
    assert problem.status_code == 422 and problem.json()["field"] == "currency"
    both = {"channel": "EMAIL", "mailbox": "x", "monthly": 1}
    assert httpx.put(f"{api}{API}/costs", json=both, headers=mine["admin"]).status_code == 422
    nobox = {"mailbox": "nope", "monthly": 1}
    assert httpx.put(f"{api}{API}/costs", json=nobox, headers=mine["admin"]).status_code == 404
    negative = {"channel": "EMAIL", "monthly": -1}
    assert httpx.put(f"{api}{API}/costs", json=negative, headers=mine["admin"]).status_code == 422

    url = f"{api}{API}/analytics/attribution"
    report: dict[str, Any] = httpx.get(
        url, params={**NOVEMBER, "model": "linear"}, headers=mine["viewer"]
    ).json()
    assert (report["model"], report["from"], report["to"]) == ("linear", *NOVEMBER.values())
    rows = {(r["campaign"], r["step_index"], r["channel"], r["variant"]): r for r in report["rows"]}
    first = rows[("Q4", 0, "EMAIL", "A")]
    # Exact decimals as strings: a third of 1000 with the odd cent to the first touch.
    assert (first["won_value"], first["replies"], first["cost"]) == ("333.34", "0.3334", "6.10")
    assert first["roi"] == "53.6459"
    assert rows[(None, None, "EMAIL", None)]["roi"] == "-1.0000"
    assert report["totals"]["won_value"] == "1000.00" and report["currency"] == "EUR"
    assert report["unattributed"]["by_kind"]["reply"]["count"] == 1

    q4 = httpx.get(url, params={**NOVEMBER, "campaign": "Q4"}, headers=mine["viewer"]).json()
    assert {r["campaign"] for r in q4["rows"]} == {"Q4"} and q4["totals"]["cost"] == "26.40"
    nothing = httpx.get(url, params=NOVEMBER, headers=theirs["viewer"]).json()
    assert nothing["rows"] == [] and nothing["outcomes"]["reply"] == 0
    hidden = httpx.get(url, params={**NOVEMBER, "campaign": "Q4"}, headers=theirs["viewer"])
    assert hidden.status_code == 404

    bad = httpx.get(url, params={**NOVEMBER, "model": "time_decay"}, headers=mine["viewer"])
    assert bad.status_code == 422 and bad.json()["field"] == "model"
    backwards = httpx.get(
        url, params={"from": "2026-11-30", "to": "2026-11-01"}, headers=mine["viewer"]
    )
    assert backwards.status_code == 422
    assert httpx.get(url, params={"from": "soon"}, headers=mine["viewer"]).status_code == 422
    # No period given: the last 30 days, which hold none of this November's history.
    recent = httpx.get(url, headers=mine["viewer"])
    assert recent.status_code == 200 and recent.json()["model"] == "linear"
