"""Attribution: which touches earned a lead's outcome, and how much of it each one gets.

A lead is touched (an email sent, a LinkedIn message, a contact form, a task a person
did), then something happens: a reply, a positive reply, a meeting, a won deal. This
module decides what counts as an outcome (:func:`lead_outcomes`, from the lead's audit
trail) and splits each outcome's value between the touches that came before it
(:func:`credit`), by one of four models:

``first_touch``
    everything to the earliest touch in the lookback window;
``last_touch``
    everything to the latest touch at or before the outcome;
``linear``
    equal shares;
``position_based``
    40 % to the first, 40 % to the last, the remaining 20 % shared by the touches in
    between; one touch gets 100 %, two get 50 % each.

The shares are exact fractions; the amounts are Decimals rounded to a quantum (a cent for
money, 0.0001 for counts) by the largest-remainder method, so the credits of one outcome
always add up to exactly its value, whatever the rounding. Ties in the remainders go to the
earlier touch, so the split is deterministic.

Pure: no I/O, no clock; the caller passes the touches, the events and the window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import LeadStage
from aicmo.cam.domain.reply_categories import POSITIVE, ReplyCategory
from aicmo.errors import ValidationError

__all__ = [
    "COUNT_QUANTUM",
    "DEFAULT_LOOKBACK",
    "MONEY_QUANTUM",
    "AttributionModel",
    "Credit",
    "LeadEvent",
    "Outcome",
    "OutcomeKind",
    "Touch",
    "TouchKey",
    "allocate",
    "credit",
    "lead_outcomes",
    "model_weights",
    "touches_in_window",
]

#: Touches older than this before the outcome earn nothing (the default of the setting).
DEFAULT_LOOKBACK = timedelta(days=90)
#: Amounts of money are credited to the cent.
MONEY_QUANTUM = Decimal("0.01")
#: Counted outcomes (one reply, one meeting) are credited to the ten-thousandth.
COUNT_QUANTUM = Decimal("0.0001")


class AttributionModel(StrEnum):
    """How an outcome's value is split between the touches before it."""

    #: All of it to the earliest touch in the window.
    FIRST_TOUCH = "first_touch"
    #: All of it to the latest touch at or before the outcome.
    LAST_TOUCH = "last_touch"
    #: Equal shares.
    LINEAR = "linear"
    #: 40 % first, 40 % last, 20 % shared by the middle (one: 100 %, two: 50/50).
    POSITION_BASED = "position_based"


class OutcomeKind(StrEnum):
    """What happened that touches are credited for."""

    #: A human reply (auto-replies are not replies).
    REPLY = "reply"
    #: A reply whose latest category is positive (interested, meeting booked).
    POSITIVE_REPLY = "positive_reply"
    #: The lead's first meeting: a reply categorised meeting booked, or the stage MEETING.
    MEETING = "meeting"
    #: The deal was won (stage WON); its value is the lead's deal value.
    WON = "won"


@dataclass(frozen=True, slots=True, order=True)
class TouchKey:
    """Where a touch belongs in a report: campaign, step, channel and variant."""

    campaign_id: int | None
    step_index: int | None
    channel: str
    variant: str | None


@dataclass(frozen=True, slots=True)
class Touch:
    """One time the lead was reached (a sent attempt, a task a person did)."""

    campaign_id: int | None
    step_index: int | None
    channel: str
    variant: str | None
    at: datetime

    @property
    def key(self) -> TouchKey:
        return TouchKey(self.campaign_id, self.step_index, self.channel, self.variant)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Something a lead did that the touches are credited for.

    Args:
        kind: which outcome.
        value: what it is worth: 1 for a counted outcome, the deal value for a won deal.
        at: when it happened (a positive reply and a reply's meeting: when the reply came).
        ref: the audit-trail event it comes from, to list it when nothing is credited.
    """

    kind: OutcomeKind
    value: Decimal
    at: datetime
    ref: int | None = None


@dataclass(frozen=True, slots=True)
class Credit:
    """The part of one outcome that one touch earned: its exact share and the amount."""

    touch: Touch
    share: Fraction
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LeadEvent:
    """The facts of a lead's audit trail that outcomes are made of (see :func:`lead_outcomes`)."""

    id: int
    type: str
    at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)


