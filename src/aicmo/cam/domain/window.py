"""Sending windows: when a lead may be contacted, on the lead's own wall clock.

Pure: no I/O, no clock. Every instant is passed in, timezone-aware, and every instant
returned is aware and in UTC.

A :class:`WorkCalendar` names an IANA time zone, the working weekdays and the daily
hours. The open instants are the union, over the working local dates ``D``, of the
half-open intervals ``[open(D), close(D))`` where:

- ``open(D)`` is the first instant at which the local clock reads at least ``D start``,
  and ``close(D)`` the first instant at which it reads at least ``D end``
  (``end == 00:00`` means the midnight that ends ``D``, so ``00:00–00:00`` is all day);
- a wall time that does not exist (the spring-forward gap) resolves to the end of the
  gap, the first instant the clock shows a later time (``02:30`` on a New York
  spring-forward day is ``03:00 EDT``);
- a wall time that happens twice (fall-back) resolves to its first occurrence, so a
  window never reopens during the repeated hour.

So on a DST day the window keeps its wall-clock hours and its length in UTC changes
only when the transition falls inside it. Working days are ``date.weekday()`` numbers
(0 = Monday … 6 = Sunday) of the local date.

Jitter is derived from a seed with SHA-256, never from ``random``: the same enrollment
gets the same offset on every worker and after every restart.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aicmo.errors import ValidationError

__all__ = [
    "WEEKDAYS",
    "WorkCalendar",
    "add_business_days",
    "is_open",
    "jitter",
    "next_open",
    "require_aware",
    "window_bounds",
]

#: Monday to Friday, as ``date.weekday()`` numbers.
WEEKDAYS: frozenset[int] = frozenset(range(5))

_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})(?::(\d{2}))?\s*$")
#: How far ahead to look for a working date; a week plus margin for skipped dates
#: (Pacific/Apia skipped 2011-12-30 entirely).
_SEARCH_DAYS = 16


def require_aware(value: datetime, name: str) -> datetime:
    """Return ``value`` unchanged if it carries a UTC offset.

    Raises:
        ValidationError: ``value`` is naive; ``field`` is ``name``.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{name} must be timezone-aware, got {value!r}", field=name)
    return value


def _zone(key: str) -> ZoneInfo:
    if not isinstance(key, str) or not key.strip():
        raise ValidationError(f"unknown time zone {key!r}", field="timezone")
    try:
        return ZoneInfo(key.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError) as err:
        raise ValidationError(
            f"unknown time zone {key!r} (expected an IANA name such as 'Europe/Paris')",
            field="timezone",
        ) from err


@dataclass(frozen=True, slots=True)
class WorkCalendar:
    """When a lead may be contacted: IANA time zone, working weekdays, daily hours.

    Args:
        timezone: an IANA name (``"Europe/Paris"``, ``"UTC"``).
        days: working weekdays, 0 = Monday … 6 = Sunday (default Monday–Friday).
        start: local opening time (default 09:00).
        end: local closing time, exclusive (default 17:00); ``00:00`` means midnight at
            the end of the day.

    Raises:
        ValidationError: unknown time zone, no working day, a day outside 0–6, times
            carrying a tzinfo, or ``start >= end`` (unless ``end`` is midnight).
    """

    timezone: str
    days: frozenset[int] = WEEKDAYS
    start: time = time(9, 0)
    end: time = time(17, 0)
    zone: ZoneInfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "zone", _zone(self.timezone))
        object.__setattr__(self, "timezone", self.timezone.strip())
        days = frozenset(self.days)
        if not days:
            raise ValidationError("a calendar needs at least one working day", field="days")
        bad = sorted(d for d in days if not isinstance(d, int) or not 0 <= d <= 6)
        if bad:
            raise ValidationError(
                f"working days are 0 (Monday) to 6 (Sunday), got {bad}", field="days"
            )
        object.__setattr__(self, "days", days)
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValidationError(f"{name} must be a local time without tzinfo", field=name)
        if self.end != time(0) and self.start >= self.end:
            raise ValidationError(
                f"start {self.start:%H:%M} must be before end {self.end:%H:%M}", field="end"
            )

    @classmethod
    def parse(
        cls,
        timezone: str,
        *,
        days: Iterable[int | str] | None = None,
        start: time | str = time(9, 0),
        end: time | str = time(17, 0),
    ) -> WorkCalendar:
        """A calendar from configuration values (YAML, JSON, a form).

        Days may be numbers (0 = Monday) or names (``"mon"``, ``"Tuesday"``); times may
        be ``"HH:MM"`` or ``"HH:MM:SS"`` strings.

        Raises:
            ValidationError: any value that does not parse, naming its field.
        """
        parsed_days = WEEKDAYS if days is None else frozenset(_parse_day(d) for d in days)
        return cls(
            timezone=timezone,
            days=parsed_days,
            start=_parse_time(start, "start"),
            end=_parse_time(end, "end"),
        )


def _parse_day(value: int | str) -> int:
    if isinstance(value, bool):
        raise ValidationError(f"not a weekday: {value!r}", field="days")
    if isinstance(value, int):
        return value
    text = str(value).strip().lower()
    if text.isdigit():
        return int(text)
    for number, name in enumerate(_DAY_NAMES):
        if text in (name[:3], name):
            return number
    raise ValidationError(f"not a weekday: {value!r}", field="days")


