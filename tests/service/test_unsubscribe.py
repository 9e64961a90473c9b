"""Unsubscribe links: signed tokens, the RFC 8058 one-click POST, the human page."""

from __future__ import annotations

import email
import email.policy
import re
from typing import Any

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from itsdangerous import URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB
from aicmo.cam.unsubscribe_token import UnsubscribeClaim, make_token, read_token
from aicmo.config import get_settings
from aicmo.errors import ValidationError
from aicmo.operator_services.inbound.unsubscribe import unsubscribe_by_token
from aicmo.web.app import create_app
from tests.http_server import serve

KEY = "test-secret-key-0123456789-abcdefghijklmnop"


def sent_token(db: Session, email_address: str, **fields: Any) -> tuple[int, str]:
    """Send one email to the outbox and return (lead id, the token in its link)."""
    lead = ops.create_lead(db, email=email_address, **fields)
    ops.send_outreach_message(db, lead["id"], "Hi", "Hello")
    path = next(get_settings().resolved_outbox_dir.rglob("*.eml"))
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    match = re.search(r"/u/([^>]+)>", str(msg["List-Unsubscribe"]))
    assert match is not None
    return lead["id"], match.group(1)


def test_tokens_round_trip_refuse_tampering_and_carry_no_address() -> None:
    claim = UnsubscribeClaim(workspace_id=1, message_id=7)
    token = make_token(KEY, claim)
    assert read_token(KEY, token) == claim
    with pytest.raises(ValidationError):
        read_token("another-key", token)
    with pytest.raises(ValidationError):
        read_token(KEY, token[:-2] + ("AA" if not token.endswith("AA") else "BB"))


@settings(max_examples=200, deadline=None)
@example(workspace_id=1, message_id=1_249_999_999_999_999_999)  # compresses shorter
@given(
    workspace_id=st.integers(min_value=1, max_value=2**31),
    message_id=st.integers(min_value=1, max_value=2**63),
)
def test_tokens_are_exactly_the_serializers_own(workspace_id: int, message_id: int) -> None:
    """Links already sent must keep working: the token is the one itsdangerous makes."""
    claim = UnsubscribeClaim(workspace_id=workspace_id, message_id=message_id)
    expected = URLSafeSerializer(KEY, salt="aicmo.unsubscribe.v1").dumps([workspace_id, message_id])
    assert make_token(KEY, claim) == expected
    assert read_token(KEY, expected) == claim


def test_the_link_in_a_sent_email_carries_no_address(db: Session) -> None:
    _, token = sent_token(db, "jane@acme.example")
    import base64

    payload = token.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b"jane" not in decoded.lower()


def test_unsubscribe_suppresses_at_once_and_is_idempotent(db: Session) -> None:
    lead_id, token = sent_token(db, "jane@acme.example", title="CEO")
    first = unsubscribe_by_token(db, token, source="one-click")
    second = unsubscribe_by_token(db, token)
    assert first["already"] is False and second["already"] is True
    hit = ops.check_suppression(db, email="jane@acme.example")
    assert hit is not None and hit["reason"] == "UNSUBSCRIBED"
    assert ops.get_lead(db, lead_id)["grade"] == "D"  # regraded: unsubscribed
    events = list(db.scalars(select(EventDB.type).where(EventDB.type == "UNSUBSCRIBED")))
    assert events == ["UNSUBSCRIBED"]
    assert ops.get_channel_metrics(db)["EMAIL"]["unsubscribed"] == 1
    assert ops.get_outreach_history(db, lead_id=lead_id)[0]["status"] == "UNSUBSCRIBED"


def test_a_link_of_an_erased_person_still_answers(db: Session) -> None:
    _, token = sent_token(db, "jane@acme.example")
    ops.forget_person(db, "jane@acme.example")
    assert unsubscribe_by_token(db, token)["already"] is True


def test_one_click_post_and_human_page(
    db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = sent_token(db, "jane@acme.example")
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with serve(create_app()) as base:
        client = httpx.Client(base_url=base)
        page = client.get(f"/u/{token}")
        assert page.status_code == 200 and "j***@acme.example" in page.text
        assert "<form" in page.text
        db.rollback()
        assert ops.check_suppression(db, email="jane@acme.example") is None  # GET never does it
        one_click = client.post(
            f"/u/{token}",
            content="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert one_click.status_code == 200 and "is unsubscribed" in one_click.text
        again = client.post(f"/u/{token}")
        assert again.status_code == 200 and "already" in again.text
        assert client.post("/u/not-a-token").status_code == 400
        assert client.get("/healthz").json()["status"] == "ok"
    db.rollback()
    assert ops.check_suppression(db, email="jane@acme.example") is not None