def model_weights(model: AttributionModel | str, n: int) -> list[Fraction]:
    """The share of each of ``n`` time-ordered touches; they add up to exactly 1.

    Raises:
        ValidationError: an unknown model, or ``n < 1``.
    """
    model = parse_model(model)
    if n < 1:
        raise ValidationError(f"at least one touch is needed, got {n}", field="touches")
    if model is AttributionModel.FIRST_TOUCH:
        return [Fraction(1)] + [Fraction(0)] * (n - 1)
    if model is AttributionModel.LAST_TOUCH:
        return [Fraction(0)] * (n - 1) + [Fraction(1)]
    if model is AttributionModel.LINEAR or n <= 2:
        return [Fraction(1, n)] * n
    middle = Fraction(1, 5) / (n - 2)
    return [Fraction(2, 5)] + [middle] * (n - 2) + [Fraction(2, 5)]


def parse_model(model: AttributionModel | str) -> AttributionModel:
    """The model named by ``model`` (``linear``, ``first-touch`` and ``FIRST_TOUCH`` alike).

    Raises:
        ValidationError: no model has that name.
    """
    if isinstance(model, AttributionModel):
        return model
    name = str(model).strip().lower().replace("-", "_")
    try:
        return AttributionModel(name)
    except ValueError:
        known = ", ".join(m.value for m in AttributionModel)
        raise ValidationError(
            f"unknown attribution model {model!r}; use one of {known}", field="model"
        ) from None


