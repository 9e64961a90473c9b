"""Campaign validation and start over audiences larger than one chunk: what reading the
audience in keyset chunks, committing chunk by chunk, could break.

Each test runs with chunks of a few leads, so that every boundary (between chunks, and
between scores) is crossed many times: nobody is skipped, nobody enrolled twice, the
best leads still come first, and the checks find what the lead-by-lead loop found.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import (
    CampaignDB,
    EnrollmentDB,
    EventDB,
    LeadDB,
    LeadTagDB,
    OutreachMessageDB,
)
from aicmo.cam.domain.channels import address_of
from aicmo.cam.repository.audience import WHITESPACE
from aicmo.db.connect import session_factory
from aicmo.operator_services import campaigns
from aicmo.operator_services.engine.tick import run_due

T0 = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
EMAIL_STEP = [{"channel": "EMAIL", "template": {"subject": "Hi", "body": "Hello"}}]


def add_leads(
    db: Session, specs: Sequence[tuple[str | None, int | None]], *, prefix: str, **fields: Any
) -> list[int]:
    """Leads with these (grade, score), committed; their ids in the order given."""
    rows = [
        LeadDB(
            workspace_id=1,
            email=f"{prefix}{i}@acme.example",
            email_key=f"{prefix}{i}@acme.example",
            grade=grade,
            score=score,
            created_at=T0,
            updated_at=T0,
            **fields,
        )
        for i, (grade, score) in enumerate(specs)
    ]
    db.add_all(rows)
    db.commit()
    return [r.id for r in rows]


def mixed(n: int, seed: int) -> list[tuple[str | None, int | None]]:
    """n (grade, score) pairs, scores repeated and sometimes missing, grades A to D."""
    rnd = random.Random(seed)
    out: list[tuple[str | None, int | None]] = []
    for _ in range(n):
        grade = rnd.choice(["A", "B", "C", "D"])
        out.append((grade, rnd.choice([None, 10, 55, 55, 70, 90, 90, 90])))
    return out


def enrolled_lead_ids(db: Session, campaign_id: int) -> list[int]:
    """The campaign's enrolled leads, in the order they were enrolled (enrollment id)."""
    db.rollback()
    return list(
        db.scalars(
            select(EnrollmentDB.lead_id)
            .where(EnrollmentDB.campaign_id == campaign_id)
            .order_by(EnrollmentDB.id)
        )
    )


def audience_best_first(db: Session, grades: set[str]) -> list[int]:
    """The leads of these grades in the order the audience has always been enrolled:
    score high to low, no score last, then by id (computed here in Python)."""
    db.rollback()
    leads = db.execute(select(LeadDB.id, LeadDB.grade, LeadDB.score)).all()
    chosen = [(score, lead_id) for lead_id, grade, score in leads if grade in grades]
    return [
        lead_id
        for score, lead_id in sorted(chosen, key=lambda p: (p[0] is None, -(p[0] or 0), p[1]))
    ]


def campaign_id(db: Session, name: str) -> int:
    found = db.scalar(select(CampaignDB.id).where(CampaignDB.name == name))
    assert found is not None
    return found


def test_an_audience_of_many_chunks_is_enrolled_once_each_best_first(db: Session) -> None:
    add_leads(db, mixed(57, seed=1), prefix="m")
    campaigns.create_campaign(db, "Big", steps=EMAIL_STEP, audience={"grade": ["A", "B"]})
    progress: list[tuple[int, int]] = []

    started = campaigns.start_campaign(
        db, "Big", now=T0, chunk_size=4, on_progress=lambda *p: progress.append(p)
    )

    expected = audience_best_first(db, {"A", "B"})
    assert len(expected) > 4 * 5
    assert enrolled_lead_ids(db, campaign_id(db, "Big")) == expected
    assert started["enrolled"] == len(expected) and started["status"] == "ACTIVE"
    # Progress after each chunk, counting up to the audience.
    assert len(progress) >= len(expected) // 4
    assert [p[0] for p in progress] == sorted(p[0] for p in progress)
    assert progress[-1] == (len(expected), len(expected))


def test_suppressed_leads_scattered_across_chunks_are_enrolled_and_never_sent_to(
    db: Session,
) -> None:
    ids = add_leads(db, [("A", 90 - i % 3) for i in range(30)], prefix="s")
    suppressed = ids[1::4]  # in every chunk of 4, at a different place each score
    for lead_id in suppressed:
        ops.add_suppression(db, f"s{ids.index(lead_id)}@acme.example", reason="unsubscribed")
    campaigns.create_campaign(db, "Sup", steps=EMAIL_STEP, audience={"grade": ["A"]})

    started = campaigns.start_campaign(db, "Sup", now=T0, chunk_size=4)
    # Enrolled as before streaming (suppression is checked at each send, invariant 2)...
    assert started["enrolled"] == 30
    assert sorted(enrolled_lead_ids(db, campaign_id(db, "Sup"))) == sorted(ids)

    run_due(db, now=T0, worker="w1", batch=100)
    db.rollback()
    sent_to = set(
        db.scalars(select(OutreachMessageDB.lead_id).where(OutreachMessageDB.status == "SENT"))
    )
    states = dict(db.execute(select(EnrollmentDB.lead_id, EnrollmentDB.state)).all())
    # ... and nobody suppressed gets a message, whichever chunk enrolled them.
    assert sent_to == set(ids) - set(suppressed)
    assert {states[i] for i in suppressed} == {"STOPPED"}


