from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB, LeadDB, LeadNoteDB, OutreachMessageDB, SuppressionDB
from aicmo.errors import NotFoundError, ValidationError


def test_suppression_by_address_domain_and_profile(db: Session) -> None:
    ops.add_suppression(db, "Jane@Acme.example", reason="unsubscribed")
    ops.add_suppression(db, "@blocked.example")
    ops.add_suppression(db, "https://www.linkedin.com/in/Joe-Doe/")
    assert ops.check_suppression(db, email="jane@acme.example")["reason"] == "UNSUBSCRIBED"  # type: ignore[index]
    assert ops.check_suppression(db, email="anyone@blocked.example")["kind"] == "DOMAIN"  # type: ignore[index]
    assert ops.check_suppression(db, linkedin_url="linkedin.com/in/joe-doe") is not None
    assert ops.check_suppression(db, email="other@acme.example") is None


def test_adding_twice_is_idempotent_and_removal_is_audited(db: Session) -> None:
    first = ops.add_suppression(db, "a@example.com")
    second = ops.add_suppression(db, "A@EXAMPLE.COM ")
    assert first["created"] and not second["created"]
    assert len(ops.list_suppressions(db)) == 1
    ops.remove_suppression(db, "a@example.com")
    assert ops.check_suppression(db, email="a@example.com") is None
    types = list(db.scalars(select(EventDB.type).order_by(EventDB.id)))
    assert types.count("SUPPRESSION_ADDED") == 1 and types.count("SUPPRESSION_REMOVED") == 1
    with pytest.raises(NotFoundError):
        ops.remove_suppression(db, "a@example.com")


@pytest.mark.parametrize("bad", ["", "not a thing", "x@"])
def test_bad_suppression_values_are_refused(db: Session, bad: str) -> None:
    with pytest.raises(ValidationError):
        ops.add_suppression(db, bad)


def test_unknown_reason_is_refused(db: Session) -> None:
    with pytest.raises(ValidationError, match="unknown reason"):
        ops.add_suppression(db, "a@example.com", reason="because")


def test_export_holds_everything_about_the_person(db: Session) -> None:
    lead = ops.create_lead(db, email="jane@acme.example", first_name="Jane", tags=["vip"])
    ops.add_note(db, lead["id"], "Met at the expo")
    ops.send_outreach_message(db, lead["id"], "Hello Jane", "Hi")
    data = ops.export_person(db, "jane@acme.example")
    json.dumps(data)  # JSON-ready
    assert data["lead"]["first_name"] == "Jane"
    assert data["lead"]["notes"][0]["body"] == "Met at the expo"
    assert data["messages"][0]["body"] == "Hello Jane"
    assert {e["type"] for e in data["events"]} >= {"LEAD_CREATED", "MESSAGE_ATTEMPTED"}


def test_forget_erases_personal_data_and_keeps_the_person_suppressed(db: Session) -> None:
    lead = ops.create_lead(
        db,
        email="jane@acme.example",
        first_name="Jane",
        linkedin_url="https://www.linkedin.com/in/jane-acme",
    )
    ops.add_note(db, lead["id"], "Met at the expo")
    ops.send_outreach_message(db, lead["id"], "Hello Jane", "Hi Jane")
    ops.add_suppression(db, "jane@acme.example", reason="unsubscribed")

    result = ops.forget_person(db, "jane@acme.example")
    assert result["suppressed_by_hash"] == ["EMAIL_HASH", "LINKEDIN_HASH"]

    assert db.scalar(select(LeadDB)) is None
    assert db.scalar(select(LeadNoteDB)) is None
    message = db.scalar(select(OutreachMessageDB))
    assert message is not None and message.body is None and message.recipient is None
    dump = " ".join(
        str(v) for row in db.execute(text("SELECT * FROM events")).all() for v in row
    ) + " ".join(
        str(v) for row in db.execute(text("SELECT * FROM suppressions")).all() for v in row
    )
    assert "jane" not in dump.lower()
    assert {s.kind for s in db.scalars(select(SuppressionDB))} == {"EMAIL_HASH", "LINKEDIN_HASH"}

    # Never contacted again: the hash catches a re-import of the same person.
    again = ops.create_lead(db, email="JANE@acme.example")
    assert ops.check_suppression(db, email="jane@acme.example") is not None
    assert ops.check_suppression(db, linkedin_url="linkedin.com/in/jane-acme") is not None
    sent = ops.send_outreach_message(db, again["id"], "Hello again", "Hi")
    assert sent["status"] == "SUPPRESSED"
    listed = ops.list_suppressions(db, reason="erased")
    assert {s["value"] for s in listed} == {"(erased person)"}
    with pytest.raises(NotFoundError):
        ops.remove_suppression(db, "jane@acme.example")


def test_forget_unknown_person_is_not_found(db: Session) -> None:
    with pytest.raises(NotFoundError):
        ops.forget_person(db, "nobody@example.com")
