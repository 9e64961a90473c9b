"""The weekly digest's schedule and the key rates: pure rules, checked at their edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aicmo.cam.domain.digest import (
    MAX_TRIES,
    RETRY_AFTER,
    SlotAttempt,
    digest_due,
    digest_periods,
    latest_slot,
)
from aicmo.cam.domain.rates import change, rate, with_rates

PARIS = ZoneInfo("Europe/Paris")


def test_the_slot_is_the_latest_scheduled_instant_not_after_now() -> None:
    monday_9 = datetime(2026, 3, 2, 9, 0, tzinfo=PARIS)  # a Monday
    assert latest_slot(monday_9, weekday=0, hour=9, tz=PARIS) == monday_9
    just_before = monday_9 - timedelta(seconds=1)
    assert latest_slot(just_before, weekday=0, hour=9, tz=PARIS) == monday_9 - timedelta(days=7)
    thursday = datetime(2026, 3, 5, 18, tzinfo=PARIS)
    assert latest_slot(thursday, weekday=0, hour=9, tz=PARIS) == monday_9


def test_the_slot_keeps_the_local_hour_across_a_clock_change() -> None:
    # Paris moves to summer time on 29 March 2026: 9:00 is 08:00 UTC before, 07:00 after.
    before = latest_slot(datetime(2026, 3, 24, tzinfo=UTC), weekday=0, hour=9, tz=PARIS)
    after = latest_slot(datetime(2026, 3, 31, tzinfo=UTC), weekday=0, hour=9, tz=PARIS)
    assert (before.hour, after.hour) == (8, 7)
    assert before.tzinfo is UTC


@given(
    now=st.datetimes(
        min_value=datetime(2000, 1, 3), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
    ),
    weekday=st.integers(0, 6),
    hour=st.integers(0, 23),
)
def test_exactly_one_slot_falls_in_every_week_before_now(
    now: datetime, weekday: int, hour: int
) -> None:
    slot = latest_slot(now, weekday=weekday, hour=hour, tz=PARIS)
    local = slot.astimezone(PARIS)
    assert slot <= now < slot + timedelta(days=7, hours=1)
    assert (local.weekday(), local.minute) == (weekday, 0)


def test_the_digest_covers_the_seven_full_days_before_today_and_the_week_before() -> None:
    p = digest_periods(date(2026, 3, 9))
    assert (p.since, p.until) == (date(2026, 3, 2), date(2026, 3, 8))
    assert (p.previous_since, p.previous_until) == (date(2026, 2, 23), date(2026, 3, 1))


NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_a_slot_is_sent_once_and_an_unfinished_attempt_never_again() -> None:
    assert digest_due([], NOW)
    assert not digest_due([SlotAttempt(NOW - timedelta(hours=1), "SENT")], NOW)
    # The worker died during the send: it may have gone; never resent blindly.
    assert not digest_due([SlotAttempt(NOW - timedelta(days=1), None)], NOW)


def test_a_failed_send_is_retried_later_and_a_few_times_only() -> None:
    failed = SlotAttempt(NOW - RETRY_AFTER + timedelta(seconds=1), "FAILED")
    assert not digest_due([failed], NOW)
    assert digest_due([SlotAttempt(NOW - RETRY_AFTER, "FAILED")], NOW)
    many = [SlotAttempt(NOW - timedelta(hours=5 - i), "FAILED") for i in range(MAX_TRIES)]
    assert not digest_due(many, NOW)
    assert not digest_due([*many[:1], SlotAttempt(NOW - timedelta(hours=2), "SENT")], NOW)


def test_rates_are_percent_of_sent_and_zero_without_sends() -> None:
    assert rate(1, 3) == 33.33
    assert rate(5, 0) == 0.0
    figures = with_rates({"sent": 200, "bounced_hard": 3, "bounced_soft": 5, "replied": 9})
    assert figures["bounced"] == 8
    assert figures["bounce_rate"] == 4.0
    assert figures["reply_rate"] == 4.5
    assert figures["meeting_rate"] == 0.0
    assert change(4.5, 6.0) == -1.5


@pytest.mark.parametrize(("part", "whole"), [(0, 1), (1, 1), (7, 9), (10**9, 10**9 + 7)])
def test_a_rate_stays_between_0_and_100(part: int, whole: int) -> None:
    assert 0.0 <= rate(part, whole) <= 100.0