def test_leads_added_during_a_start_are_enrolled_by_it_or_the_next_never_twice(
    db: Session, engine: Engine
) -> None:
    add_leads(db, [("A", 90)] * 6 + [("A", 50)] * 6, prefix="old")
    campaigns.create_campaign(db, "Live", steps=EMAIL_STEP, audience={"grade": ["A"]})
    other = session_factory(engine)()
    added: list[int] = []

    def import_meanwhile(done: int, total: int) -> None:
        if not added:  # after the first chunk, another process imports more leads
            added.extend(add_leads(other, [("A", 95), ("A", 90), ("A", 50)], prefix="new"))
            add_leads(other, [("C", 50)], prefix="notin")

    try:
        first = campaigns.start_campaign(
            db, "Live", now=T0, chunk_size=4, on_progress=import_meanwhile
        )
    finally:
        other.close()
    cid = campaign_id(db, "Live")
    after_first = enrolled_lead_ids(db, cid)
    assert len(after_first) == len(set(after_first)) == first["enrolled"]
    # The newcomer scored 50 comes after the walk's position: enrolled now. The one
    # scored 95 comes before it: left for the next start (either is fine, twice is not).
    assert added[2] in after_first and added[0] not in after_first

    second = campaigns.start_campaign(db, "Live", now=T0, chunk_size=4)
    final = enrolled_lead_ids(db, cid)
    assert sorted(final) == sorted(audience_best_first(db, {"A"}))
    assert len(final) == len(set(final)) == 15
    assert second["enrolled"] == 15 - first["enrolled"]


def test_a_second_start_enrolls_only_the_newcomers(db: Session) -> None:
    add_leads(db, mixed(40, seed=2), prefix="a")
    campaigns.create_campaign(db, "Again", steps=EMAIL_STEP, audience={"grade": ["A", "B"]})
    first = campaigns.start_campaign(db, "Again", now=T0, chunk_size=3)
    cid = campaign_id(db, "Again")
    before = enrolled_lead_ids(db, cid)

    newcomers = add_leads(db, [("B", 90), ("A", None), ("D", 99), ("A", 10)], prefix="b")
    second = campaigns.start_campaign(db, "Again", now=T0, chunk_size=3)
    third = campaigns.start_campaign(db, "Again", now=T0, chunk_size=3)

    after = enrolled_lead_ids(db, cid)
    assert first["enrolled"] == len(before)
    assert second["enrolled"] == 3 and third["enrolled"] == 0
    assert after[: len(before)] == before
    assert sorted(after[len(before) :]) == sorted(newcomers[:2] + newcomers[3:])
    started = db.scalars(
        select(EventDB.detail).where(EventDB.type == "CAMPAIGN_STARTED", EventDB.campaign_id == cid)
    ).all()
    assert [d["enrolled"] for d in started] == [len(before), 3, 0]


def test_a_finished_campaign_reopens_for_newcomers_enrolled_by_a_start_that_stopped(
    db: Session,
) -> None:
    """A start that enrolled the newcomers of a FINISHED campaign, then died before its
    last commit: the next start has nobody new to enroll, but must reopen the campaign
    (else its newcomers would wait forever in a campaign no worker runs)."""
    add_leads(db, [("A", 80)] * 3, prefix="f")
    campaigns.create_campaign(db, "Done", steps=EMAIL_STEP, audience={"grade": ["A"]})
    campaigns.start_campaign(db, "Done", now=T0)
    cid = campaign_id(db, "Done")
    db.execute(update(EnrollmentDB).values(state="COMPLETED", next_run_at=None))
    db.commit()
    assert campaigns.finish_campaigns(db, now=T0) == [cid]
    add_leads(db, [("A", 70)] * 2, prefix="g")

    class Died(Exception):
        pass

    def die(done: int, total: int) -> None:
        if done == 2:
            raise Died

    with pytest.raises(Died):
        campaigns.start_campaign(db, "Done", now=T0, chunk_size=5, on_progress=die)
    db.rollback()
    assert campaigns.campaign_status(db, cid)["status"] == "FINISHED"

    again = campaigns.start_campaign(db, "Done", now=T0)
    assert again["enrolled"] == 0 and again["status"] == "ACTIVE"
    assert campaigns.campaign_status(db, cid)["enrollments"] == {"COMPLETED": 3, "ACTIVE": 2}


