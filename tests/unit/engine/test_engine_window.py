"""Sending windows: the lead's wall clock, working days, DST and far-away zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aicmo.cam.domain.window import (
    WorkCalendar,
    add_business_days,
    is_open,
    jitter,
    next_open,
    window_bounds,
)
from aicmo.errors import ValidationError

ALL_DAYS = frozenset(range(7))


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def local(zone: str, y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# ----------------------------------------------------------------------- the basics

PARIS = WorkCalendar("Europe/Paris")


def test_inside_the_window_the_next_open_instant_is_now() -> None:
    now = local("Europe/Paris", 2024, 6, 11, 10, 17)  # a Tuesday
    assert next_open(PARIS, now) == now


def test_before_opening_it_waits_for_the_start_of_the_same_day() -> None:
    now = local("Europe/Paris", 2024, 6, 11, 7, 0)
    assert next_open(PARIS, now) == local("Europe/Paris", 2024, 6, 11, 9, 0)


def test_after_closing_it_waits_for_the_next_working_morning() -> None:
    now = local("Europe/Paris", 2024, 6, 11, 18, 0)
    assert next_open(PARIS, now) == local("Europe/Paris", 2024, 6, 12, 9, 0)


def test_friday_evening_waits_until_monday_morning() -> None:
    now = local("Europe/Paris", 2024, 6, 14, 17, 30)
    assert next_open(PARIS, now) == local("Europe/Paris", 2024, 6, 17, 9, 0)


def test_the_start_is_inside_the_window_and_the_end_is_not() -> None:
    opening = local("Europe/Paris", 2024, 6, 11, 9, 0)
    closing = local("Europe/Paris", 2024, 6, 11, 17, 0)
    assert is_open(PARIS, opening)
    assert not is_open(PARIS, closing)
    assert is_open(PARIS, closing - timedelta(microseconds=1))
    assert next_open(PARIS, closing) == local("Europe/Paris", 2024, 6, 12, 9, 0)


def test_any_offset_goes_in_and_utc_comes_out() -> None:
    now = datetime(2024, 6, 11, 7, 0, tzinfo=timezone(timedelta(hours=2)))  # 07:00 Paris
    result = next_open(PARIS, now)
    assert result.tzinfo is UTC
    assert result == utc(2024, 6, 11, 7, 0)


def test_a_naive_instant_is_refused() -> None:
    with pytest.raises(ValidationError) as err:
        next_open(PARIS, datetime(2024, 6, 11, 10, 0))
    assert err.value.field == "now"


def test_midnight_as_end_means_the_whole_rest_of_the_day() -> None:
    cal = WorkCalendar("UTC", days=ALL_DAYS, start=time(0), end=time(0))
    assert window_bounds(cal, date(2024, 6, 11)) == (utc(2024, 6, 11), utc(2024, 6, 12))
    assert is_open(cal, utc(2024, 6, 11, 23, 59))
    assert next_open(cal, utc(2024, 6, 15, 12, 0)) == utc(2024, 6, 15, 12, 0)


def test_custom_working_days_sunday_to_thursday() -> None:
    cal = WorkCalendar("Asia/Jerusalem", days=frozenset({6, 0, 1, 2, 3}))
    thursday_evening = local("Asia/Jerusalem", 2024, 6, 13, 18, 0)
    assert next_open(cal, thursday_evening) == local("Asia/Jerusalem", 2024, 6, 16, 9, 0)


# ------------------------------------------------------------------ validation


@pytest.mark.parametrize(
    "name", ["Mars/Olympus_Mons", "", "   ", "../etc/passwd", "Europe", "CET/"]
)
def test_an_invalid_time_zone_is_refused_by_name(name: str) -> None:
    with pytest.raises(ValidationError) as err:
        WorkCalendar(name)
    assert err.value.field == "timezone"
    assert repr(name) in str(err.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": frozenset()}, "days"),
        ({"days": frozenset({7})}, "days"),
        ({"days": frozenset({-1, 2})}, "days"),
        ({"start": time(17), "end": time(9)}, "end"),
        ({"start": time(9), "end": time(9)}, "end"),
        ({"start": time(9, tzinfo=UTC)}, "start"),
    ],
)
def test_a_bad_calendar_names_its_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        WorkCalendar("Europe/Paris", **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_a_calendar_parses_from_configuration_values() -> None:
    cal = WorkCalendar.parse(
        " America/New_York ", days=["mon", "Tuesday", "3", 4], start="08:30", end="18:00:00"
    )
    assert cal == WorkCalendar(
        "America/New_York", days=frozenset({0, 1, 3, 4}), start=time(8, 30), end=time(18)
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"days": ["funday"]}, "days"),
        ({"days": [True]}, "days"),
        ({"start": "9am"}, "start"),
        ({"end": "25:00"}, "end"),
    ],
)
def test_configuration_values_that_do_not_parse_name_their_field(
    kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        WorkCalendar.parse("UTC", **kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


# ------------------------------------------------------------------------- DST


def test_paris_spring_forward_moves_the_utc_opening_one_hour_earlier() -> None:
    # Sunday 2024-03-31, 02:00 CET -> 03:00 CEST. Friday opens 08:00Z, Monday 07:00Z.
    friday_evening = local("Europe/Paris", 2024, 3, 29, 17, 30)
    assert next_open(PARIS, friday_evening) == utc(2024, 4, 1, 7, 0)
    every_day = WorkCalendar("Europe/Paris", days=ALL_DAYS)
    assert window_bounds(every_day, date(2024, 3, 30)) == (
        utc(2024, 3, 30, 8),
        utc(2024, 3, 30, 16),
    )
    assert window_bounds(every_day, date(2024, 3, 31)) == (
        utc(2024, 3, 31, 7),
        utc(2024, 3, 31, 15),
    )


def test_paris_spring_forward_a_window_across_the_gap_is_one_hour_shorter() -> None:
    cal = WorkCalendar("Europe/Paris", days=ALL_DAYS, start=time(1), end=time(5))
    opens, closes = window_bounds(cal, date(2024, 3, 31))
    assert (opens, closes) == (utc(2024, 3, 31, 0), utc(2024, 3, 31, 3))
    assert closes - opens == timedelta(hours=3)


def test_a_start_inside_the_spring_forward_gap_opens_when_the_clock_jumps_past_it() -> None:
    # 02:30 does not exist in Paris on 2024-03-31: the clock goes 01:59:59 CET -> 03:00 CEST.
    cal = WorkCalendar("Europe/Paris", days=ALL_DAYS, start=time(2, 30), end=time(12))
    assert next_open(cal, utc(2024, 3, 30, 23, 0)) == utc(2024, 3, 31, 1, 0)
    assert not is_open(cal, utc(2024, 3, 31, 1, 0) - timedelta(seconds=1))


def test_paris_fall_back_moves_the_utc_opening_one_hour_later() -> None:
    # Sunday 2024-10-27, 03:00 CEST -> 02:00 CET. Friday opens 07:00Z, Monday 08:00Z.
    friday_evening = local("Europe/Paris", 2024, 10, 25, 17, 30)
    assert next_open(PARIS, friday_evening) == utc(2024, 10, 28, 8, 0)


def test_a_start_in_the_repeated_hour_opens_at_its_first_occurrence_and_stays_open() -> None:
    cal = WorkCalendar("Europe/Paris", days=ALL_DAYS, start=time(2, 30), end=time(4))
    opens, closes = window_bounds(cal, date(2024, 10, 27))
    assert opens == utc(2024, 10, 27, 0, 30)  # 02:30 CEST, the first 02:30
    assert closes == utc(2024, 10, 27, 3, 0)  # 04:00 CET
    second_two_forty_five = utc(2024, 10, 27, 1, 45)  # 02:45 CET, the second one
    assert is_open(cal, second_two_forty_five)


def test_new_york_spring_forward_and_fall_back_keep_nine_o_clock_local() -> None:
    ny = WorkCalendar("America/New_York")
    # 2024-03-10: EST -> EDT. Friday evening EST, Monday 09:00 EDT = 13:00Z.
    assert next_open(ny, local("America/New_York", 2024, 3, 8, 17, 30)) == utc(2024, 3, 11, 13)
    # 2024-11-03: EDT -> EST. Friday evening EDT, Monday 09:00 EST = 14:00Z.
    assert next_open(ny, local("America/New_York", 2024, 11, 1, 18, 0)) == utc(2024, 11, 4, 14)


def test_new_york_on_the_transition_sundays_themselves() -> None:
    ny = WorkCalendar("America/New_York", days=ALL_DAYS, start=time(2, 30), end=time(17))
    # Spring forward: 02:30 is skipped, the window opens at 03:00 EDT = 07:00Z.
    assert next_open(ny, utc(2024, 3, 10, 5, 0)) == utc(2024, 3, 10, 7, 0)
    # Fall back: 01:00-02:00 happens twice; 02:30 EST happens once = 07:30Z.
    assert next_open(ny, utc(2024, 11, 3, 4, 0)) == utc(2024, 11, 3, 7, 30)
    late = WorkCalendar("America/New_York", days=ALL_DAYS, start=time(1, 30), end=time(17))
    # 01:30 happens twice; the window opens at the first one (EDT, 05:30Z).
    assert next_open(late, utc(2024, 11, 3, 4, 0)) == utc(2024, 11, 3, 5, 30)


def test_auckland_monday_morning_is_sunday_evening_in_utc() -> None:
    akl = WorkCalendar("Pacific/Auckland")
    # January: NZDT, UTC+13. Monday 2024-01-15 09:00 NZDT = Sunday 20:00Z.
    assert next_open(akl, utc(2024, 1, 14, 19, 0)) == utc(2024, 1, 14, 20, 0)
    assert is_open(akl, utc(2024, 1, 14, 21, 0))  # a UTC Sunday, a working Monday there
    # Friday 18:00 NZDT = Friday 05:00Z: the next opening is the UTC Sunday evening.
    assert next_open(akl, utc(2024, 1, 19, 5, 0)) == utc(2024, 1, 21, 20, 0)
    # Saturday in UTC, but already Saturday evening there too: closed.
    assert not is_open(akl, utc(2024, 1, 20, 5, 0))


def test_auckland_across_its_dst_end_in_april() -> None:
    akl = WorkCalendar("Pacific/Auckland")
    # 2024-04-07 03:00 NZDT -> 02:00 NZST (UTC+12). Friday 09:00 NZDT = Thursday 20:00Z;
    # Monday 09:00 NZST = Sunday 21:00Z.
    assert next_open(akl, utc(2024, 4, 4, 19, 0)) == utc(2024, 4, 4, 20, 0)
    assert next_open(akl, utc(2024, 4, 5, 5, 0)) == utc(2024, 4, 7, 21, 0)


# --------------------------------------------------------------- business days


def test_friday_afternoon_plus_one_business_day_is_monday_afternoon() -> None:
    start = local("Europe/Paris", 2024, 6, 14, 15, 0)
    assert add_business_days(PARIS, start, 1) == local("Europe/Paris", 2024, 6, 17, 15, 0)


def test_zero_business_days_is_the_next_open_instant() -> None:
    start = local("Europe/Paris", 2024, 6, 15, 10, 0)  # Saturday
    assert add_business_days(PARIS, start, 0) == next_open(PARIS, start)


def test_business_days_count_from_the_next_opening_when_started_outside_the_window() -> None:
    saturday = local("Europe/Paris", 2024, 6, 15, 10, 0)
    assert add_business_days(PARIS, saturday, 1) == local("Europe/Paris", 2024, 6, 18, 9, 0)
    monday_night = local("Europe/Paris", 2024, 6, 17, 20, 0)
    assert add_business_days(PARIS, monday_night, 1) == local("Europe/Paris", 2024, 6, 19, 9, 0)


def test_business_days_keep_the_local_time_across_a_dst_change() -> None:
    start = local("Europe/Paris", 2024, 3, 29, 15, 0)  # Friday 15:00 CET = 14:00Z
    assert add_business_days(PARIS, start, 1) == utc(2024, 4, 1, 13, 0)  # Monday 15:00 CEST


def test_five_business_days_is_one_week_on_a_weekday_calendar() -> None:
    start = local("America/New_York", 2024, 10, 30, 11, 0)  # Wednesday, EDT
    ny = WorkCalendar("America/New_York")
    assert add_business_days(ny, start, 5) == local("America/New_York", 2024, 11, 6, 11, 0)


def test_negative_business_days_are_refused() -> None:
    with pytest.raises(ValidationError):
        add_business_days(PARIS, utc(2024, 6, 11, 10), -1)


# ------------------------------------------------------------------------ jitter


def test_jitter_is_the_same_for_the_same_seed_and_within_bounds() -> None:
    assert jitter("enrollment:42:step:1", 900) == jitter("enrollment:42:step:1", 900)
    spread = {jitter(f"enrollment:{i}", 900) for i in range(50)}
    assert len(spread) > 40
    assert all(timedelta(0) <= j <= timedelta(seconds=900) for j in spread)


def test_zero_jitter_is_zero_and_negative_jitter_is_refused() -> None:
    assert jitter("x", 0) == timedelta(0)
    with pytest.raises(ValidationError):
        jitter("x", -1)


@settings(max_examples=200, deadline=None)
@given(seed=st.text(max_size=30), max_seconds=st.integers(0, 86_400))
def test_jitter_is_whole_seconds_between_zero_and_the_maximum(seed: str, max_seconds: int) -> None:
    j = jitter(seed, max_seconds)
    assert timedelta(0) <= j <= timedelta(seconds=max_seconds)
    assert j.microseconds == 0


# -------------------------------------------------------------------- properties

# Zones whose DST transitions (2020-2030) all happen before 04:00 local, so a window
# inside 04:00-23:30 has the plain wall-clock meaning that the brute force below uses.
ZONES = [
    "UTC",
    "Europe/Paris",
    "America/New_York",
    "Pacific/Auckland",
    "Australia/Lord_Howe",
    "America/St_Johns",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
]
EPOCH = utc(2020, 1, 1)


@st.composite
def calendars(draw: st.DrawFn) -> WorkCalendar:
    zone = draw(st.sampled_from(ZONES))
    days = draw(st.frozensets(st.integers(0, 6), min_size=1))
    start_half_hours = draw(st.integers(8, 44))  # 04:00 .. 22:00
    length = draw(st.integers(1, 47 - start_half_hours))  # ends by 23:30
    end_half_hours = start_half_hours + length
    return WorkCalendar(
        zone,
        days=days,
        start=time(start_half_hours // 2, 30 * (start_half_hours % 2)),
        end=time(end_half_hours // 2, 30 * (end_half_hours % 2)),
    )


instants = st.integers(0, 11 * 365 * 24 * 60).map(lambda m: EPOCH + timedelta(minutes=m))


def open_by_wall_clock(cal: WorkCalendar, at: datetime) -> bool:
    wall = at.astimezone(ZoneInfo(cal.timezone))
    return wall.weekday() in cal.days and cal.start <= wall.time() < cal.end


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), now=instants, extra_seconds=st.integers(0, 59))
def test_next_open_is_the_earliest_open_instant_at_or_after_now(
    cal: WorkCalendar, now: datetime, extra_seconds: int
) -> None:
    now += timedelta(seconds=extra_seconds)
    result = next_open(cal, now)
    assert result >= now
    assert result.tzinfo is UTC
    assert open_by_wall_clock(cal, result)
    assert is_open(cal, result)
    if result > now:
        assert not open_by_wall_clock(cal, result - timedelta(microseconds=1))
        # Every window lasts at least 30 minutes, so a 15-minute grid from `now` would
        # land in any window that opened between `now` and `result`.
        probe = now
        while probe < result:
            assert not open_by_wall_clock(cal, probe), probe
            probe += timedelta(minutes=15)


@settings(max_examples=150, deadline=None)
@given(cal=calendars(), start=instants, n=st.integers(0, 30))
def test_adding_business_days_lands_n_working_dates_later_at_the_same_local_time(
    cal: WorkCalendar, start: datetime, n: int
) -> None:
    zone = ZoneInfo(cal.timezone)
    begin = next_open(cal, start).astimezone(zone)
    result = add_business_days(cal, start, n)
    assert result >= start
    assert open_by_wall_clock(cal, result)
    wall = result.astimezone(zone)
    assert wall.time() == begin.time()
    days_between = (wall.date() - begin.date()).days
    working = sum(
        1
        for k in range(1, days_between + 1)
        if (begin.date() + timedelta(days=k)).weekday() in cal.days
    )
    assert working == n
