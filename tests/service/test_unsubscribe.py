"""Unsubscribe links: signed tokens, the RFC 8058 one-click POST, the human page."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB
from aicmo.cam.unsubscribe import UnsubscribeClaim, make_token, read_token
from aicmo.config import get_settings
from aicmo.errors import ValidationError
from aicmo.operator_services.unsubscribe import unsubscribe_by_token
from aicmo.web.app import create_app
from tests.http_server import serve

KEY = "test-secret-key-0123456789-abcdefghijklmnop"


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("AICMO_SECRET_KEY", KEY)
    get_settings.cache_clear()
    return KEY


def test_tokens_round_trip_and_refuse_tampering() -> None:
    claim = UnsubscribeClaim(workspace_id=1, email_key="jane@acme.example", message_id=7)
    token = make_token(KEY, claim)
    assert read_token(KEY, token) == claim
    assert "jane" not in token.lower() or True  # payload is signed, not secret
    with pytest.raises(ValidationError):
        read_token("another-key", token)
    with pytest.raises(ValidationError):
        read_token(KEY, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


def test_unsubscribe_suppresses_at_once_and_is_idempotent(db: Session, secret: str) -> None:
    lead = ops.create_lead(db, email="jane@acme.example", title="CEO")
    token = make_token(secret, UnsubscribeClaim(1, "jane@acme.example", None))
    first = unsubscribe_by_token(db, token, source="one-click")
    second = unsubscribe_by_token(db, token)
    assert first["already"] is False and second["already"] is True
    assert ops.check_suppression(db, email="jane@acme.example")["reason"] == "UNSUBSCRIBED"  # type: ignore[index]
    assert ops.get_lead(db, lead["id"])["grade"] == "D"  # regraded: unsubscribed
    events = list(db.scalars(select(EventDB.type).where(EventDB.type == "UNSUBSCRIBED")))
    assert events == ["UNSUBSCRIBED"]
    assert ops.get_channel_metrics(db)["EMAIL"]["unsubscribed"] == 1


def test_one_click_post_and_human_page(
    db: Session, db_url: str, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    get_settings.cache_clear()
    token = make_token(secret, UnsubscribeClaim(1, "jane@acme.example", None))
    with serve(create_app()) as base:
        client = httpx.Client(base_url=base)
        _exercise(client, db, token)


def _exercise(client: httpx.Client, db: Session, token: str) -> None:
    page = client.get(f"/u/{token}")
    assert page.status_code == 200 and "j***@acme.example" in page.text and "<form" in page.text
    assert ops.check_suppression(db, email="jane@acme.example") is None  # a GET never unsubscribes
    one_click = client.post(
        f"/u/{token}",
        content="List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert one_click.status_code == 200 and "is unsubscribed" in one_click.text
    again = client.post(f"/u/{token}")
    assert again.status_code == 200 and "already" in again.text
    db.rollback()  # end the test session's read snapshot
    assert ops.check_suppression(db, email="jane@acme.example") is not None
    bad = client.post("/u/not-a-token")
    assert bad.status_code == 400
    assert client.get("/healthz").text == "ok"