def allocate(shares: Sequence[Fraction], total: Decimal, quantum: Decimal) -> list[Decimal]:
    """Split ``total`` by ``shares`` into multiples of ``quantum`` that add up to ``total``.

    Largest remainder (Hamilton): each part is first rounded down to the quantum; the
    quanta left over go one each to the parts with the largest remainders, the earlier
    part first on a tie. Every part is within one quantum of its exact share.

    Raises:
        ValidationError: the shares do not add up to 1 or one is negative, or ``total``
            is not a whole number of quanta.
    """
    if quantum <= 0:
        raise ValidationError(f"the quantum must be positive, got {quantum}", field="quantum")
    # Integers only (a report allocates millions of times): the shares over their common
    # denominator, the total in quanta.
    den = math.lcm(*(share.denominator for share in shares)) if shares else 0
    nums = [share.numerator * (den // share.denominator) for share in shares]
    if not shares or sum(nums) != den or any(n < 0 for n in nums):
        raise ValidationError("shares must be non-negative and add up to 1", field="shares")
    units_exact = total / quantum
    if units_exact != units_exact.to_integral_value():
        raise ValidationError(
            f"{total} is not a whole number of {quantum}; round it first", field="value"
        )
    units = int(units_exact)
    sign = -1 if units < 0 else 1
    units = abs(units)
    floors = [units * n // den for n in nums]
    left = units - sum(floors)
    if left:
        remainders = [units * n % den for n in nums]
        order = sorted(range(len(nums)), key=lambda i: (-remainders[i], i))
        for i in order[:left]:
            floors[i] += 1
    return [(sign * part * quantum).quantize(quantum, rounding=ROUND_FLOOR) for part in floors]


def touches_in_window(touches: Iterable[Touch], at: datetime, lookback: timedelta) -> list[Touch]:
    """The touches that may earn an outcome at ``at``: at or before it, and no older than
    ``lookback``; oldest first (equal instants keep the caller's order)."""
    start = at - lookback
    return sorted((t for t in touches if start <= t.at <= at), key=lambda t: t.at)


def credit(
    touches: Iterable[Touch],
    outcome: Outcome,
    model: AttributionModel | str,
    *,
    lookback: timedelta = DEFAULT_LOOKBACK,
    quantum: Decimal = MONEY_QUANTUM,
) -> list[Credit]:
    """Split one outcome's value between the touches before it, by ``model``.

    Returns one credit per touch in the window (first and last touch name the one touch
    that gets everything, the others are left out); an empty list when no touch is in the
    window: the outcome is unattributed, for the caller to report as such.

    Raises:
        ValidationError: an unknown model, a negative lookback, or a value that is not a
            whole number of quanta.
    """
    model = parse_model(model)
    if lookback < timedelta(0):
        raise ValidationError("the lookback cannot be negative", field="lookback")
    window = touches_in_window(touches, outcome.at, lookback)
    if not window:
        return []
    shares = model_weights(model, len(window))
    amounts = allocate(shares, outcome.value, quantum)
    return [
        Credit(touch=t, share=s, amount=a)
        for t, s, a in zip(window, shares, amounts, strict=True)
        if s
    ]


def _stage_to(event: LeadEvent) -> str | None:
    to = event.detail.get("to") if event.type == EventType.LEAD_STAGE_CHANGED.value else None
    return str(to) if to is not None else None


def _reply_categories(events: Sequence[LeadEvent]) -> dict[int, tuple[str, LeadEvent]]:
    """Each categorised reply's latest category (the operator's correction wins because it
    comes later), by the reply event's id."""
    latest: dict[int, tuple[str, LeadEvent]] = {}
    for event in sorted(events, key=lambda e: e.id):
        if event.type != EventType.REPLY_CATEGORIZED.value:
            continue
        reply_id = event.detail.get("reply_event_id")
        category = event.detail.get("category")
        if reply_id is None or category is None:
            continue
        latest[int(reply_id)] = (str(category), event)
    return latest


def lead_outcomes(
    events: Iterable[LeadEvent], *, stage: str | None, deal_value: Decimal | None
) -> list[Outcome]:
    """The outcomes of one lead, oldest first, from its audit trail (all of it).

    - every ``REPLY_RECEIVED`` is a reply (value 1);
    - a reply whose latest ``REPLY_CATEGORIZED`` category is positive is a positive reply,
      dated when the reply came;
    - the lead's meeting is its earliest sign of one: a reply whose latest category is
      meeting booked (dated when the reply came) or a move to stage MEETING; one per lead;
    - a won deal is the latest move to stage WON, counted only while the lead is still
      WON (a deal reopened or lost since is not won), worth the lead's deal value (0 when
      none is set); one per lead.

    Args:
        events: the lead's events (other types are ignored).
        stage: the lead's stage now.
        deal_value: the lead's deal value now.
    """
    events = list(events)
    replies = {e.id: e for e in events if e.type == EventType.REPLY_RECEIVED.value}
    out = [Outcome(OutcomeKind.REPLY, Decimal(1), e.at, e.id) for e in replies.values()]
    meeting_signs: list[tuple[datetime, int]] = []
    for reply_id, (category, categorized) in _reply_categories(events).items():
        reply = replies.get(reply_id)
        at, ref = (reply.at, reply.id) if reply is not None else (categorized.at, categorized.id)
        if category in POSITIVE:
            out.append(Outcome(OutcomeKind.POSITIVE_REPLY, Decimal(1), at, ref))
        if category == ReplyCategory.MEETING_BOOKED.value:
            meeting_signs.append((at, ref))
    stage_moves = sorted(
        (e for e in events if _stage_to(e) is not None), key=lambda e: (e.at, e.id)
    )
    meeting_signs += [(e.at, e.id) for e in stage_moves if _stage_to(e) == LeadStage.MEETING]
    if meeting_signs:
        at, ref = min(meeting_signs)
        out.append(Outcome(OutcomeKind.MEETING, Decimal(1), at, ref))
    wins = [e for e in stage_moves if _stage_to(e) == LeadStage.WON]
    if wins and stage == LeadStage.WON.value:
        value = deal_value if deal_value is not None else Decimal(0)
        out.append(Outcome(OutcomeKind.WON, value, wins[-1].at, wins[-1].id))
    return sorted(out, key=lambda o: (o.at, list(OutcomeKind).index(o.kind)))
