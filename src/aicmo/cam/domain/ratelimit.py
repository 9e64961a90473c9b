"""Sliding-window rate-limit arithmetic: when may one more send go out?

Pure: no I/O, no clock. The caller passes the recorded send instants and ``now``; the
database enforces the answer later, in the same transaction as the send record
(invariant 3: no hour or day window ever has more sends than its limit).

Window convention (half-open, closed on the right): a window of length ``L`` that ends
at instant ``T`` holds the sends ``s`` with ``T - L < s <= T``. So a send at 10:00 and
one at 11:00 never share a one-hour window, and a limit of ``k`` per ``L`` means: for
every ``T``, at most ``k`` sends in ``(T - L, T]``. :func:`count_in_window` uses the same
convention.

A new send at ``at`` *fits* when, with it added, every window position still holds at
most its limit, and it is at least ``min_gap`` away from every recorded send. Sends
recorded later than ``at`` (a worker whose clock runs ahead, a reserved slot) are
honoured too; when every send is ``<= at`` this is simply
``count_in_window(sent, w, at) < w.limit`` for each window and
``at - latest >= min_gap``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aicmo.cam.domain.window import require_aware
from aicmo.errors import ValidationError

__all__ = ["Window", "count_in_window", "fits", "next_send_slot"]

_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True)
class Window:
    """At most ``limit`` sends in any interval ``(T - length, T]``.

    Raises:
        ValidationError: ``length`` is not positive or ``limit`` is below 1 (to stop a
            channel, disable it; a zero limit would never let anything through).
    """

    length: timedelta
    limit: int

    def __post_init__(self) -> None:
        if self.length <= _ZERO:
            raise ValidationError(f"window length must be > 0, got {self.length}", field="length")
        if isinstance(self.limit, bool) or self.limit < 1:
            raise ValidationError(f"window limit must be >= 1, got {self.limit!r}", field="limit")

    @classmethod
    def hourly(cls, limit: int) -> Window:
        """At most ``limit`` sends in any hour."""
        return cls(timedelta(hours=1), limit)

    @classmethod
    def daily(cls, limit: int) -> Window:
        """At most ``limit`` sends in any 24 hours."""
        return cls(timedelta(days=1), limit)


def count_in_window(sent: Iterable[datetime], window: Window, at: datetime) -> int:
    """How many sends lie in the window ending at ``at``: ``at - length < s <= at``."""
    start = at - window.length
    return sum(1 for s in sent if start < s <= at)


def _count(ordered: Sequence[datetime], start: datetime, end: datetime) -> int:
    """Sends in ``(start, end]`` of a sorted list."""
    return bisect_right(ordered, end) - bisect_right(ordered, start)


def _fits(
    ordered: Sequence[datetime], windows: Sequence[Window], at: datetime, min_gap: timedelta
) -> bool:
    if min_gap > _ZERO:
        # Any send in the open interval (at - gap, at + gap) is too close.
        i = bisect_right(ordered, at - min_gap)
        if i < len(ordered) and ordered[i] < at + min_gap:
            return False
    for w in windows:
        # The new send sits in every window ending at T in [at, at + length). The count
        # of the others only rises at a send instant, so the worst T is `at` itself or
        # a later send inside that range.
        worst = _count(ordered, at - w.length, at)
        lo = bisect_right(ordered, at)
        hi = bisect_left(ordered, at + w.length)
        for t in ordered[lo:hi]:
            worst = max(worst, _count(ordered, t - w.length, t))
        if worst + 1 > w.limit:
            return False
    return True


def fits(
    sent: Iterable[datetime],
    windows: Sequence[Window],
    at: datetime,
    min_gap: timedelta = _ZERO,
) -> bool:
    """Whether one more send at ``at`` keeps every window within its limit and the gap.

    Args:
        sent: recorded send instants (aware), in any order.
        windows: the limits that all apply (e.g. per hour and per day).
        at: the candidate instant (aware).
        min_gap: smallest distance allowed between two sends.

    Returns:
        True if the send may go at ``at``.
    """
    require_aware(at, "at")
    return _fits(sorted(sent), windows, at, min_gap)


def next_send_slot(
    sent: Iterable[datetime],
    windows: Sequence[Window],
    now: datetime,
    *,
    min_gap: timedelta = _ZERO,
) -> datetime:
    """The earliest instant ``>= now`` at which one more send fits every window and the gap.

    The set of fitting instants is a union of intervals closed on the left, and each
    left end is ``now``, some ``s + window.length`` (``s`` leaves that window) or some
    ``s + min_gap``. So the answer is the smallest of those candidates that fits; no
    scanning of time is needed and the result is exact.

    Args:
        sent: recorded send instants (aware), in any order; older than the longest
            window they no longer matter and may be left out.
        windows: the limits that all apply.
        now: the current instant (aware).
        min_gap: smallest distance allowed between two sends.

    Returns:
        ``now`` when a send fits right away, else the instant it will.

    Raises:
        ValidationError: ``now`` is naive or ``min_gap`` is negative.
    """
    require_aware(now, "now")
    if min_gap < _ZERO:
        raise ValidationError(f"min_gap must be >= 0, got {min_gap}", field="min_gap")
    ordered = sorted(sent)
    candidates = {now}
    for s in ordered:
        candidates.update(s + w.length for w in windows)
        if min_gap > _ZERO:
            candidates.add(s + min_gap)
    for at in sorted(c for c in candidates if c >= now):
        if _fits(ordered, windows, at, min_gap):
            return at
    # Past the last send plus the longest window and the gap, nothing is in the way.
    raise AssertionError("unreachable: the latest send plus the longest span always fits")