def _parse_time(value: time | str, name: str) -> time:
    if isinstance(value, time):
        return value
    match = _HHMM.match(str(value))
    if match is None:
        raise ValidationError(f"{name} must look like 'HH:MM', got {value!r}", field=name)
    hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        return time(hour, minute, second)
    except ValueError as err:
        raise ValidationError(f"{name} is not a time of day: {value!r}", field=name) from err


def _resolve(zone: ZoneInfo, day: date, at: time) -> datetime:
    """The first UTC instant at which the local clock reads at least ``day at``."""
    naive = datetime.combine(day, at)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = min(first, second), max(first, second)
    if lo == hi or lo.astimezone(zone).replace(tzinfo=None) == naive:
        # An ordinary wall time, or a repeated one (fall-back): its first occurrence.
        return lo
    # A wall time in a spring-forward gap. The clock shows less than `naive` at `lo`
    # and more at `hi`; the jump between them is the transition. tzdata transitions
    # fall on whole seconds, so a search on whole seconds finds it exactly.
    low, high = int(lo.timestamp()), int(hi.timestamp())
    while high - low > 1:
        mid = (low + high) // 2
        wall = datetime.fromtimestamp(mid, UTC).astimezone(zone).replace(tzinfo=None)
        if wall >= naive:
            high = mid
        else:
            low = mid
    return datetime.fromtimestamp(high, UTC)


def window_bounds(cal: WorkCalendar, day: date) -> tuple[datetime, datetime]:
    """The UTC instants ``[open, close)`` of the window on local date ``day``.

    The date need not be a working day (callers check ``day.weekday() in cal.days``).
    On a DST day the interval can be an hour shorter or longer; it can even be empty
    if the whole window lies inside a spring-forward gap.
    """
    opens = _resolve(cal.zone, day, cal.start)
    if cal.end == time(0):
        closes = _resolve(cal.zone, day + timedelta(days=1), time(0))
    else:
        closes = _resolve(cal.zone, day, cal.end)
    return opens, closes


def _local_date(cal: WorkCalendar, at: datetime) -> date:
    return at.astimezone(cal.zone).date()


def is_open(cal: WorkCalendar, at: datetime) -> bool:
    """Whether the calendar allows a send at instant ``at``.

    Raises:
        ValidationError: ``at`` is naive.
    """
    at = require_aware(at, "at").astimezone(UTC)
    local = _local_date(cal, at)
    for offset in (-1, 0, 1):
        day = local + timedelta(days=offset)
        if day.weekday() in cal.days:
            opens, closes = window_bounds(cal, day)
            if opens <= at < closes:
                return True
    return False


def next_open(cal: WorkCalendar, now: datetime) -> datetime:
    """The earliest open instant at or after ``now``: ``now`` itself if the window is open.

    Args:
        cal: the lead's calendar.
        now: an aware instant, any offset.

    Returns:
        An aware UTC datetime ``>= now``.

    Raises:
        ValidationError: ``now`` is naive.
    """
    now = require_aware(now, "now").astimezone(UTC)
    local = _local_date(cal, now)
    # Windows of successive dates are disjoint and in order, so the first one that
    # has not closed yet holds the answer.
    for offset in range(-1, _SEARCH_DAYS):
        day = local + timedelta(days=offset)
        if day.weekday() not in cal.days:
            continue
        opens, closes = window_bounds(cal, day)
        if opens < closes and closes > now:
            return max(opens, now)
    raise AssertionError(f"no open window within {_SEARCH_DAYS} days of {now}")  # pragma: no cover


def add_business_days(cal: WorkCalendar, start: datetime, n: int) -> datetime:
    """The instant ``n`` working days after ``start``, inside the window.

    Rule: let ``s = next_open(cal, start)`` (a start outside the window counts from the
    next opening). The result is the same local time of day as ``s`` on the ``n``-th
    working date after ``s``'s local date, moved to the next open instant if DST makes
    that wall time fall outside the window. ``n == 0`` gives ``s``. Friday 15:00 plus
    one business day is Monday 15:00; Saturday 10:00 plus one is Tuesday 09:00
    (Monday 09:00 is business day zero).

    Args:
        cal: the lead's calendar.
        start: an aware instant.
        n: working days to add, ``>= 0``.

    Returns:
        An aware UTC datetime at which the calendar is open.

    Raises:
        ValidationError: ``n`` is negative or ``start`` is naive.
    """
    if n < 0:
        raise ValidationError(f"business days must be >= 0, got {n}", field="delay_business_days")
    begin = next_open(cal, start)
    if n == 0:
        return begin
    local = begin.astimezone(cal.zone)
    day = local.date()
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if day.weekday() in cal.days:
            remaining -= 1
    wall = local.time().replace(fold=0)
    return next_open(cal, _resolve(cal.zone, day, wall))


def _digest(seed: str) -> int:
    return int.from_bytes(hashlib.sha256(seed.encode("utf-8")).digest()[:8], "big")


def jitter(seed: str, max_seconds: int) -> timedelta:
    """A deterministic offset in ``[0, max_seconds]`` whole seconds, fixed by ``seed``.

    Formula: ``H mod (max_seconds + 1)`` seconds, with ``H`` the first 8 bytes of
    SHA-256(seed) as a big-endian integer. Non-negative, so adding it never moves a
    send before the time it became allowed.

    Raises:
        ValidationError: ``max_seconds`` is negative.
    """
    if max_seconds < 0:
        raise ValidationError(f"max_seconds must be >= 0, got {max_seconds}", field="max_seconds")
    return timedelta(seconds=_digest(seed) % (max_seconds + 1))
