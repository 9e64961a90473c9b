"""Answering a reply from the inbox, on a real database: the answer goes through the
same send path as every message (attempt, events, transport), threaded in the
conversation, and a suppressed lead gets nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB, LeadDB, OutreachMessageDB
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.domain.threads import MAX_REFERENCES, reply_subject, thread_references
from aicmo.config import get_settings
from aicmo.errors import ValidationError
from aicmo.operator_services.channels import linkedin_accounts as linkedin
from aicmo.operator_services.channels.tasks import get_task
from aicmo.operator_services.crm.answers import answer_reply, get_reply
from aicmo.operator_services.crm.replies import (
    ReplyAttribution,
    categorize_new_reply,
    list_replies,
)
from aicmo.operator_services.inbound.processing import process_inbound_message
from tests.linkedin_provider import ProviderState
from tests.service import test_reply_categories as categories
from tests.service.test_reply_categories import linkedin_lead

#: The LinkedIn provider double served on loopback, with a client factory that reaches it.
provider = categories.provider

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LEAD = "jane.doe@example.org"


@pytest.fixture
def outbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "outbox"
    monkeypatch.setenv("AICMO_OUTBOX_DIR", str(path))
    get_settings.cache_clear()
    return path


def reply_to(our_ids: list[str], msg_id: str, body: str, subject: str = "Re: Hello") -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Jane Doe <{LEAD}>"
    msg["To"] = get_settings().sender_email
    msg["Subject"] = subject
    msg["Date"] = format_datetime(T0)
    msg["Message-ID"] = msg_id
    msg["In-Reply-To"] = our_ids[-1]
    msg["References"] = " ".join(our_ids)
    msg.set_content(body)
    return msg.as_bytes()


def emails(outbox: Path) -> dict[str, EmailMessage]:
    """The outbox's messages by Message-ID."""
    found: dict[str, EmailMessage] = {}
    for path in outbox.rglob("*.eml"):
        msg = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(msg, EmailMessage)
        found[str(msg["Message-ID"])] = msg
    return found


def test_an_answer_is_threaded_sent_through_the_outbox_and_on_record(
    db: Session, outbox: Path
) -> None:
    lead_id = ops.create_lead(db, email=LEAD, first_name="Jane")["id"]
    first = ops.send_outreach_message(db, lead_id, "Hi Jane", "Hello", now=T0 - timedelta(days=1))
    ours = db.get(OutreachMessageDB, first["message_id"])
    assert ours is not None and ours.rfc_message_id
    process_inbound_message(
        db, reply_to([ours.rfc_message_id], "<r1@example.org>", "Tell me more."), received_at=T0
    )
    [reply] = list_replies(db)
    shown = get_reply(db, reply["id"])
    assert shown["text"].startswith("Tell me more.")
    assert shown["answer"]["possible"] and "local outbox" in shown["answer"]["via"]

    sent = answer_reply(db, reply["id"], "Sure: here it is.", now=T0 + timedelta(hours=1))
    assert sent["success"] and sent["transport"] == "outbox", sent
    answer = db.get(OutreachMessageDB, sent["message_id"])
    assert answer is not None and answer.message_type == "reply"
    msg = emails(outbox)[answer.rfc_message_id or ""]
    assert msg["In-Reply-To"] == "<r1@example.org>"
    assert str(msg["References"]).split() == [ours.rfc_message_id, "<r1@example.org>"]
    assert msg["Subject"] == "Re: Hello"  # not "Re: Re: Hello"
    assert msg["To"] == f"Jane <{LEAD}>"
    body = msg.get_body(("plain",))
    assert body is not None and "Sure: here it is." in body.get_content()
    kinds = db.scalars(
        select(EventDB.type).where(EventDB.message_id == answer.id).order_by(EventDB.id)
    ).all()
    assert kinds == ["MESSAGE_ATTEMPTED", "MESSAGE_SENT"]
    assert [a["id"] for a in get_reply(db, reply["id"])["answers"]] == [answer.id]

    # The lead answers the answer: the next answer carries the whole chain.
    process_inbound_message(
        db,
        reply_to(
            [ours.rfc_message_id, "<r1@example.org>", answer.rfc_message_id or ""],
            "<r2@example.org>",
            "Thanks, what does it cost?",
            subject="RE: Re: Hello",
        ),
        received_at=T0 + timedelta(hours=2),
    )
    newest = list_replies(db)[0]
    again = answer_reply(db, newest["id"], "Very little.", now=T0 + timedelta(hours=3))
    row = db.get(OutreachMessageDB, again["message_id"])
    assert row is not None
    msg = emails(outbox)[row.rfc_message_id or ""]
    assert msg["In-Reply-To"] == "<r2@example.org>"
    assert str(msg["References"]).split() == [
        ours.rfc_message_id,
        "<r1@example.org>",
        answer.rfc_message_id,
        "<r2@example.org>",
    ]
    assert msg["Subject"] == "RE: Re: Hello"


