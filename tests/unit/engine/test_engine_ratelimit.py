"""Sliding-window arithmetic: invariant 3, no window ever holds more than its limit."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aicmo.cam.domain.ratelimit import Window, count_in_window, fits, next_send_slot
from aicmo.errors import ValidationError

BASE = datetime(2024, 6, 11, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return BASE + timedelta(minutes=minutes)


HOUR = timedelta(hours=1)


# ------------------------------------------------------------------ conventions


def test_a_window_holds_sends_after_its_start_and_up_to_its_end() -> None:
    w = Window(HOUR, 10)
    sent = [at(-60), at(-59), at(0), at(1)]
    # (at(-60), at(0)]: the send at exactly one hour before is out, the one at `at` is in.
    assert count_in_window(sent, w, at(0)) == 2


def test_two_sends_exactly_one_window_length_apart_never_share_a_window() -> None:
    w = Window(HOUR, 1)
    assert not fits([at(0)], [w], at(59))
    assert fits([at(0)], [w], at(60))


def test_with_no_history_the_slot_is_now() -> None:
    assert next_send_slot([], [Window.hourly(1)], at(0)) == at(0)
    assert next_send_slot([], [], at(0)) == at(0)


def test_a_full_hour_waits_until_the_oldest_send_leaves_the_window() -> None:
    sent = [at(0), at(20)]
    assert next_send_slot(sent, [Window.hourly(2)], at(30)) == at(60)


def test_the_strictest_of_several_windows_decides() -> None:
    sent = [at(-23 * 60), at(-30), at(-10)]  # 3 in the last day, 2 in the last hour
    windows = [Window.hourly(5), Window.daily(3)]
    assert next_send_slot(sent, windows, at(0)) == at(60)  # when the first leaves the day
    windows = [Window.hourly(2), Window.daily(10)]
    assert next_send_slot(sent, windows, at(0)) == at(30)  # when -30 leaves the hour


def test_the_minimum_gap_is_measured_from_the_latest_send() -> None:
    sent = [at(0)]
    assert next_send_slot(sent, [Window.hourly(100)], at(2), min_gap=timedelta(minutes=5)) == at(5)
    assert next_send_slot(sent, [], at(7), min_gap=timedelta(minutes=5)) == at(7)


def test_sends_recorded_after_now_are_honoured_too() -> None:
    # A worker whose clock runs ten minutes ahead recorded a send "in the future".
    sent = [at(10)]
    assert not fits(sent, [Window.hourly(1)], at(0))
    assert next_send_slot(sent, [Window.hourly(1)], at(0)) == at(70)
    # ...and a gap applies on both sides of it.
    assert next_send_slot(sent, [], at(0), min_gap=timedelta(minutes=15)) == at(25)
    assert next_send_slot(sent, [], at(-20), min_gap=timedelta(minutes=5)) == at(-20)


def test_history_may_come_unsorted_and_as_a_one_shot_iterator() -> None:
    sent = [at(20), at(0), at(10)]
    assert next_send_slot(iter(sent), [Window.hourly(3)], at(30)) == at(60)
    assert fits(iter(sent), [Window.hourly(4)], at(30))
    assert count_in_window(iter(sent), Window.hourly(9), at(30)) == 3


def test_the_style_guide_formula_agrees_for_a_single_window() -> None:
    w = Window(HOUR, 3)
    sent = [at(m) for m in (-90, -50, -40, -5)]
    now = at(0)
    recent = sorted(t for t in sent if t > now - w.length)
    expected = now if len(recent) < w.limit else recent[-w.limit] + w.length
    assert next_send_slot(sent, [w], now) == expected == at(10)


@pytest.mark.parametrize(
    ("length", "limit", "field"),
    [(timedelta(0), 1, "length"), (timedelta(-1), 1, "length"), (HOUR, 0, "limit")],
)
def test_a_window_that_could_never_let_a_send_through_is_refused(
    length: timedelta, limit: int, field: str
) -> None:
    with pytest.raises(ValidationError) as err:
        Window(length, limit)
    assert err.value.field == field


def test_naive_instants_and_negative_gaps_are_refused() -> None:
    with pytest.raises(ValidationError):
        next_send_slot([], [], datetime(2024, 6, 11, 10))
    with pytest.raises(ValidationError):
        next_send_slot([], [], at(0), min_gap=timedelta(seconds=-1))
    with pytest.raises(ValidationError):
        fits([], [], datetime(2024, 6, 11, 10))


def test_five_hundred_a_day_is_quick_to_compute() -> None:
    sent = [at(-24 * 60 + 1 + i * 2.8) for i in range(500)]
    windows = [Window.hourly(100), Window.daily(500)]
    assert next_send_slot(sent, windows, at(0)) == at(1)


# -------------------------------------------------------------------- properties
#
# Instants are whole minutes and lengths whole minutes, so every count changes only on
# a whole minute; the brute force below walks minutes and never reuses the module's
# reasoning.

windows_strategy = st.lists(
    st.builds(Window, st.integers(1, 90).map(lambda m: timedelta(minutes=m)), st.integers(1, 4)),
    max_size=3,
)
gaps = st.integers(0, 20).map(lambda m: timedelta(minutes=m))


def minutes(t: datetime) -> int:
    delta = t - BASE
    assert delta % timedelta(minutes=1) == timedelta(0), t
    return delta // timedelta(minutes=1)


def worst_window(sent: Sequence[int], length: int) -> int:
    """The most sends any window (T - length, T] holds, T over every send instant."""
    return max((sum(1 for s in sent if t - length < s <= t) for t in sent), default=0)


def brute_force_fits(sent: Sequence[int], windows: Sequence[Window], t: int, gap: int) -> bool:
    if any(abs(t - s) < gap for s in sent):
        return False
    for w in windows:
        length = minutes(BASE + w.length)
        # The new send is in every window ending at T in [t, t + length).
        for end in range(t, t + length):
            if sum(1 for s in sent if end - length < s <= end) + 1 > w.limit:
                return False
    return True


@settings(max_examples=150, deadline=None)
@given(
    windows=windows_strategy,
    gap=gaps,
    steps=st.lists(st.integers(-60, 120), min_size=1, max_size=25),
)
def test_no_window_ever_exceeds_its_limit(
    windows: list[Window], gap: timedelta, steps: list[int]
) -> None:
    """Each send goes at the slot computed from the earlier ones; `now` wanders, even
    backwards, so some earlier sends are in the future when the next slot is computed."""
    sent: list[datetime] = []
    now = BASE
    for step in steps:
        now += timedelta(minutes=step)
        slot = next_send_slot(sent, windows, now, min_gap=gap)
        assert slot >= now
        sent.append(slot)
    as_minutes = [minutes(s) for s in sent]
    for w in windows:
        assert worst_window(as_minutes, minutes(BASE + w.length)) <= w.limit
    ordered = sorted(sent)
    assert all(b - a >= gap for a, b in itertools.pairwise(ordered))


@settings(max_examples=150, deadline=None)
@given(
    windows=windows_strategy,
    gap=gaps,
    sent=st.lists(st.integers(-120, 120), max_size=10),
    now=st.integers(-60, 120),
)
def test_the_slot_fits_and_no_earlier_instant_from_now_does(
    windows: list[Window], gap: timedelta, sent: list[int], now: int
) -> None:
    """The history may even break the limits already; the slot still must not add to it."""
    history = [at(m) for m in sent]
    slot = next_send_slot(history, windows, at(now), min_gap=gap)
    g = minutes(BASE + gap)
    s = minutes(slot)
    assert s >= now
    assert brute_force_fits(sent, windows, s, g)
    assert fits(history, windows, slot, gap)
    # Every fitting stretch starts on a whole minute (a send plus a length or the gap),
    # so checking the whole minutes before the slot covers every instant before it.
    for m in range(now, s):
        assert not brute_force_fits(sent, windows, m, g), m


@settings(max_examples=150, deadline=None)
@given(
    windows=windows_strategy,
    gap=gaps,
    sent=st.lists(st.integers(-120, 120), max_size=10),
    t=st.integers(-150, 250),
)
def test_fits_agrees_with_a_brute_force_check(
    windows: list[Window], gap: timedelta, sent: list[int], t: int
) -> None:
    assert fits([at(m) for m in sent], windows, at(t), gap) == brute_force_fits(
        sent, windows, t, minutes(BASE + gap)
    )


@settings(max_examples=100, deadline=None)
@given(
    sent=st.lists(st.integers(-200, 0), max_size=30),
    length=st.integers(1, 120),
    limit=st.integers(1, 6),
)
def test_with_a_past_only_history_the_slot_matches_the_oldest_of_the_last_limit_sends(
    sent: list[int], length: int, limit: int
) -> None:
    w = Window(timedelta(minutes=length), limit)
    history = [at(m) for m in sent]
    now = at(0)
    recent = sorted(t for t in history if t > now - w.length)
    expected = now if len(recent) < w.limit else recent[-w.limit] + w.length
    assert next_send_slot(history, [w], now) == expected
