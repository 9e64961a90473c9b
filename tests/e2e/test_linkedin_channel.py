"""The LinkedIn channel through a provider account, against a loopback server speaking
Unipile's API v1: request → acceptance → message → reply stops the sequence; caps and
a restricted account."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EnrollmentDB, EventDB, LinkedInAccountDB
from aicmo.config import Settings, get_settings
from aicmo.errors import ValidationError
from aicmo.operator_services import campaigns
from aicmo.operator_services.channels import linkedin_accounts as linkedin
from aicmo.operator_services.engine.tick import run_due
from aicmo.transports.unipile import UnipileClient, UnipileConfig
from tests.http_server import serve
from tests.linkedin_provider import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_API_KEY,
    ProviderState,
    create_provider_app,
)

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
STEPS: list[dict[str, Any]] = [
    {
        "channel": "LINKEDIN",
        "template": {
            "body": "Hi {{ first_name }}, thanks for connecting.",
            "note": "Hi {{ first_name }}, glad to connect.",
        },
    },
    {"channel": "LINKEDIN", "delay_hours": 72, "template": {"body": "A follow-up."}},
]


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ProviderState, str]]:
    state = ProviderState()
    monkeypatch.setenv("AICMO_ALLOW_LOOPBACK", "1")  # the provider is on 127.0.0.1
    get_settings.cache_clear()
    with serve(create_provider_app(state)) as base:

        def factory(account: LinkedInAccountDB, settings: Settings) -> UnipileClient:
            client = linkedin.unipile_for(account, settings)
            assert isinstance(client, UnipileClient)
            return client

        monkeypatch.setattr(linkedin, "provider_factory", factory)
        yield state, base


def setup(db: Session, base: str, state: ProviderState, **caps: Any) -> tuple[int, str]:
    profile = state.add_profile("ada-lovelace", "Ada", "Lovelace")
    linkedin.add_linkedin_account(
        db, "alex", base_url=base, account_ref=DEFAULT_ACCOUNT_ID, api_key=DEFAULT_API_KEY, **caps
    )
    lead_id: int = ops.create_lead(
        db,
        first_name="Ada",
        linkedin_url="https://www.linkedin.com/in/ada-lovelace/",
        tags=["li"],
    )["id"]
    campaigns.create_campaign(db, "LI", steps=STEPS, audience={"tag": "li"}, now=T0)
    campaigns.start_campaign(db, "LI", now=T0)
    return lead_id, profile.provider_id


def enrollment(db: Session) -> EnrollmentDB:
    db.rollback()
    row: EnrollmentDB | None = db.scalar(select(EnrollmentDB))
    assert row is not None
    return row


def test_request_then_acceptance_then_message_then_a_reply_stops_the_sequence(
    db: Session, provider: tuple[ProviderState, str]
) -> None:
    state, base = provider
    lead_id, provider_id = setup(db, base, state)
    assert run_due(db, now=T0, worker="w")["by_outcome"] == {"waiting": 1}
    [invite] = state.requests_to("POST", "/api/v1/users/invite")
    assert invite.json["provider_id"] == provider_id
    assert invite.json["message"] == "Hi Ada, glad to connect."
    e = enrollment(db)
    assert (e.state, e.step_index, e.next_run_at) == ("ACTIVE", 0, T0 + timedelta(hours=6))
    lead = ops.get_lead(db, lead_id)
    assert lead["linkedin_id"] == provider_id  # the provider id is kept for replies

    # The request is a touch: the lead's 24 h minimum gap applies before the next look.
    assert run_due(db, now=T0 + timedelta(hours=6), worker="w")["by_outcome"] == {"lead limit": 1}
    assert enrollment(db).next_run_at == T0 + timedelta(hours=24)
    # Not accepted yet: looked at again, nothing sent twice.
    assert run_due(db, now=T0 + timedelta(hours=24), worker="w")["by_outcome"] == {"waiting": 1}
    assert len(state.requests_to("POST", "/api/v1/users/invite")) == 1

    state.accept_invitation(provider_id)
    at = T0 + timedelta(hours=30)
    assert run_due(db, now=at, worker="w")["by_outcome"] == {"advance": 1}
    [chat] = state.requests_to("POST", "/api/v1/chats")
    assert ("text", "Hi Ada, thanks for connecting.") in (chat.form or [])
    history = ops.get_outreach_history(db, lead_id=lead_id)
    assert [(m["message_type"], m["status"]) for m in history] == [
        ("linkedin_message", "SENT"),
        ("linkedin_invite", "SENT"),
    ]
    assert history[0]["details"]["chat_id"]
    types = set(db.scalars(select(EventDB.type).where(EventDB.lead_id == lead_id)))
    assert {"CONNECTION_REQUESTED", "CONNECTION_ACCEPTED", "MESSAGE_SENT"} <= types

    state.add_reply(provider_id, "Sounds good, let's talk", at=at + timedelta(hours=1))
    polled = linkedin.poll_linkedin(db, now=at + timedelta(hours=2))
    assert polled["replies"] == 1
    assert linkedin.poll_linkedin(db, now=at + timedelta(hours=3))["replies"] == 0  # once
    assert run_due(db, now=at + timedelta(hours=80), worker="w")["by_outcome"] == {"stopped": 1}
    assert enrollment(db).state == "STOPPED"
    assert ops.get_lead(db, lead_id)["stage"] == "ENGAGED"
    assert ops.get_outreach_history(db, lead_id=lead_id)[0]["status"] == "REPLIED"


def test_an_unanswered_request_falls_back_after_two_weeks(
    db: Session, provider: tuple[ProviderState, str]
) -> None:
    state, base = provider
    setup(db, base, state)
    run_due(db, now=T0, worker="w")
    assert run_due(db, now=T0 + timedelta(days=3), worker="w")["by_outcome"] == {"waiting": 1}
    run_due(db, now=T0 + timedelta(days=14), worker="w")
    e = enrollment(db)
    assert e.state == "FAILED" and "not accepted within 14 days" in (e.stop_reason or "")


def test_the_account_invitation_cap_reschedules_instead_of_sending(
    db: Session, provider: tuple[ProviderState, str]
) -> None:
    state, base = provider
    setup(db, base, state, invites_per_day=0)
    r = run_due(db, now=T0, worker="w")
    assert r["by_outcome"] == {"rate limited": 1}, enrollment(db).stop_reason
    assert state.requests_to("POST", "/api/v1/users/invite") == []
    assert enrollment(db).next_run_at == T0 + timedelta(days=1)


def test_a_restricted_account_is_paused_with_an_event_and_the_step_waits(
    db: Session, provider: tuple[ProviderState, str]
) -> None:
    state, base = provider
    setup(db, base, state)
    state.restricted = True
    assert run_due(db, now=T0, worker="w")["by_outcome"] == {"rate limited": 1}
    [account] = linkedin.list_linkedin_accounts(db)
    assert account["status"] == "PAUSED" and account["status_reason"]
    assert db.scalar(select(EventDB.id).where(EventDB.type == "ACCOUNT_PAUSED")) is not None
    # Paused: the next tick does not call the provider at all.
    before = len(state.requests)
    assert run_due(db, now=T0 + timedelta(hours=7), worker="w")["by_outcome"] == {"rate limited": 1}
    assert len(state.requests) == before
    state.restricted = False
    linkedin.resume_linkedin_account(db, "alex")
    assert run_due(db, now=T0 + timedelta(hours=14), worker="w")["by_outcome"] == {"waiting": 1}


def test_an_unknown_profile_falls_back_to_the_next_channel(
    db: Session, provider: tuple[ProviderState, str]
) -> None:
    _, base = provider
    linkedin.add_linkedin_account(
        db, "alex", base_url=base, account_ref=DEFAULT_ACCOUNT_ID, api_key=DEFAULT_API_KEY
    )
    ops.create_lead(
        db,
        email="nobody@acme.example",
        linkedin_url="https://www.linkedin.com/in/nobody-here",
        tags=["li"],
    )
    steps: list[dict[str, Any]] = [
        {
            "channel": "LINKEDIN",
            "fallback": ["EMAIL"],
            "template": {"subject": "Hello", "body": "Hello there."},
        }
    ]
    campaigns.create_campaign(db, "LI", steps=steps, audience={"tag": "li"}, now=T0)
    campaigns.start_campaign(db, "LI", now=T0)
    assert run_due(db, now=T0, worker="w")["by_outcome"] == {"fallback": 1}
    assert run_due(db, now=T0, worker="w")["by_outcome"] == {"complete": 1}
    [email, li] = ops.get_outreach_history(db)
    assert li["channel"] == "LINKEDIN" and "not found" in (li["error"] or "").lower()
    assert email["channel"] == "EMAIL" and email["status"] == "SENT"


def test_the_api_key_is_stored_encrypted_and_never_listed(
    db: Session, provider: tuple[ProviderState, str]
) -> None:
    state, base = provider
    setup(db, base, state)
    row = db.scalar(select(LinkedInAccountDB))
    assert row is not None and DEFAULT_API_KEY not in row.api_key
    assert DEFAULT_API_KEY not in repr(linkedin.list_linkedin_accounts(db))
    assert DEFAULT_API_KEY not in repr(
        UnipileConfig(base_url=base, api_key=DEFAULT_API_KEY, account_id="x")
    )


def test_a_profile_suppressed_by_its_public_id_is_not_messaged_when_the_lead_has_its_provider_id(
    db: Session, provider: tuple[ProviderState, str]
) -> None:
    state, base = provider
    profile = state.add_profile("grace-hopper", "Grace", "Hopper", network_distance="FIRST_DEGREE")
    linkedin.add_linkedin_account(
        db, "alex", base_url=base, account_ref=DEFAULT_ACCOUNT_ID, api_key=DEFAULT_API_KEY
    )
    ops.add_suppression(db, "https://www.linkedin.com/in/grace-hopper", reason="unsubscribed")
    lead = ops.create_lead(
        db, linkedin_url=f"https://www.linkedin.com/in/{profile.provider_id}", tags=["li"]
    )
    result = ops.send_outreach_message(db, lead["id"], "Hello", channel="LINKEDIN")
    assert result["status"] == "SUPPRESSED", result["error"]
    assert "grace-hopper" in result["error"]
    assert state.requests_to("POST", "/api/v1/chats") == []


def test_a_provider_url_without_tls_is_refused(db: Session) -> None:
    with pytest.raises(ValidationError, match="clear text"):
        linkedin.add_linkedin_account(
            db, "alex", base_url="http://api1.unipile.example:13111", account_ref="a", api_key="k"
        )


def test_a_failed_profile_lookup_reschedules_without_using_the_step(
    db: Session, provider: tuple[ProviderState, str]
) -> None:
    state, base = provider
    setup(db, base, state)
    state.fail_next(503, "errors/network_down", method="GET", path_prefix="/api/v1/users/")
    assert run_due(db, now=T0, worker="w")["by_outcome"] == {"rate limited": 1}
    assert ops.get_outreach_history(db) == []  # nothing recorded under the step's key
    assert enrollment(db).next_run_at == T0 + timedelta(hours=1)
    assert run_due(db, now=T0 + timedelta(hours=1), worker="w")["by_outcome"] == {"waiting": 1}
