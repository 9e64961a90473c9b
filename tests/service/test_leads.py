from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB, LeadDB
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType
from aicmo.errors import ConflictError, NotFoundError, ValidationError
from aicmo.operator_services.uow import utcnow


def test_create_find_and_show_a_lead(db: Session) -> None:
    lead = ops.create_lead(
        db, email="Jane@Example.com", first_name="Jane", title="VP Sales", tags=["vip"]
    )
    assert lead["email"] == "Jane@example.com"
    assert lead["grade"] in "ABCD" and lead["grade_reasons"]
    assert lead["tags"] == ["vip"]
    assert ops.get_lead(db, "jane@example.com")["id"] == lead["id"]
    assert ops.get_lead(db, str(lead["id"]))["first_name"] == "Jane"
    assert [x["id"] for x in ops.find_leads(db, tag="VIP")] == [lead["id"]]
    assert [x["id"] for x in ops.find_leads(db, search="jan")] == [lead["id"]]


def test_dedupe_refuses_a_second_lead_with_the_same_email_or_profile(db: Session) -> None:
    ops.create_lead(db, email="jane@example.com", linkedin_url="https://www.linkedin.com/in/jane")
    with pytest.raises(ConflictError):
        ops.create_lead(db, email=" JANE@example.com ")
    with pytest.raises(ConflictError):
        ops.create_lead(db, linkedin_url="linkedin.com/in/JANE/")
    assert len(list(db.scalars(select(LeadDB)))) == 1


def test_a_lead_needs_an_identity(db: Session) -> None:
    with pytest.raises(ValidationError, match="email or a LinkedIn URL"):
        ops.create_lead(db, first_name="Nobody")


def test_update_regrades_and_records_what_changed(db: Session) -> None:
    lead = ops.create_lead(db, email="a@example.com", title="Engineer")
    updated = ops.update_lead(db, lead["id"], title="Chief Executive Officer", company_size="120")
    assert updated["score"] > lead["score"]
    events = list(db.scalars(select(EventDB.type).where(EventDB.lead_id == lead["id"])))
    assert events.count("LEAD_UPDATED") == 1 and "LEAD_GRADED" in events
    change = db.scalar(select(EventDB.detail).where(EventDB.type == "LEAD_UPDATED"))
    assert change is not None
    assert change["changes"]["title"] == {"from": "Engineer", "to": "Chief Executive Officer"}


def test_update_cannot_steal_another_leads_email(db: Session) -> None:
    ops.create_lead(db, email="a@example.com")
    b = ops.create_lead(db, email="b@example.com")
    with pytest.raises(ConflictError):
        ops.update_lead(db, b["id"], email="A@example.com")
    assert ops.get_lead(db, b["id"])["email"] == "b@example.com"


def test_a_bad_field_changes_nothing(db: Session) -> None:
    lead = ops.create_lead(db, email="a@example.com", first_name="Ann")
    with pytest.raises(ValidationError):
        ops.update_lead(db, lead["id"], first_name="Bob", company_size="lots")
    assert ops.get_lead(db, lead["id"])["first_name"] == "Ann"


def test_stages_tags_and_notes(db: Session) -> None:
    lead = ops.create_lead(db, email="a@example.com")
    assert ops.set_stage(db, lead["id"], "meeting booked")["stage"] == "MEETING"
    with pytest.raises(ValidationError, match="unknown stage"):
        ops.set_stage(db, lead["id"], "later")
    ops.add_tags(db, lead["id"], ["expo, saas"])
    assert ops.remove_tags(db, lead["id"], ["EXPO"])["tags"] == ["saas"]
    ops.add_note(db, lead["id"], "Met at the expo", author="sam")
    shown = ops.get_lead(db, lead["id"])
    assert [n["body"] for n in shown["notes"]] == ["Met at the expo"]
    types = set(db.scalars(select(EventDB.type).where(EventDB.lead_id == lead["id"])))
    assert {"LEAD_STAGE_CHANGED", "LEAD_NOTE_ADDED"} <= types


def test_unknown_lead_is_not_found(db: Session) -> None:
    with pytest.raises(NotFoundError):
        ops.update_lead(db, 999, title="x")
    with pytest.raises(NotFoundError):
        ops.get_lead(db, "nobody@example.com")


def test_an_engagement_event_regrades_the_lead_at_once(db: Session) -> None:
    lead = ops.create_lead(db, email="a@example.com", title="CEO", industry="SaaS", company_size=40)
    assert lead["grade"] == "A"
    bounce = OutreachEvent(
        type=EventType.BOUNCED_HARD, occurred_at=utcnow(), channel=ChannelType.EMAIL
    )
    result = ops.record_event(db, bounce, lead_id=lead["id"])
    assert result["regraded"] == {"grade": "D", "score": lead["score"] - 50}
    shown = ops.get_lead(db, lead["id"])
    assert shown["grade"] == "D"
    assert "-50 hard bounce" in shown["grade_reasons"]
    assert ops.grade_leads(db)["changed"] == 0  # nothing left stale
    with pytest.raises(NotFoundError):
        ops.record_event(db, bounce, lead_id=999)


def test_icp_change_regrades(db: Session) -> None:
    from aicmo.operator_services.crm.workspace import parse_icp_yaml

    lead = ops.create_lead(db, email="a@example.com", title="Plumber", country="France")
    assert lead["grade"] == "D"
    ops.set_icp(
        db,
        parse_icp_yaml(
            "roles:\n  - label: plumber\n    keywords: [plumber]\n    points: 60\n"
            "countries: [France]\n"
        ),
    )
    ops.grade_leads(db)
    assert ops.get_lead(db, lead["id"])["score"] == 60 + 10 + 5


def test_bad_icp_yaml_names_the_field() -> None:
    from aicmo.operator_services.crm.workspace import parse_icp_yaml

    with pytest.raises(ValidationError, match=r"roles\.0\.points"):
        parse_icp_yaml("roles:\n  - label: x\n    keywords: [x]\n    points: lots\n")
