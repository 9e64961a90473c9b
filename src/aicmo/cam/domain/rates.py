"""The key rates of outreach, computed one way for reports, the digest and the dashboard.

Every rate is a percentage of the messages *sent* (accepted by a transport), as in
``get_channel_metrics``: a rate with nothing sent is 0.0, never an error. A change between
two periods is given in percentage points for a rate and as a plain difference for a
count, so "reply rate 4.0 % (+1.5 pt)" reads the same everywhere.
Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    """One rate: its name, what it counts, and a label for people."""

    name: str
    #: The counter (or derived count, see :func:`derived_counts`) over ``sent``.
    part: str
    label: str


#: The rates every report and digest shows, in this order.
KEY_RATES: tuple[Rate, ...] = (
    Rate("delivery_rate", "delivered", "Delivery rate"),
    Rate("reply_rate", "replied", "Reply rate"),
    Rate("positive_reply_rate", "positive_replied", "Positive reply rate"),
    Rate("meeting_rate", "meetings", "Meeting rate"),
    Rate("bounce_rate", "bounced", "Bounce rate"),
    Rate("complaint_rate", "complained", "Complaint rate"),
    Rate("unsubscribe_rate", "unsubscribed", "Unsubscribe rate"),
)

#: The counts a summary shows, with their labels, in this order.
KEY_COUNTS: tuple[tuple[str, str], ...] = (
    ("sent", "Sent"),
    ("delivered", "Delivered"),
    ("replied", "Replies"),
    ("positive_replied", "Positive replies"),
    ("meetings", "Meetings"),
    ("bounced", "Bounces"),
    ("complained", "Complaints"),
    ("unsubscribed", "Unsubscribes"),
)


def rate(part: int, whole: int) -> float:
    """``part`` as a percentage of ``whole``, two decimals; 0.0 when ``whole`` is 0."""
    return round(100.0 * part / whole, 2) if whole else 0.0


def derived_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """The counters plus ``bounced`` (hard and soft together)."""
    out = dict(counts)
    out["bounced"] = int(counts.get("bounced_hard", 0)) + int(counts.get("bounced_soft", 0))
    return out


def with_rates(counts: Mapping[str, int]) -> dict[str, float | int]:
    """The counters, ``bounced``, and every key rate over ``sent``."""
    full = derived_counts(counts)
    sent = int(full.get("sent", 0))
    rates = {r.name: rate(int(full.get(r.part, 0)), sent) for r in KEY_RATES}
    return {**full, **rates}


def change(current: float | int, previous: float | int) -> float:
    """``current - previous``, rounded as the rates are (points for a rate)."""
    return round(float(current) - float(previous), 2)
