"""A/B tests end to end on a real database: a campaign with two variants enrolls leads,
the worker sends through the local outbox, every attempt and event carries its variant,
replies count for the variant they answered, and the results read from the rollups match
the attempts; then the results service on rollups written directly."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from scipy import stats
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam import repository as repo
from aicmo.cam.db_models import EnrollmentDB, EventDB, OutreachMessageDB
from aicmo.cam.domain.abstats import Plan, planned_sample_per_arm
from aicmo.cam.domain.sequencing import assign_variants, parse_steps, variant_of
from aicmo.config import get_settings
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services import campaigns
from aicmo.operator_services.analytics.abtest import variant_results
from aicmo.operator_services.engine.tick import run_due
from aicmo.operator_services.inbound.processing import process_inbound_message

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
STEPS: list[dict[str, Any]] = [
    {
        "channel": "EMAIL",
        "template": {"subject": "Hello {{ first_name | default('there') }}", "body": "Body A"},
        "variants": [
            {"name": "A"},
            {"name": "B", "subject": "Quick question", "body": "Body B"},
        ],
    },
    {"channel": "EMAIL", "delay_hours": 48, "template": {"subject": "Again", "body": "Two"}},
]
WINDOW = {
    "window": {
        "timezone": "UTC",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "08:00",
        "end": "18:00",
    }
}


def reply_to(attempt: OutreachMessageDB, text: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = attempt.recipient
    msg["To"] = get_settings().sender_email
    msg["Subject"] = f"Re: {attempt.subject}"
    msg["Message-ID"] = f"<reply-{attempt.id}@acme.example>"
    msg["In-Reply-To"] = attempt.rfc_message_id
    msg["References"] = attempt.rfc_message_id
    msg["Date"] = "Mon, 23 Nov 2026 11:00:00 +0000"
    msg.set_content(text)
    return msg.as_bytes()


@pytest.mark.parametrize("path", ["batched", "one by one"])
def test_two_variants_are_sent_recorded_and_counted_per_variant(db: Session, path: str) -> None:
    lead_ids = [
        ops.create_lead(db, email=f"lead{i}@acme.example", first_name=f"P{i}", tags=["ab"])["id"]
        for i in range(40)
    ]
    created = campaigns.create_campaign(
        db,
        "AB",
        steps=STEPS,
        audience={"tag": "ab"},
        settings=WINDOW if path == "one by one" else None,
        now=T0,
    )
    assert campaigns.start_campaign(db, "AB", now=T0)["enrolled"] == 40
    counts = run_due(db, now=T0, worker="w1")
    assert counts["processed"] == 40
    assert counts["by_outcome"] == {"advance": 40}

    seq = parse_steps(STEPS)
    db.expire_all()
    enrollments = {e.lead_id: e for e in db.scalars(select(EnrollmentDB))}
    for lead_id in lead_ids:
        assert enrollments[lead_id].variant == assign_variants(created["id"], seq, lead_id)
    attempts = list(db.scalars(select(OutreachMessageDB).order_by(OutreachMessageDB.id)))
    assert len(attempts) == 40
    per_variant: Counter[str] = Counter()
    for attempt in attempts:
        assert attempt.status == "SENT" and attempt.transport == "outbox"
        assert attempt.lead_id is not None
        expected = variant_of(enrollments[attempt.lead_id].variant, 0)
        assert attempt.variant == expected
        if expected == "B":
            assert (attempt.subject, attempt.body) == ("Quick question", "Body B")
        else:
            assert attempt.subject is not None and attempt.subject.startswith("Hello P")
            assert attempt.body == "Body A"
        per_variant[str(attempt.variant)] += 1
    assert set(per_variant) == {"A", "B"}
    history = ops.get_outreach_history(db, campaign_id=created["id"], limit=100)
    assert Counter(str(m["variant"]) for m in history) == per_variant
    sent_events = db.scalars(select(EventDB).where(EventDB.type == "MESSAGE_SENT")).all()
    by_message = {a.id: a.variant for a in attempts}
    assert len(sent_events) == 40
    assert all(e.detail["variant"] == by_message[e.message_id or 0] for e in sent_events)
    # The .eml files the outbox wrote say what each variant says.
    files = list(get_settings().resolved_outbox_dir.rglob("*.eml"))
    assert len(files) == 40
    assert sum(b"Quick question" in f.read_bytes() for f in files) == per_variant["B"]

    # Replies: three to A, five to B (or as many as each arm has).
    repliers = {v: [a for a in attempts if a.variant == v][:n] for v, n in (("A", 3), ("B", 5))}
    for group in repliers.values():
        for attempt in group:
            out = process_inbound_message(
                db,
                reply_to(attempt, "Sounds interesting, tell me more."),
                received_at=T0 + timedelta(hours=2),
            )
            assert out["attempt_id"] == attempt.id

    result = variant_results(db, "AB", metric="replied")
    assert result["denominator"] == "sent"
    (step,) = result["steps"]
    assert step["step"] == 0
    rows = {v["name"]: v for v in step["variants"]}
    assert {n: rows[n]["sent"] for n in rows} == dict(per_variant)
    assert {n: rows[n]["successes"] for n in rows} == {v: len(g) for v, g in repliers.items()}
    assert rows["A"]["control"] and not rows["B"]["control"]
    assert step["status"] == "not_enough_data"
    smallest = min(per_variant.values())
    planned = planned_sample_per_arm(Plan(), 2)
    assert step["more_per_arm"] == planned - smallest
    assert step["verdict"].startswith(f"not enough data: about {planned - smallest} more leads")

    # Step 1 has no variants: its attempts carry none, and its results are refused.
    run_due(db, now=T0 + timedelta(hours=49), worker="w1")
    later = db.scalars(select(OutreachMessageDB).where(OutreachMessageDB.step_index == 1)).all()
    assert later and all(a.variant is None for a in later)
    with pytest.raises(ValidationError, match=r"step 1 has no variants \(steps with variants: 0\)"):
        variant_results(db, "AB", step=1)


def bump(db: Session, day: date, variant: str, column: str, n: int, *, campaign_id: int) -> None:
    repo.bump_metric(
        db,
        workspace_id=1,
        day=day,
        channel="EMAIL",
        column=column,
        campaign_id=campaign_id,
        step_index=0,
        variant=variant,
        mailbox_id=None,
        by=n,
    )
    db.commit()


def make_campaign(db: Session, **settings: Any) -> int:
    created = campaigns.create_campaign(
        db, "Rollups", steps=STEPS, settings=settings or None, now=T0
    )
    campaigns.start_campaign(db, "Rollups", now=T0)
    return int(created["id"])


def test_the_verdict_is_taken_when_the_plan_is_reached_and_then_stays(db: Session) -> None:
    campaign_id = make_campaign(db, ab_test={"baseline_rate": 0.10, "min_effect": 0.10})
    n = planned_sample_per_arm(Plan(baseline_rate=0.10, min_effect=0.10))  # 199
    d0 = T0.date()
    for day, sent, (pa, pb) in ((d0, 150, (10, 30)), (d0 + timedelta(days=1), 60, (5, 12))):
        bump(db, day, "A", "sent", sent, campaign_id=campaign_id)
        bump(db, day, "B", "sent", sent, campaign_id=campaign_id)
        bump(db, day, "A", "positive_replied", pa, campaign_id=campaign_id)
        bump(db, day, "B", "positive_replied", pb, campaign_id=campaign_id)
    first = variant_results(db, campaign_id)
    (step,) = first["steps"]
    assert step["planned_per_arm"] == n
    assert step["horizon_day"] == d0 + timedelta(days=1)
    rows = {v["name"]: v for v in step["variants"]}
    assert (rows["A"]["sent"], rows["A"]["successes"]) == (210, 15)
    assert (rows["B"]["sent"], rows["B"]["successes"]) == (210, 42)
    (comp,) = step["comparisons"]
    expected = stats.chi2_contingency([[15, 195], [42, 168]], correction=False).pvalue
    assert comp["test"] == "z" and comp["p_value"] == pytest.approx(expected)
    assert step["status"] == "winner" and step["winner"] == "B"
    assert step["verdict"].startswith("B is better: 20.0% vs 7.1% positive replies, p < 0.001")
    assert step["verdict"].endswith(
        f"(counts as of {d0 + timedelta(days=1)}, the day the plan was reached)"
    )
    # Later days (A catching up) do not move a verdict taken at the horizon.
    bump(db, d0 + timedelta(days=2), "A", "sent", 100, campaign_id=campaign_id)
    bump(db, d0 + timedelta(days=2), "A", "positive_replied", 60, campaign_id=campaign_id)
    assert variant_results(db, campaign_id)["steps"] == first["steps"]
    # Another metric, another verdict: no meetings anywhere.
    meetings = variant_results(db, campaign_id, metric="meetings")["steps"][0]
    assert meetings["status"] == "no_difference"
    assert meetings["verdict"].startswith(
        f"no difference found at the planned sample ({n} per arm)"
    )


def test_results_on_the_replied_counter_before_the_plan(db: Session) -> None:
    campaign_id = make_campaign(db)
    bump(db, T0.date(), "A", "sent", 100, campaign_id=campaign_id)
    bump(db, T0.date(), "B", "sent", 80, campaign_id=campaign_id)
    bump(db, T0.date(), "B", "replied", 9, campaign_id=campaign_id)
    bump(db, T0.date(), "", "sent", 500, campaign_id=campaign_id)  # no variant: not an arm
    (step,) = variant_results(db, "Rollups", metric="replied")["steps"]
    rows = {v["name"]: v for v in step["variants"]}
    assert (rows["B"]["sent"], rows["B"]["successes"], rows["A"]["successes"]) == (80, 9, 0)
    assert step["comparisons"] == []
    assert step["horizon_day"] is None
    assert step["more_per_arm"] == planned_sample_per_arm(Plan()) - 80
    low, high = rows["B"]["ci_low"], rows["B"]["ci_high"]
    ci = stats.binomtest(9, 80).proportion_ci(method="wilson")
    assert (low, high) == (pytest.approx(ci.low), pytest.approx(ci.high))


def test_bad_requests_get_clear_errors(db: Session) -> None:
    make_campaign(db)
    with pytest.raises(ValidationError, match="unknown metric 'opened'") as info:
        variant_results(db, "Rollups", metric="opened")
    assert info.value.field == "metric"
    with pytest.raises(ValidationError, match="has steps 0 to 1, not 7"):
        variant_results(db, "Rollups", step=7)
    with pytest.raises(NotFoundError):
        variant_results(db, "Nope")
    with pytest.raises(ValidationError, match="baseline_rate") as info:
        campaigns.create_campaign(
            db, "Bad plan", steps=STEPS, settings={"ab_test": {"baseline_rate": 3}}, now=T0
        )
    assert info.value.field == "settings.ab_test.baseline_rate"
    with pytest.raises(ValidationError, match="auto_winner must be true or false"):
        campaigns.create_campaign(
            db, "Bad plan", steps=STEPS, settings={"ab_test": {"auto_winner": "yes"}}, now=T0
        )
    with pytest.raises(ValidationError, match="metric must be one of"):
        campaigns.create_campaign(
            db, "Bad plan", steps=STEPS, settings={"ab_test": {"metric": "opened"}}, now=T0
        )
    with pytest.raises(ValidationError, match=r"unknown settings\.ab_test keys"):
        campaigns.create_campaign(
            db, "Bad plan", steps=STEPS, settings={"ab_test": {"alpha": 0.1}}, now=T0
        )
    plain = [{"channel": "EMAIL", "template": {"subject": "a", "body": "b"}}]
    campaigns.create_campaign(db, "Plain", steps=plain, now=T0)
    assert variant_results(db, "Plain")["steps"] == []


@pytest.mark.parametrize("auto", [True, False])
def test_newcomers_go_to_the_winner_once_there_is_one_when_the_campaign_asks(
    db: Session, auto: bool
) -> None:
    for i in range(20):
        ops.create_lead(db, email=f"early{i}@acme.example", tags=["ab"])
    settings = {"ab_test": {"baseline_rate": 0.1, "min_effect": 0.1, "auto_winner": auto}}
    created = campaigns.create_campaign(
        db, "Auto", steps=STEPS, audience={"tag": "ab"}, settings=settings, now=T0
    )
    campaign_id = int(created["id"])
    campaigns.start_campaign(db, "Auto", now=T0)
    early = {e.lead_id: e.variant for e in db.scalars(select(EnrollmentDB))}
    assert set(early.values()) == {"0:A", "0:B"}
    # Not decided yet (below the plan): newcomers are still split.
    bump(db, T0.date(), "A", "sent", 150, campaign_id=campaign_id)
    bump(db, T0.date(), "B", "sent", 150, campaign_id=campaign_id)
    bump(db, T0.date(), "A", "positive_replied", 5, campaign_id=campaign_id)
    bump(db, T0.date(), "B", "positive_replied", 40, campaign_id=campaign_id)
    for i in range(20):
        ops.create_lead(db, email=f"mid{i}@acme.example", tags=["ab"])
    campaigns.start_campaign(db, "Auto", now=T0 + timedelta(days=1))
    enrolled = {e.lead_id: e.variant for e in db.scalars(select(EnrollmentDB))}
    mid = {lead: v for lead, v in enrolled.items() if lead not in early}
    assert len(mid) == 20 and set(mid.values()) == {"0:A", "0:B"}
    # B wins at the horizon: with auto_winner every newcomer gets B, the others keep theirs.
    bump(db, T0.date() + timedelta(days=1), "A", "sent", 60, campaign_id=campaign_id)
    bump(db, T0.date() + timedelta(days=1), "B", "sent", 60, campaign_id=campaign_id)
    assert variant_results(db, "Auto")["steps"][0]["winner"] == "B"
    for i in range(20):
        ops.create_lead(db, email=f"late{i}@acme.example", tags=["ab"])
    campaigns.start_campaign(db, "Auto", now=T0 + timedelta(days=2))
    rows = {e.lead_id: e.variant for e in db.scalars(select(EnrollmentDB))}
    late = {v for lead, v in rows.items() if lead not in early and lead not in mid}
    assert late == ({"0:B"} if auto else {"0:A", "0:B"})
    assert all(rows[lead] == v for lead, v in early.items())
