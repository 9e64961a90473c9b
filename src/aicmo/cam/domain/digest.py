"""When the weekly digest is due, and which weeks it compares. Pure: no I/O, no clock.

The digest is scheduled at a weekday and an hour in the installation's time zone. The
*slot* is the latest such instant at or before now; the worker sends the slot's digest at
most once: the attempt is on record before the send, so a worker that restarts (or a
second worker) finds it and does not send again. A send that *failed* outright (the
server refused it, the connection could not be made) is tried again, at most
:data:`MAX_TRIES` times, :data:`RETRY_AFTER` apart; an attempt with no outcome (the worker
died during the send) is never repeated: the digest may have gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aicmo.cam.domain.window import require_aware

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: Attempts at one slot's digest, the first included.
MAX_TRIES = 3
#: Wait after a failed attempt before the next.
RETRY_AFTER = timedelta(minutes=15)
#: Days a digest covers; it compares them with the same number of days before.
DIGEST_DAYS = 7


def latest_slot(now: datetime, *, weekday: int, hour: int, tz: ZoneInfo) -> datetime:
    """The latest scheduled instant (``weekday`` at ``hour``:00 in ``tz``) at or before
    ``now``; returned in ``now``'s time zone."""
    require_aware(now, "now")
    local = now.astimezone(tz)
    day = local.date() - timedelta(days=(local.weekday() - weekday) % 7)
    slot = datetime.combine(day, time(hour), tzinfo=tz)
    if slot > local:
        slot = datetime.combine(day - timedelta(days=7), time(hour), tzinfo=tz)
    return slot.astimezone(now.tzinfo)


@dataclass(frozen=True, slots=True)
class Periods:
    """The week a digest covers and the week before it (all days included)."""

    since: date
    until: date
    previous_since: date
    previous_until: date


def digest_periods(today: date, days: int = DIGEST_DAYS) -> Periods:
    """The ``days`` full days before ``today``, and the ``days`` before those."""
    until = today - timedelta(days=1)
    since = today - timedelta(days=days)
    return Periods(since, until, since - timedelta(days=days), since - timedelta(days=1))


@dataclass(frozen=True, slots=True)
class SlotAttempt:
    """One attempt at a slot's digest, as the audit trail tells it."""

    at: datetime
    #: ``"SENT"``, ``"FAILED"``, or None while (or because) no outcome was recorded.
    outcome: str | None


def digest_due(attempts: Sequence[SlotAttempt], now: datetime) -> bool:
    """Whether the slot's digest should be (re)sent now, given its attempts so far
    (oldest first)."""
    if not attempts:
        return True
    last = attempts[-1]
    if any(a.outcome == "SENT" for a in attempts) or last.outcome != "FAILED":
        return False
    return len(attempts) < MAX_TRIES and now - last.at >= RETRY_AFTER
