"""The attribution models and the outcome rules (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicmo.cam.domain.attribution import (
    COUNT_QUANTUM,
    MONEY_QUANTUM,
    AttributionModel,
    Credit,
    LeadEvent,
    Outcome,
    OutcomeKind,
    Touch,
    allocate,
    credit,
    lead_outcomes,
    model_weights,
)
from aicmo.errors import ValidationError

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
ALL_MODELS = list(AttributionModel)


def touch(day: int, step: int = 0, channel: str = "EMAIL", campaign: int = 1) -> Touch:
    return Touch(campaign, step, channel, "A", T0 + timedelta(days=day))


def won(value: str, day: int) -> Outcome:
    return Outcome(OutcomeKind.WON, Decimal(value), T0 + timedelta(days=day))


def amounts(credits: list[Credit]) -> list[tuple[int | None, Decimal]]:
    return [(c.touch.step_index, c.amount) for c in credits]


def test_first_touch_gives_everything_to_the_earliest_touch_in_the_window() -> None:
    touches = [touch(5, 1), touch(1, 0), touch(9, 2)]
    got = credit(touches, won("900.00", 10), "first_touch")
    assert amounts(got) == [(0, Decimal("900.00"))]


def test_last_touch_gives_everything_to_the_latest_touch_before_the_outcome() -> None:
    touches = [touch(1, 0), touch(5, 1), touch(12, 2)]  # the third comes after the outcome
    got = credit(touches, won("900.00", 10), AttributionModel.LAST_TOUCH)
    assert amounts(got) == [(1, Decimal("900.00"))]


def test_linear_splits_evenly_and_gives_the_odd_cent_to_the_earliest() -> None:
    touches = [touch(1, 0), touch(2, 1), touch(3, 2)]
    got = credit(touches, won("100.00", 10), "linear")
    assert amounts(got) == [(0, Decimal("33.34")), (1, Decimal("33.33")), (2, Decimal("33.33"))]
    assert [c.share for c in got] == [Fraction(1, 3)] * 3


def test_position_based_is_40_20_40_with_the_middle_shared() -> None:
    touches = [touch(d, d) for d in range(4)]
    got = credit(touches, won("1000.00", 10), "position_based")
    assert amounts(got) == [
        (0, Decimal("400.00")),
        (1, Decimal("100.00")),
        (2, Decimal("100.00")),
        (3, Decimal("400.00")),
    ]


def test_position_based_with_one_touch_is_all_and_with_two_is_half_each() -> None:
    assert model_weights("position_based", 1) == [Fraction(1)]
    assert model_weights("position_based", 2) == [Fraction(1, 2), Fraction(1, 2)]
    assert model_weights("position_based", 3) == [Fraction(2, 5), Fraction(1, 5), Fraction(2, 5)]


def test_touches_older_than_the_lookback_earn_nothing() -> None:
    touches = [touch(0, 0), touch(50, 1), touch(95, 2)]
    outcome = Outcome(OutcomeKind.REPLY, Decimal(1), T0 + timedelta(days=100))
    got = credit(touches, outcome, "first_touch", lookback=timedelta(days=90))
    assert amounts(got) == [(1, Decimal("1.00"))]
    assert credit(touches, outcome, "linear", lookback=timedelta(days=1)) == []


def test_an_outcome_with_no_touch_before_it_is_unattributed() -> None:
    outcome = Outcome(OutcomeKind.REPLY, Decimal(1), T0)
    assert credit([touch(1)], outcome, "linear") == []
    assert credit([], outcome, "last_touch") == []


def test_counts_are_credited_in_ten_thousandths() -> None:
    outcome = Outcome(OutcomeKind.REPLY, Decimal(1), T0 + timedelta(days=10))
    got = credit([touch(1, 0), touch(2, 1), touch(3, 2)], outcome, "linear", quantum=COUNT_QUANTUM)
    assert [c.amount for c in got] == [Decimal("0.3334"), Decimal("0.3333"), Decimal("0.3333")]


def test_model_names_are_forgiving_but_unknown_ones_are_refused() -> None:
    assert model_weights("First-Touch", 2) == [Fraction(1), Fraction(0)]
    with pytest.raises(ValidationError, match="use one of first_touch"):
        model_weights("time_decay", 2)


def test_a_value_finer_than_the_quantum_is_refused_rather_than_rounded_silently() -> None:
    with pytest.raises(ValidationError, match="not a whole number"):
        allocate([Fraction(1)], Decimal("1.005"), MONEY_QUANTUM)


touch_days = st.lists(st.integers(min_value=0, max_value=120), min_size=0, max_size=30)
money = st.decimals(
    min_value=Decimal("-100000"), max_value=Decimal("1000000"), places=2, allow_nan=False
)


@given(days=touch_days, value=money, model=st.sampled_from(ALL_MODELS))
def test_the_credits_of_an_outcome_add_up_to_exactly_its_value(
    days: list[int], value: Decimal, model: AttributionModel
) -> None:
    touches = [touch(d, i) for i, d in enumerate(days)]
    outcome = Outcome(OutcomeKind.WON, value, T0 + timedelta(days=100))
    got = credit(touches, outcome, model, lookback=timedelta(days=90))
    in_window = [d for d in days if 10 <= d <= 100]
    if not in_window:
        assert got == []
        return
    assert sum((c.amount for c in got), Decimal(0)) == value
    assert sum((c.share for c in got), Fraction(0)) == 1
    for c in got:
        # Within one quantum of the exact share, and a whole number of quanta.
        assert abs(Fraction(c.amount) - c.share * Fraction(value)) < Fraction(MONEY_QUANTUM)
        assert c.amount == c.amount.quantize(MONEY_QUANTUM)
        assert T0 + timedelta(days=10) <= c.touch.at <= outcome.at


@given(
    shares=st.lists(st.integers(min_value=0, max_value=50), min_size=1, max_size=20).filter(any),
    units=st.integers(min_value=0, max_value=10**9),
)
def test_allocation_is_exact_for_any_shares(shares: list[int], units: int) -> None:
    total = sum(shares)
    fractions = [Fraction(s, total) for s in shares]
    value = Decimal(units) * COUNT_QUANTUM
    parts = allocate(fractions, value, COUNT_QUANTUM)
    assert sum(parts, Decimal(0)) == value
    assert all(p >= 0 for p in parts)
    assert all(p == 0 for p, s in zip(parts, shares, strict=True) if s == 0)


def ev(id_: int, type_: str, day: float, **detail: object) -> LeadEvent:
    return LeadEvent(id_, type_, T0 + timedelta(days=day), detail)


def test_the_latest_category_of_a_reply_is_the_one_that_counts() -> None:
    events = [
        ev(1, "REPLY_RECEIVED", 1),
        ev(2, "REPLY_CATEGORIZED", 1.1, category="interested", previous=None, reply_event_id=1),
        ev(3, "REPLY_RECEIVED", 2),
        ev(4, "REPLY_CATEGORIZED", 2.1, category="interested", previous=None, reply_event_id=3),
        # The operator corrects the second reply: not interested after all.
        ev(5, "REPLY_CATEGORIZED", 3, category="not_interested", previous="interested",
           reply_event_id=3),
    ]  # fmt: skip
    got = lead_outcomes(events, stage="ENGAGED", deal_value=None)
    assert [(o.kind, o.at, o.ref) for o in got] == [
        (OutcomeKind.REPLY, events[0].at, 1),
        (OutcomeKind.POSITIVE_REPLY, events[0].at, 1),  # dated when the reply came
        (OutcomeKind.REPLY, events[2].at, 3),
    ]


def test_a_lead_has_one_meeting_at_its_earliest_sign() -> None:
    events = [
        ev(1, "REPLY_RECEIVED", 1),
        ev(2, "REPLY_CATEGORIZED", 1.5, category="meeting_booked", reply_event_id=1),
        ev(3, "LEAD_STAGE_CHANGED", 4, **{"from": "ENGAGED", "to": "MEETING"}),
    ]
    got = lead_outcomes(events, stage="MEETING", deal_value=None)
    assert [(o.kind, o.at) for o in got if o.kind is OutcomeKind.MEETING] == [
        (OutcomeKind.MEETING, events[0].at)
    ]
    only_stage = lead_outcomes(events[2:], stage="MEETING", deal_value=None)
    assert [(o.kind, o.at) for o in only_stage] == [(OutcomeKind.MEETING, events[2].at)]


def test_a_won_deal_is_the_latest_move_to_won_and_only_while_the_lead_is_won() -> None:
    events = [
        ev(1, "LEAD_STAGE_CHANGED", 1, **{"from": "MEETING", "to": "WON"}),
        ev(2, "LEAD_STAGE_CHANGED", 2, **{"from": "WON", "to": "QUALIFIED"}),
        ev(3, "LEAD_STAGE_CHANGED", 5, **{"from": "QUALIFIED", "to": "WON"}),
    ]
    got = lead_outcomes(events, stage="WON", deal_value=Decimal("1200.50"))
    assert [(o.kind, o.value, o.at) for o in got] == [
        (OutcomeKind.WON, Decimal("1200.50"), events[2].at)
    ]
    assert lead_outcomes(events, stage="LOST", deal_value=Decimal("1200.50")) == []
    no_value = lead_outcomes(events, stage="WON", deal_value=None)
    assert [o.value for o in no_value] == [Decimal(0)]
