"""When a step falls due, and whether it still applies.

- A step falls due ``delay_hours`` after the previous step's send (or the enrolment,
  for the first step); when ``delay_business_days`` is set, that many working days of
  the calendar are then added (see :func:`aicmo.cam.domain.window.add_business_days`;
  without a calendar, Monday–Friday in UTC with the time of day kept).
- When a calendar is given, every instant a decision schedules is moved to the
  calendar's next open instant, so ``next_run_at`` is when the step can really go.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from aicmo.cam.domain.sequencing.steps import Sequence, Step
from aicmo.cam.domain.window import WorkCalendar, add_business_days, next_open, require_aware


def first_run_at(seq: Sequence, record: str | None, now: datetime) -> datetime:
    """When a new enrollment's first step falls due: its (variant's) ``delay_hours``."""
    return now + timedelta(hours=seq.with_variants(record).steps[0].delay_hours)


def step_applies(step: Step, *, replied: bool) -> bool:
    """Whether a step still goes out, given whether the lead has replied."""
    return step.condition == "always" or not replied


#: Monday–Friday in UTC, all day: counts business days when no calendar is given.
_UTC_WEEKDAYS = WorkCalendar("UTC", start=time(0), end=time(0))


def due_at(step: Step, after: datetime, cal: WorkCalendar | None = None) -> datetime:
    """When ``step`` falls due, counted from ``after`` (the previous send or the enrolment).

    ``after + delay_hours``, then plus ``delay_business_days`` working days, then (with
    a calendar) moved to the calendar's next open instant.

    Raises:
        ValidationError: ``after`` is naive.
    """
    require_aware(after, "now")
    at = after + timedelta(hours=step.delay_hours)
    if step.delay_business_days:
        at = add_business_days(cal or _UTC_WEEKDAYS, at, step.delay_business_days)
    if cal is not None:
        at = next_open(cal, at)
    return at