def test_a_finished_campaign_with_nobody_new_stays_finished(db: Session) -> None:
    add_leads(db, [("A", 80)] * 3, prefix="h")
    campaigns.create_campaign(db, "Closed", steps=EMAIL_STEP, audience={"grade": ["A"]})
    campaigns.start_campaign(db, "Closed", now=T0)
    db.execute(update(EnrollmentDB).values(state="COMPLETED", next_run_at=None))
    db.commit()
    campaigns.finish_campaigns(db, now=T0)
    assert campaigns.start_campaign(db, "Closed", now=T0)["status"] == "FINISHED"


BLANKS = [None, "", " ", "\u3000\t", "\u2003\xa0\n", "\x85"]


def test_validation_finds_exactly_the_leads_that_address_of_cannot_reach(db: Session) -> None:
    """The check runs in SQL now; it must say what the lead-by-lead check said, blank
    and whitespace-only values (Unicode spaces too) counting as no address."""
    rnd = random.Random(5)
    rows = []
    for i in range(120):
        rows.append(
            LeadDB(
                workspace_id=1,
                email=f"v{i}@acme.example" if rnd.random() < 0.6 else rnd.choice(BLANKS),
                email_key=f"v{i}@acme.example",
                linkedin_url="https://www.linkedin.com/in/v" if rnd.random() < 0.3 else None,
                linkedin_id=rnd.choice([*BLANKS, "ACoAAB"]) if rnd.random() < 0.2 else None,
                website=rnd.choice([*BLANKS, "https://acme.example"]),
                form_url=rnd.choice(BLANKS),
                grade=rnd.choice(["A", "B", "C"]),
                score=rnd.choice([None, 30, 60, 60, 90]),
                created_at=T0,
                updated_at=T0,
            )
        )
    db.add_all(rows)
    db.commit()
    steps = [
        {"channel": "EMAIL", "template": {"subject": "Hi", "body": "A"}},
        {"channel": "LINKEDIN", "fallback": ["CONTACT_FORM"], "template": {"body": "B"}},
        {"channel": "CONTACT_FORM", "template": {"subject": "Hi", "body": "C"}},
    ]
    campaigns.create_campaign(db, "Check", steps=steps, audience={"grade": ["A", "B"]})

    report = campaigns.validate_campaign(db, "Check", max_lead_problems=1000)
    capped = campaigns.validate_campaign(db, "Check", max_lead_problems=7)

    db.rollback()
    audience = [r for r in rows if r.grade in ("A", "B")]
    audience.sort(key=lambda r: (r.score is None, -(r.score or 0), r.id))
    expected = []
    for lead in audience:
        for number, channels in enumerate(
            (["EMAIL"], ["LINKEDIN", "CONTACT_FORM"], ["CONTACT_FORM"]), start=1
        ):
            if not any(address_of(c, lead) for c in channels):
                names = "/".join(channels)
                expected.append(
                    {
                        "lead_id": lead.id,
                        "email": lead.email,
                        "problem": f"step {number}: no address for {names}",
                    }
                )
                break
    assert report["leads"] == len(audience) == capped["leads"]
    assert 10 < len(expected) < len(audience)
    assert report["lead_problems"] == expected
    assert capped["lead_problems"] == expected[:7]


def test_the_whitespace_set_is_what_str_strip_removes() -> None:
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
    assert sorted(WHITESPACE) == sorted(every)


def test_an_audience_by_tag_stage_score_and_ids_streams_like_the_listing(db: Session) -> None:
    """Every audience key, in chunks, selects what `lead_query` selects."""
    ids = add_leads(db, mixed(30, seed=3), prefix="t")
    tagged = ids[::2]
    db.add_all(LeadTagDB(workspace_id=1, lead_id=i, tag="Expo", tag_key="expo") for i in tagged)
    db.commit()
    audience = {"tag": ["expo"], "stage": ["NEW"], "min_score": 50, "lead_ids": ids[:20]}
    campaigns.create_campaign(db, "Keys", steps=EMAIL_STEP, audience=audience)
    started = campaigns.start_campaign(db, "Keys", now=T0, chunk_size=2)
    db.rollback()
    scores = dict(db.execute(select(LeadDB.id, LeadDB.score)).all())
    want = [i for i in tagged if i in ids[:20] and (scores[i] or 0) >= 50 and scores[i]]
    assert sorted(enrolled_lead_ids(db, campaign_id(db, "Keys"))) == sorted(want)
    assert started["enrolled"] == len(want) > 2
    assert campaigns.validate_campaign(db, "Keys")["leads"] == len(want)
    count = db.scalar(select(func.count()).select_from(EnrollmentDB))
    assert count == len(want)
