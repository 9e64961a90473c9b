"""What sending costs, and how a cost is shared between the campaigns that caused it.

A cost rate belongs to a scope: a whole channel (an email service's fee, a LinkedIn
provider's plan), one mailbox (its seat) or one LinkedIn provider account. It has a
monthly fee, a price per action (per send), or both, in the workspace's one currency.

For a report period (whole days, both ends included):

- a monthly fee is spread evenly over the days of each calendar month, and the period
  takes the days it covers (1-30 November: the whole fee; 1-15 November: half of it;
  31 January-1 February: 1/31 of January's fee plus 1/28 of February's);
- the price per action is paid once per send of the scope in the period;
- the scope's cost (both parts, to the cent) is shared between the report's rows
  (campaign, step, channel, variant) by their share of the scope's sends; a scope with
  no send in the period cannot be shared, and is reported as unallocated.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import calendar
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from enum import StrEnum
from fractions import Fraction
from typing import TypeVar

from aicmo.cam.domain.attribution import MONEY_QUANTUM, allocate
from aicmo.errors import ValidationError

__all__ = [
    "CostRate",
    "CostScope",
    "parse_amount",
    "parse_currency",
    "prorated_monthly",
    "scope_cost",
    "share_cost",
    "tidy_amount",
]

K = TypeVar("K", bound=Hashable)

#: The largest amount a rate may hold (the column is NUMERIC(18, 6)).
MAX_AMOUNT = Decimal("999999999999")
#: Amounts are kept to the millionth: a price per send is often a fraction of a cent.
RATE_QUANTUM = Decimal("0.000001")


class CostScope(StrEnum):
    """What a cost rate is for."""

    #: Every send of one channel.
    CHANNEL = "CHANNEL"
    #: The sends of one mailbox.
    MAILBOX = "MAILBOX"
    #: The sends of one LinkedIn provider account.
    LINKEDIN_ACCOUNT = "LINKEDIN_ACCOUNT"


@dataclass(frozen=True, slots=True)
class CostRate:
    """One scope's prices: ``target_id`` is the mailbox's or account's id, 0 for a channel."""

    scope: CostScope
    channel: str
    target_id: int
    monthly: Decimal
    per_action: Decimal
    currency: str


def parse_amount(value: object, field: str) -> Decimal:
    """A non-negative amount of money, kept to the millionth.

    Raises:
        ValidationError: not a number, negative, too large or finer than a millionth.
    """
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationError(f"{field} must be a number, got {value!r}", field=field) from None
    if not amount.is_finite() or amount < 0:
        raise ValidationError(f"{field} must be zero or more, got {value!r}", field=field)
    if amount > MAX_AMOUNT:
        raise ValidationError(f"{field} is too large: {value!r}", field=field)
    if amount != amount.quantize(RATE_QUANTUM):
        raise ValidationError(f"{field} has more than six decimal places: {value!r}", field=field)
    return amount.quantize(RATE_QUANTUM)


def parse_currency(value: object) -> str:
    """An ISO 4217 code, upper-cased (``eur`` → ``EUR``).

    Raises:
        ValidationError: not three letters.
    """
    code = str(value or "").strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValidationError(
            f"the currency must be a three-letter ISO 4217 code such as EUR or USD, got {value!r}",
            field="currency",
        )
    return code


def tidy_amount(value: Decimal) -> Decimal:
    """A rate as a person writes it: at least the cents, no trailing zeros past them
    (``30.000000`` → ``30.00``, ``0.001000`` → ``0.001``)."""
    plain = value.normalize()
    exponent = plain.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        return value.quantize(MONEY_QUANTUM)
    return plain


def prorated_monthly(monthly: Decimal, start: date, end: date) -> Fraction:
    """The part of a monthly fee that falls on the days ``start``..``end`` (both included):
    each day carries 1/(days in its month) of the fee. Exact.

    Raises:
        ValidationError: ``end`` is before ``start``.
    """
    if end < start:
        raise ValidationError(f"the period ends ({end}) before it starts ({start})", field="to")
    total = Fraction(0)
    day = start
    while day <= end:
        length = calendar.monthrange(day.year, day.month)[1]
        last = min(end, date(day.year, day.month, length))
        covered = (last - day).days + 1
        total += Fraction(monthly) * covered / length
        day = last + timedelta(days=1)
    return total


def scope_cost(rate: CostRate, sends: int, start: date, end: date) -> Decimal:
    """What one scope cost over the period, to the cent (half-even): its prorated monthly
    fee plus ``sends`` times its price per action."""
    exact = prorated_monthly(rate.monthly, start, end) + Fraction(rate.per_action) * sends
    cents = Decimal(exact.numerator) / Decimal(exact.denominator)
    return cents.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


def share_cost(cost: Decimal, sends: Mapping[K, int]) -> dict[K, Decimal]:
    """Split a scope's cost between rows by their sends; the parts add up to exactly
    ``cost`` (largest remainder, to the cent). Empty when the scope had no send."""
    rows = [(key, n) for key, n in sends.items() if n > 0]
    total = sum(n for _, n in rows)
    if not total:
        return {}
    parts = allocate([Fraction(n, total) for _, n in rows], cost, MONEY_QUANTUM)
    return {key: part for (key, _), part in zip(rows, parts, strict=True)}
