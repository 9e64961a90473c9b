"""Reply categories on a real database: a reply arrives through the real inbound path
(IMAP processing, the LinkedIn poll) and gets a category, a REPLY_CATEGORIZED event, a
stage and a grade; the operator's correction records the category it replaces."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB, LeadDB, LinkedInAccountDB, OutreachMessageDB, ReplyDB
from aicmo.config import Settings, get_settings
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services.accounts import create_workspace
from aicmo.operator_services.channels import linkedin_accounts as linkedin
from aicmo.operator_services.crm.replies import list_replies, set_reply_category
from aicmo.operator_services.inbound.processing import process_inbound_message
from aicmo.transports.unipile import UnipileClient
from tests.factories import add_sent_email
from tests.http_server import serve
from tests.linkedin_provider import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_API_KEY,
    ProviderState,
    create_provider_app,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
OUR_ID = "<attempt-1.abc@aicmo.example>"
QUOTED_OURS = (
    "Hi Jane,\nWould a short call next week be useful? If you are not interested,\n"
    'just reply "no thanks".\n\nAlex'
)

ICAL_INVITE = (
    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example Corp//Calendar//EN\r\n"
    "METHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:call-42@example.org\r\n"
    "DTSTART:20261124T150000Z\r\nDTEND:20261124T153000Z\r\nSUMMARY:Intro call\r\n"
    "ORGANIZER:mailto:jane.doe@example.org\r\n"
    "ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:alex@aicmo.example\r\nEND:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def reply(
    body: str,
    *,
    sender: str = "jane.doe@example.org",
    msg_id: str = "<r1@example.org>",
    subject: str = "Re: Hello",
    calendar: str | None = None,
) -> bytes:
    """A human reply to our message ``OUR_ID``, with our message quoted under it."""
    msg = EmailMessage()
    msg["From"] = f"Jane Doe <{sender}>"
    msg["To"] = "Alex <alex@aicmo.example>"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(T0)
    msg["Message-ID"] = msg_id
    msg["In-Reply-To"] = OUR_ID
    msg["References"] = OUR_ID
    quoted = "\n".join(f"> {line}" for line in QUOTED_OURS.split("\n"))
    msg.set_content(f"{body}\n\nOn Thu, 19 Nov 2026, Alex <alex@aicmo.example> wrote:\n{quoted}\n")
    if calendar is not None:
        msg.add_alternative(calendar, subtype="calendar", params={"method": "REQUEST"})
    return msg.as_bytes()


def lead_with_attempt(
    db: Session, email: str = "jane.doe@example.org", *, step_index: int = 1
) -> tuple[int, int]:
    lead_id: int = ops.create_lead(db, email=email, title="CEO")["id"]
    attempt_id = add_sent_email(db, lead_id, email, OUR_ID, at=T0 - timedelta(days=1))
    row = db.get(OutreachMessageDB, attempt_id)
    assert row is not None
    row.step_index = step_index
    db.commit()
    return lead_id, attempt_id


def events(db: Session, type_: str) -> list[EventDB]:
    db.expire_all()
    return list(db.scalars(select(EventDB).where(EventDB.type == type_).order_by(EventDB.id)))


def test_an_interested_reply_is_categorised_with_its_rule_event_stage_and_grade(
    db: Session,
) -> None:
    lead_id, attempt_id = lead_with_attempt(db)
    graded_before = ops.get_lead(db, lead_id)["score"]
    raw = reply("Sounds interesting. Could you tell me more about pricing?")
    process_inbound_message(db, raw, received_at=T0)

    [row] = list_replies(db)
    assert (row["category"], row["rule"], row["channel"]) == ("interested", "interested", "EMAIL")
    assert row["lead_id"] == lead_id and row["lead_stage"] == "ENGAGED"
    assert row["subject"] == "Re: Hello" and row["sender"] == "jane.doe@example.org"
    assert row["snippet"].startswith("Sounds interesting.")
    # The quoted "not interested" / "no thanks" of our own message counted for nothing.
    [received] = events(db, "REPLY_RECEIVED")
    [categorized] = events(db, "REPLY_CATEGORIZED")
    assert categorized.detail == {
        "category": "interested",
        "previous": None,
        "rule": "interested",
        "reply_event_id": received.id,
    }
    for attr in ("lead_id", "channel", "campaign_id", "message_id"):
        assert getattr(categorized, attr) == getattr(received, attr), attr
    assert categorized.message_id == attempt_id
    stored = db.scalar(select(ReplyDB))
    assert stored is not None and stored.step_index == 1 and stored.reply_event_id == received.id
    lead = ops.get_lead(db, lead_id)
    assert "+10 replied with interest" in lead["grade_reasons"]
    assert lead["score"] > graded_before


def test_a_reply_carrying_a_calendar_invitation_books_a_meeting(db: Session) -> None:
    lead_id, _ = lead_with_attempt(db)
    process_inbound_message(db, reply("Sent you an invite.", calendar=ICAL_INVITE), received_at=T0)
    [row] = list_replies(db)
    assert (row["category"], row["rule"]) == ("meeting_booked", "calendar-part")
    assert ops.get_lead(db, lead_id)["stage"] == "MEETING"
    stages = [e.detail["to"] for e in events(db, "LEAD_STAGE_CHANGED") if e.lead_id == lead_id]
    assert stages[-2:] == ["ENGAGED", "MEETING"]


def test_a_reply_never_moves_a_lead_backwards(db: Session) -> None:
    lead_id, _ = lead_with_attempt(db)
    ops.set_stage(db, lead_id, "WON")
    process_inbound_message(db, reply("Happy to chat about the renewal."), received_at=T0)
    assert list_replies(db)[0]["category"] == "interested"
    assert ops.get_lead(db, lead_id)["stage"] == "WON"


def test_a_correction_records_the_previous_category_and_moves_the_stage(db: Session) -> None:
    lead_id, _ = lead_with_attempt(db)
    process_inbound_message(db, reply("Tell me more, please."), received_at=T0)
    [row] = list_replies(db)
    score_interested = ops.get_lead(db, lead_id)["score"]
    later = T0 + timedelta(hours=2)

    out = set_reply_category(db, row["id"], "not_interested", actor="user#7", now=later)
    assert out["changed"] is True
    assert (out["category"], out["rule"], out["lead_stage"]) == (
        "not_interested",
        "operator",
        "LOST",
    )
    [received] = events(db, "REPLY_RECEIVED")
    first, correction = events(db, "REPLY_CATEGORIZED")
    assert correction.detail == {
        "category": "not_interested",
        "previous": "interested",
        "rule": "operator",
        "reply_event_id": received.id,
    }
    assert correction.actor == "user#7" and correction.occurred_at == later
    assert (correction.lead_id, correction.channel, correction.campaign_id) == (
        first.lead_id,
        first.channel,
        first.campaign_id,
    )
    lead = ops.get_lead(db, lead_id)
    assert lead["score"] < score_interested
    assert "-30 replied not interested" in lead["grade_reasons"]

    # The same category again is a no-op: no event, nothing moves.
    again = set_reply_category(db, row["id"], "not_interested", now=later)
    assert again["changed"] is False
    assert len(events(db, "REPLY_CATEGORIZED")) == 2

    # Back to interested: the LOST that "not interested" caused is undone.
    set_reply_category(db, row["id"], "INTERESTED", now=later)
    assert ops.get_lead(db, lead_id)["stage"] == "ENGAGED"
    assert events(db, "REPLY_CATEGORIZED")[-1].detail["previous"] == "not_interested"


def test_a_correction_does_not_undo_a_stage_a_person_set_since(db: Session) -> None:
    lead_id, _ = lead_with_attempt(db)
    process_inbound_message(db, reply("No thanks, not a fit."), received_at=T0)
    [row] = list_replies(db)
    assert row["category"] == "not_interested" and row["lead_stage"] == "LOST"
    ops.set_stage(db, lead_id, "QUALIFIED")  # someone talked to them after all
    set_reply_category(db, row["id"], "interested")
    assert ops.get_lead(db, lead_id)["stage"] == "QUALIFIED"


def test_a_reply_from_an_unknown_sender_is_listed_without_a_lead(db: Session) -> None:
    raw = reply("Not interested.", sender="someone@example.net", msg_id="<u1@example.net>")
    process_inbound_message(db, raw, received_at=T0)
    [row] = list_replies(db)
    assert row["lead_id"] is None and row["category"] == "not_interested"
    [categorized] = events(db, "REPLY_CATEGORIZED")
    assert categorized.lead_id is None
    out = set_reply_category(db, row["id"], "wrong_person")
    assert out["category"] == "wrong_person" and out["lead_stage"] is None


def test_bad_input_is_refused_with_the_field(db: Session) -> None:
    lead_with_attempt(db)
    process_inbound_message(db, reply("Let's talk."), received_at=T0)
    [row] = list_replies(db)
    with pytest.raises(ValidationError) as err:
        set_reply_category(db, row["id"], "maybe")
    assert err.value.field == "category" and "interested" in str(err.value)
    with pytest.raises(NotFoundError):
        set_reply_category(db, row["id"] + 100, "interested")
    with pytest.raises(ValidationError):
        list_replies(db, channel="fax")
    assert list_replies(db)[0]["category"] == "interested"  # nothing changed


def test_the_inbox_lists_newest_first_with_filters_and_keyset_pages(db: Session) -> None:
    texts = ["Tell me more.", "Not interested.", "What is this?", "Let's talk Monday."]
    for i, text in enumerate(texts):
        email = f"p{i}@example.org"
        ops.create_lead(db, email=email)
        raw = reply(text, sender=email, msg_id=f"<m{i}@example.org>")
        process_inbound_message(db, raw, received_at=T0 + timedelta(minutes=i))
    everything = list_replies(db)
    assert [r["snippet"] for r in everything] == list(reversed(texts))
    assert [r["category"] for r in list_replies(db, category="interested")] == [
        "interested",
        "interested",
    ]
    assert list_replies(db, channel="linkedin") == []
    first = list_replies(db, limit=3)
    last = first[-1]
    rest = list_replies(db, after=(last["received_at"], last["id"]), limit=3)
    assert [r["id"] for r in first + rest] == [r["id"] for r in everything]


def test_replies_are_kept_per_workspace(db: Session) -> None:
    lead_with_attempt(db)
    process_inbound_message(db, reply("Let's talk."), received_at=T0)
    other: int = create_workspace(db, "other", "Other")["id"]
    assert list_replies(db, workspace_id=other) == []
    [row] = list_replies(db)
    with pytest.raises(NotFoundError):
        set_reply_category(db, row["id"], "other", workspace_id=other)


def test_forgetting_a_person_blanks_their_replies(db: Session) -> None:
    lead_id, _ = lead_with_attempt(db)
    process_inbound_message(db, reply("Let's talk."), received_at=T0)
    ops.forget_person(db, lead_id)
    db.expire_all()
    [row] = db.scalars(select(ReplyDB)).all()
    assert (row.sender, row.subject, row.snippet, row.lead_id) == (None, None, None, None)
    assert row.category == "interested"


# --- LinkedIn -------------------------------------------------------------------------------


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


def linkedin_lead(db: Session, state: ProviderState, base: str) -> tuple[int, str, int]:
    profile = state.add_profile("ada-lovelace", "Ada", "Lovelace")
    account: dict[str, Any] = linkedin.add_linkedin_account(
        db, "alex", base_url=base, account_ref=DEFAULT_ACCOUNT_ID, api_key=DEFAULT_API_KEY
    )
    lead_id: int = ops.create_lead(
        db, first_name="Ada", linkedin_url="https://www.linkedin.com/in/ada-lovelace/"
    )["id"]
    lead = db.get(LeadDB, lead_id)
    assert lead is not None
    lead.linkedin_id, lead.stage = profile.provider_id, "CONTACTED"
    attempt = OutreachMessageDB(
        workspace_id=1,
        lead_id=lead_id,
        channel="LINKEDIN",
        status="SENT",
        step_index=2,
        linkedin_account_id=account["id"],
        idempotency_key="test:li:1",
        sent_at=T0 - timedelta(days=1),
    )
    db.add(attempt)
    db.commit()
    return lead_id, profile.provider_id, attempt.id


def test_a_linkedin_reply_is_categorised_on_the_poll(
    db: Session, provider: tuple[ProviderState, str]
) -> None:
    state, base = provider
    lead_id, provider_id, attempt_id = linkedin_lead(db, state, base)
    state.add_reply(provider_id, "Thanks, but we are all set for now.", at=T0)
    assert linkedin.poll_linkedin(db, now=T0 + timedelta(hours=1))["replies"] == 1

    [row] = list_replies(db, channel="LINKEDIN")
    assert (row["category"], row["rule"]) == ("not_interested", "not-interested")
    assert row["sender"] == "Ada" and row["linkedin_account_id"] is not None
    assert row["inbound_message_id"] is not None
    [received] = events(db, "REPLY_RECEIVED")
    [categorized] = events(db, "REPLY_CATEGORIZED")
    assert categorized.detail["reply_event_id"] == received.id
    assert (categorized.channel, categorized.message_id) == ("LINKEDIN", attempt_id)
    assert received.message_id == attempt_id
    # CONTACTED -> ENGAGED (a reply) -> LOST (a no before any meeting).
    assert ops.get_lead(db, lead_id)["stage"] == "LOST"
    assert linkedin.poll_linkedin(db, now=T0 + timedelta(hours=2))["replies"] == 0
    assert len(events(db, "REPLY_CATEGORIZED")) == 1


def test_a_linkedin_reply_asking_to_stop_suppresses_the_profile(
    db: Session, provider: tuple[ProviderState, str]
) -> None:
    state, base = provider
    lead_id, provider_id, _ = linkedin_lead(db, state, base)
    state.add_reply(provider_id, "Please stop messaging me.", at=T0)
    linkedin.poll_linkedin(db, now=T0 + timedelta(hours=1))
    [row] = list_replies(db)
    assert (row["category"], row["rule"]) == ("unsubscribe", "unsubscribe-request")
    entry = ops.check_suppression(db, linkedin_url="https://www.linkedin.com/in/ada-lovelace/")
    assert entry is not None and entry["reason"] == "UNSUBSCRIBED"
    assert ops.get_lead(db, lead_id)["grade"] == "D"


def test_an_operator_marking_an_email_reply_unsubscribe_suppresses_the_address(
    db: Session,
) -> None:
    lead_with_attempt(db)
    process_inbound_message(db, reply("Who gave you my address?"), received_at=T0)
    [row] = list_replies(db)
    assert row["category"] == "other"
    assert ops.check_suppression(db, email="jane.doe@example.org") is None
    set_reply_category(db, row["id"], "unsubscribe", actor="user#3")
    entry = ops.check_suppression(db, email="jane.doe@example.org")
    assert entry is not None and entry["source"] == "operator"
    # Taking the category back does not lift the suppression.
    set_reply_category(db, row["id"], "other")
    assert ops.check_suppression(db, email="jane.doe@example.org") is not None
