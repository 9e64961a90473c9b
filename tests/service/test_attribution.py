"""The attribution report and costs on a real history made through the services
(``tests.attribution_history``). Every figure below is worked out by hand in the comments."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.orm import Session

from aicmo.cam.db_models import WorkspaceDB
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services.analytics import costs
from aicmo.operator_services.analytics.attribution import attribution_report
from aicmo.operator_services.channels.mailboxes import add_mailbox
from tests.attribution_history import at, make_history, set_costs


def november(db: Session, model: str, **options: Any) -> dict[str, Any]:
    """The report over November 2026."""
    return attribution_report(
        db, model=model, date_from=date(2026, 11, 1), date_to=date(2026, 11, 30), **options
    )


@pytest.fixture
def history(db: Session) -> dict[str, Any]:
    return make_history(db)


def rows(report: dict[str, Any]) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {(r["campaign"], r["step_index"], r["channel"], r["variant"]): r for r in report["rows"]}


def pick(row: dict[str, Any], *names: str) -> tuple[Any, ...]:
    return tuple(row[n] for n in names)


COUNTS = ("replies", "positive_replies", "meetings", "won_deals", "won_value")
D = Decimal


def test_linear_credit_cost_and_roi_by_hand(db: Session, history: dict[str, Any]) -> None:
    set_costs(db)
    report = november(db, "linear")
    got = rows(report)
    a0, a1, a2 = ("Q4", 0, "EMAIL", "A"), ("Q4", 1, "EMAIL", "A"), ("Q4", 2, "LINKEDIN", "A")
    b0, b1, one_off = ("Q4", 0, "EMAIL", "B"), ("Q4", 1, "EMAIL", "B"), (None, None, "EMAIL", None)
    assert set(got) == {a0, a1, a2, b0, b1, one_off}
    # A's outcomes (reply, positive reply, meeting, won 1000) split in thirds over its
    # three touches: the odd ten-thousandth and the odd cent go to the first.
    third, rest = D("0.3334"), D("0.3333")
    assert pick(got[a0], *COUNTS) == (third, third, third, third, D("333.34"))
    assert pick(got[a1], *COUNTS) == (rest, rest, rest, rest, D("333.33"))
    assert pick(got[a2], *COUNTS) == (rest, rest, rest, rest, D("333.33"))
    # B's reply in halves; its positive category was corrected away.
    assert pick(got[b0], *COUNTS) == (D("0.5"), 0, 0, 0, 0)
    assert pick(got[b1], *COUNTS) == (D("0.5"), 0, 0, 0, 0)
    # D: one touch, the one-off email, earns the reply, the positive reply and the meeting.
    assert pick(got[one_off], *COUNTS) == (1, 1, 1, 0, 0)
    # EMAIL: 30 a month (all of November) + 5 sends x 0.10 = 30.50, 6.10 per send;
    # LINKEDIN: one send (the task) x 2 = 2.00; the mailbox's 15 had no send to share.
    for key in (a0, a1, b0, b1, one_off):
        assert got[key]["sends"] == 1 and got[key]["cost"] == D("6.10")
    assert got[a2]["sends"] == 1 and got[a2]["cost"] == D("2.00")
    assert got[a0]["roi"] == D("53.6459")  # (333.34 - 6.10) / 6.10
    assert got[a2]["roi"] == D("165.6650")  # (333.33 - 2.00) / 2.00
    assert got[b0]["roi"] == D("-1.0000")  # nothing won, the cost lost
    assert got[a0]["cost_per_positive_reply"] == D("18.30")  # 6.10 / 0.3334
    assert got[b0]["cost_per_positive_reply"] is None
    assert got[one_off]["cost_per_meeting"] == D("6.10")
    totals = report["totals"]
    assert pick(totals, *COUNTS) == (3, 2, 2, 1, D("1000.00"))
    assert totals["unallocated_cost"] == D("15.00")
    assert totals["cost"] == D("47.50")  # 30.50 + 2.00 + 15.00
    assert totals["roi"] == D("20.0526")  # (1000 - 47.50) / 47.50
    assert report["currency"] == "EUR"
    assert report["outcomes"] == {"reply": 4, "positive_reply": 2, "meeting": 2, "won": 1}
    # C's reply had no touch: listed, not dropped.
    assert report["unattributed"]["by_kind"]["reply"] == {"count": 1, "value": 1}
    (missing,) = report["unattributed"]["listed"]
    assert (missing["lead_id"], missing["kind"], missing["at"]) == (history["c"], "reply", at(5))


def test_first_last_and_position_based_by_hand(db: Session, history: dict[str, Any]) -> None:
    a0, a1, a2 = ("Q4", 0, "EMAIL", "A"), ("Q4", 1, "EMAIL", "A"), ("Q4", 2, "LINKEDIN", "A")
    b0, b1 = ("Q4", 0, "EMAIL", "B"), ("Q4", 1, "EMAIL", "B")
    first = rows(november(db, "first_touch"))
    assert pick(first[a0], *COUNTS) == (1, 1, 1, 1, D("1000.00"))
    assert pick(first[a2], *COUNTS) == (0, 0, 0, 0, 0)  # a row for its send, no credit
    assert (first[b0]["replies"], first[b1]["replies"]) == (1, 0)
    last = rows(november(db, "last-touch"))
    assert pick(last[a2], *COUNTS) == (1, 1, 1, 1, D("1000.00"))
    assert pick(last[a0], *COUNTS) == (0, 0, 0, 0, 0)
    assert (last[b0]["replies"], last[b1]["replies"]) == (0, 1)
    position = rows(november(db, "position_based"))
    # Three touches: 40 / 20 / 40. Two touches (B): 50 / 50.
    assert pick(position[a0], *COUNTS) == (D("0.4"), D("0.4"), D("0.4"), D("0.4"), D("400"))
    assert pick(position[a1], *COUNTS) == (D("0.2"), D("0.2"), D("0.2"), D("0.2"), D("200"))
    assert pick(position[a2], *COUNTS) == (D("0.4"), D("0.4"), D("0.4"), D("0.4"), D("400"))
    assert (position[b0]["replies"], position[b1]["replies"]) == (D("0.5"), D("0.5"))
    # With no cost set, nothing costs and no ROI is claimed.
    assert position[a0]["cost"] == 0 and position[a0]["roi"] is None


def test_touches_outside_the_lookback_earn_nothing(db: Session, history: dict[str, Any]) -> None:
    # The meeting (Nov 10) looks back 5 days to Nov 5: only the task (Nov 6, noon) counts.
    # The win (Nov 20) finds no touch in 5 days: unattributed, with its value.
    report = november(db, "linear", lookback_days=5)
    got = rows(report)
    assert got[("Q4", 2, "LINKEDIN", "A")]["meetings"] == 1
    assert got[("Q4", 0, "EMAIL", "A")]["meetings"] == 0
    assert report["unattributed"]["by_kind"]["won"] == {"count": 1, "value": D("1000.00")}
    assert report["totals"]["won_value"] == 0


def test_the_period_takes_only_its_outcomes_and_its_share_of_the_monthly_costs(
    db: Session, history: dict[str, Any]
) -> None:
    set_costs(db)
    # 1-5 November: B's reply (Nov 5) only; 5/30 of each monthly fee; the emails of Nov 2,
    # 3 and 4 (A and B twice, D once); the task (Nov 6) is outside.
    report = attribution_report(
        db, model="linear", date_from=date(2026, 11, 1), date_to=date(2026, 11, 5)
    )
    assert report["outcomes"] == {"reply": 1, "positive_reply": 0, "meeting": 0, "won": 0}
    got = rows(report)
    # EMAIL: 30 x 5/30 + 5 sends (A, B x 2, D) x 0.10 = 5.50, 1.10 a send;
    # the mailbox: 15 x 5/30 = 2.50, unallocated; LINKEDIN: no send, nothing.
    assert {k: r["cost"] for k, r in got.items()} == {
        ("Q4", 0, "EMAIL", "A"): D("1.10"),
        ("Q4", 1, "EMAIL", "A"): D("1.10"),
        ("Q4", 0, "EMAIL", "B"): D("1.10"),
        ("Q4", 1, "EMAIL", "B"): D("1.10"),
        (None, None, "EMAIL", None): D("1.10"),
    }
    assert report["totals"]["unallocated_cost"] == D("2.50")


def test_one_campaign_and_small_chunks_give_the_same_figures(
    db: Session, history: dict[str, Any]
) -> None:
    set_costs(db)
    whole = november(db, "position_based")
    chunked = november(db, "position_based", chunk_size=1)
    assert chunked == whole
    q4 = november(db, "position_based", campaign="Q4")
    assert [r for r in whole["rows"] if r["campaign"] == "Q4"] == q4["rows"]
    # Its share of the costs: four emails at 6.10 and the task's 2.00; not the mailbox's.
    assert q4["totals"]["cost"] == D("26.40")
    assert q4["totals"]["unallocated_cost"] == D("15.00")


def test_bad_requests_are_refused(db: Session) -> None:
    with pytest.raises(ValidationError, match="use one of"):
        november(db, "time_decay")
    with pytest.raises(ValidationError, match="ends"):
        attribution_report(
            db, model="linear", date_from=date(2026, 11, 2), date_to=date(2026, 11, 1)
        )
    with pytest.raises(NotFoundError, match="no campaign named 'Nope'"):
        november(db, "linear", campaign="Nope")
    with pytest.raises(ValidationError, match="lookback"):
        november(db, "linear", lookback_days=0)


def test_costs_are_set_changed_listed_and_removed(db: Session) -> None:
    first = costs.set_cost(db, channel="email", monthly="30", per_action="0.001")
    assert (first["scope"], first["name"], first["currency"]) == ("CHANNEL", "EMAIL", "USD")
    assert (first["monthly"], first["per_action"]) == (D("30"), D("0.001"))
    costs.set_cost(db, channel="EMAIL", per_action="0.002")  # the monthly fee stays
    add_mailbox(db, "sales", "sales@acme.example")
    costs.set_cost(db, mailbox="sales", monthly="12.5")
    costs.set_cost(db, channel="LINKEDIN", per_action="1.5")
    listed = costs.list_costs(db)
    assert [(c["scope"], c["name"], c["monthly"], c["per_action"]) for c in listed] == [
        ("CHANNEL", "EMAIL", D("30"), D("0.002")),
        ("CHANNEL", "LINKEDIN", D("0"), D("1.5")),
        ("MAILBOX", "sales", D("12.5"), D("0")),
    ]
    with pytest.raises(ValidationError, match="one currency per workspace"):
        costs.set_cost(db, channel="CONTACT_FORM", monthly="10", currency="EUR")
    with pytest.raises(ValidationError, match="exactly one"):
        costs.set_cost(db, channel="EMAIL", mailbox="sales", monthly="1")
    with pytest.raises(ValidationError, match="zero or more"):
        costs.set_cost(db, channel="CONTACT_FORM", monthly="-5")
    with pytest.raises(ValidationError, match="a monthly cost, a cost per action"):
        costs.set_cost(db, channel="CONTACT_FORM")
    with pytest.raises(NotFoundError, match="no mailbox named 'nope'"):
        costs.set_cost(db, mailbox="nope", monthly="1")
    with pytest.raises(ValidationError, match="unknown channel"):
        costs.set_cost(db, channel="FAX", monthly="1")
    assert len(costs.list_costs(db)) == 3  # nothing half-written by the refusals
    costs.remove_cost(db, mailbox="sales")
    with pytest.raises(NotFoundError):
        costs.remove_cost(db, mailbox="sales")
    assert [c["name"] for c in costs.list_costs(db)] == ["EMAIL", "LINKEDIN"]


def test_costs_and_reports_are_per_workspace(db: Session, history: dict[str, Any]) -> None:
    db.add(WorkspaceDB(id=2, slug="other", name="Other"))
    db.commit()
    costs.set_cost(db, channel="EMAIL", monthly="99", currency="GBP", workspace_id=2)
    assert costs.list_costs(db) == []
    other = november(db, "linear", workspace_id=2)
    assert other["rows"] == [] and other["outcomes"]["reply"] == 0
    assert other["totals"]["unallocated_cost"] == D("99.00")
    assert november(db, "linear")["currency"] is None
