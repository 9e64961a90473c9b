"""Cost arithmetic (pure): monthly fees prorated by day, shares by sends, amounts parsed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicmo.cam.domain.costs import (
    CostRate,
    CostScope,
    parse_amount,
    parse_currency,
    prorated_monthly,
    scope_cost,
    share_cost,
    tidy_amount,
)
from aicmo.errors import ValidationError


def test_a_whole_month_is_the_whole_fee_and_days_are_a_share_of_their_own_month() -> None:
    assert prorated_monthly(Decimal(30), date(2026, 11, 1), date(2026, 11, 30)) == 30
    assert prorated_monthly(Decimal(30), date(2026, 11, 1), date(2026, 11, 5)) == 5
    # 31 January (1/31 of January's fee) and 1 February (1/28 of February's).
    got = prorated_monthly(Decimal(31 * 28), date(2027, 1, 31), date(2027, 2, 1))
    assert got == 28 + 31
    with pytest.raises(ValidationError, match="before it starts"):
        prorated_monthly(Decimal(1), date(2026, 11, 2), date(2026, 11, 1))


@given(
    start=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    months=st.integers(min_value=1, max_value=30),
)
def test_whole_months_in_a_row_cost_exactly_one_fee_each(start: date, months: int) -> None:
    first = start.replace(day=1)
    year, month = divmod(first.month - 1 + months, 12)
    end = date(first.year + year, month + 1, 1) - timedelta(days=1)
    assert prorated_monthly(Decimal("19.99"), first, end) == Fraction(Decimal("19.99")) * months


def test_a_scope_costs_its_fee_plus_its_sends_to_the_cent() -> None:
    rate = CostRate(CostScope.CHANNEL, "EMAIL", 0, Decimal(30), Decimal("0.001"), "EUR")
    assert scope_cost(rate, 1234, date(2026, 11, 1), date(2026, 11, 30)) == Decimal("31.23")
    # 10 days of November: 10.00, and 5 sends at 0.001: 0.005, rounded half to even.
    assert scope_cost(rate, 5, date(2026, 11, 1), date(2026, 11, 10)) == Decimal("10.00")


def test_a_cost_is_shared_by_sends_and_a_scope_with_none_shares_nothing() -> None:
    # 3.333… and 6.666…: the odd cent goes to the larger remainder.
    assert share_cost(Decimal("10.00"), {"a": 1, "b": 2}) == {
        "a": Decimal("3.33"),
        "b": Decimal("6.67"),
    }
    assert share_cost(Decimal("10.00"), {"a": 0}) == {}
    assert share_cost(Decimal("10.00"), {}) == {}


@given(
    cents=st.integers(min_value=0, max_value=10**10),
    sends=st.dictionaries(st.integers(0, 50), st.integers(0, 10**6), max_size=20),
)
def test_shares_always_add_up_to_exactly_the_cost(cents: int, sends: dict[int, int]) -> None:
    cost = Decimal(cents) / 100
    shares = share_cost(cost, sends)
    if sum(sends.values()) == 0:
        assert shares == {}
    else:
        assert sum(shares.values(), Decimal(0)) == cost
        assert set(shares) == {k for k, n in sends.items() if n}


@pytest.mark.parametrize(
    ("value", "message"),
    [("-1", "zero or more"), ("abc", "a number"), ("NaN", "zero or more"), ("1e20", "too large"),
     ("0.0000001", "six decimal places")],
)  # fmt: skip
def test_bad_amounts_are_refused_with_the_reason(value: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message) as err:
        parse_amount(value, "monthly")
    assert err.value.field == "monthly"


def test_amounts_and_currencies_are_read_as_people_write_them() -> None:
    assert parse_amount(" 0.001 ", "per_action") == Decimal("0.001")
    assert parse_currency("eur") == "EUR"
    with pytest.raises(ValidationError, match="three-letter"):
        parse_currency("euro")
    assert str(tidy_amount(Decimal("30.000000"))) == "30.00"
    assert str(tidy_amount(Decimal("0.001000"))) == "0.001"
    assert str(tidy_amount(Decimal("0.100000"))) == "0.10"