def test_the_same_form_sent_twice_sends_once(db: Session, outbox: Path) -> None:
    lead_id = ops.create_lead(db, email=LEAD)["id"]
    process_inbound_message(db, reply_to(["<x@elsewhere.example>"], "<r@example.org>", "Hi"))
    [reply] = list_replies(db)
    one = answer_reply(db, reply["id"], "Hello back", idempotency_key="form-1")
    two = answer_reply(db, reply["id"], "Hello back", idempotency_key="form-1")
    assert one["message_id"] == two["message_id"] and two["duplicate"]
    assert len(emails(outbox)) == 1
    assert get_reply(db, reply["id"])["lead_id"] == lead_id


def test_a_suppressed_lead_gets_no_answer(db: Session, outbox: Path) -> None:
    ops.create_lead(db, email=LEAD)
    process_inbound_message(db, reply_to(["<x@elsewhere.example>"], "<r@example.org>", "Hi"))
    [reply] = list_replies(db)
    ops.add_suppression(db, LEAD)
    assert get_reply(db, reply["id"])["answer"]["blocked"]
    result = answer_reply(db, reply["id"], "Hello back")
    assert result["status"] == "SUPPRESSED" and not result["success"]
    assert emails(outbox) == {}


def test_a_reply_from_nobody_we_know_is_answered_from_the_mail_client(
    db: Session, outbox: Path
) -> None:
    process_inbound_message(db, reply_to(["<x@elsewhere.example>"], "<r@example.org>", "Hi"))
    [reply] = list_replies(db)
    assert reply["lead_id"] is None
    with pytest.raises(ValidationError, match="mail client"):
        answer_reply(db, reply["id"], "Hello back")
    assert emails(outbox) == {}


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Hello", "Re: Hello"),
        ("Re: Hello", "Re: Hello"),
        ("RE[2]: Hello", "RE[2]: Hello"),
        ("AW: Angebot", "AW: Angebot"),
        ("  Quick   question ", "Re: Quick question"),
        ("Reading list", "Re: Reading list"),
        ("", "Re: your message"),
        (None, "Re: your message"),
    ],
)
def test_the_answer_subject_is_re_once(subject: str | None, expected: str) -> None:
    assert reply_subject(subject) == expected


def test_references_keep_the_first_and_the_newest() -> None:
    ids = [f"<{n}@x.example>" for n in range(30)]
    refs = thread_references([*ids, ids[3], None], "<new@x.example>")
    assert len(refs) == MAX_REFERENCES
    assert refs[0] == ids[0] and refs[-1] == "<new@x.example>"
    assert len(set(refs)) == len(refs)


def test_a_linkedin_reply_is_answered_through_the_conversations_account(
    db: Session, provider: tuple[ProviderState, str]
) -> None:
    state, base = provider
    lead_id, provider_id, _ = linkedin_lead(db, state, base)
    state.accept_invitation(provider_id)  # they wrote to us in a 1:1 chat: connected
    state.add_reply(provider_id, "Happy to hear more, what do you offer?", at=T0)
    linkedin.poll_linkedin(db, now=T0 + timedelta(hours=1))
    [reply] = list_replies(db, channel="LINKEDIN")
    plan = get_reply(db, reply["id"])["answer"]
    assert plan["possible"] and not plan["task"] and "alex" in plan["via"]

    sent = answer_reply(db, reply["id"], "A short demo, {{ first_name }}?")
    assert sent["success"] and sent["channel"] == "LINKEDIN", sent
    row = db.get(OutreachMessageDB, sent["message_id"])
    assert row is not None and row.linkedin_account_id == reply["linkedin_account_id"]
    [chat] = [c for c in state.chats.values() if c.attendee_provider_id == provider_id]
    assert chat.messages[-1].is_sender and chat.messages[-1].text == "A short demo, Ada?"
    assert ops.get_lead(db, lead_id)["id"] == lead_id


def test_a_linkedin_reply_without_a_provider_account_becomes_a_task(db: Session) -> None:
    lead_id = ops.create_lead(
        db, first_name="Ada", linkedin_url="https://www.linkedin.com/in/ada-lovelace/"
    )["id"]
    lead = db.get(LeadDB, lead_id)
    assert lead is not None
    categorize_new_reply(
        db,
        1,
        reply_event_id=1,
        lead=lead,
        channel=ChannelType.LINKEDIN,
        where=ReplyAttribution(),
        received_at=T0,
        text="Sounds good, tell me more",
    )
    db.commit()
    [reply] = list_replies(db)
    plan = get_reply(db, reply["id"])["answer"]
    assert plan["possible"] and plan["task"] and "no LinkedIn provider account" in plan["via"]
    result = answer_reply(db, reply["id"], "Here is more, {{ first_name }}.")
    assert result["outcome"] == "TASK" and not result["success"]
    task = get_task(db, result["task_id"])
    assert task["status"] == "OPEN" and task["url"] == "https://www.linkedin.com/in/ada-lovelace"
