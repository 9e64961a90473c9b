"""``/api/v1/replies`` over real HTTP: the inbox newest first with filters and cursors,
and the operator's correction (recorded with who made it; problems name the field)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB
from aicmo.config import get_settings
from aicmo.operator_services import accounts
from aicmo.operator_services.inbound.processing import process_inbound_message
from aicmo.web.app import create_app
from tests.http_server import serve

API = "/api/v1"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TEXTS = [
    "Tell me more.",
    "Not interested.",
    "I'm no longer with the company, please contact my colleague.",
    "Let's talk next week.",
    "Who are you?",
]


@pytest.fixture
def api(db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with serve(create_app()) as base:
        yield base


def keys(db: Session) -> dict[str, dict[str, str]]:
    out = {}
    for role in ("viewer", "operator"):
        key = accounts.create_api_key(db, workspace_id=1, name=role, role=role)
        out[role] = {"Authorization": f"Bearer {key['key']}", "id": str(key["id"])}
    return out


def replies_arrive(db: Session) -> None:
    for i, text in enumerate(TEXTS):
        email = f"p{i}@lead.example"
        ops.create_lead(db, email=email)
        raw = (
            f"From: {email}\r\nTo: me@agency.example\r\nSubject: Re: Hi\r\n"
            f"Message-ID: <r{i}@lead.example>\r\n\r\n{text}\r\n"
        ).encode()
        process_inbound_message(db, raw, received_at=T0 + timedelta(minutes=i))


def test_the_inbox_pages_newest_first_and_filters(api: str, db: Session) -> None:
    h = keys(db)["viewer"]
    replies_arrive(db)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = httpx.get(f"{api}{API}/replies", params=params, headers=h).json()
        seen += [row["snippet"] for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(TEXTS))
    interested = httpx.get(f"{api}{API}/replies?category=interested", headers=h).json()["items"]
    assert [(r["snippet"], r["rule"]) for r in interested] == [
        ("Let's talk next week.", "interested"),
        ("Tell me more.", "interested"),
    ]
    wrong = httpx.get(f"{api}{API}/replies?category=wrong_person", headers=h).json()["items"]
    assert [r["rule"] for r in wrong] == ["wrong-person"]
    assert httpx.get(f"{api}{API}/replies?channel=LINKEDIN", headers=h).json()["items"] == []
    bad = httpx.get(f"{api}{API}/replies?category=keen", headers=h)
    assert bad.status_code == 422


def test_an_operator_corrects_a_category_and_a_viewer_cannot(api: str, db: Session) -> None:
    h = keys(db)
    replies_arrive(db)
    [other] = httpx.get(f"{api}{API}/replies?category=other", headers=h["viewer"]).json()["items"]
    url = f"{api}{API}/replies/{other['id']}/category"
    body = {"category": "interested"}
    assert httpx.put(url, json=body, headers=h["viewer"]).status_code == 403

    done = httpx.put(url, json=body, headers=h["operator"])
    assert done.status_code == 200, done.text
    assert (done.json()["category"], done.json()["rule"], done.json()["changed"]) == (
        "interested",
        "operator",
        True,
    )
    again = httpx.put(url, json=body, headers=h["operator"]).json()
    assert again["changed"] is False
    db.expire_all()
    corrections = list(
        db.scalars(
            select(EventDB).where(EventDB.type == "REPLY_CATEGORIZED", EventDB.source == "operator")
        )
    )
    assert len(corrections) == 1
    assert corrections[0].actor == f"api-key#{h['operator']['id']}"
    assert corrections[0].detail["previous"] == "other"

    wrong = httpx.put(url, json={"category": "keen"}, headers=h["operator"])
    assert wrong.status_code == 422 and wrong.headers["content-type"].startswith(
        "application/problem+json"
    )
    extra = httpx.put(url, json={"category": "other", "why": "x"}, headers=h["operator"])
    assert extra.status_code == 422
    missing = httpx.put(f"{api}{API}/replies/99999/category", json=body, headers=h["operator"])
    assert missing.status_code == 404
