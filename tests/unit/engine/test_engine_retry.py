"""Retry decisions: the documented backoff formula and its deterministic jitter."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aicmo.cam.domain.retry import DEFAULT_RETRY_POLICY, RetryPolicy, decide_retry
from aicmo.errors import ValidationError

NOW = datetime(2024, 6, 11, 10, 0, tzinfo=UTC)


def test_by_default_a_transient_failure_is_retried_after_24_then_48_hours() -> None:
    first = decide_retry(DEFAULT_RETRY_POLICY, 0, NOW)
    second = decide_retry(DEFAULT_RETRY_POLICY, 1, NOW)
    third = decide_retry(DEFAULT_RETRY_POLICY, 2, NOW)
    assert (first.retry, first.at) == (True, NOW + timedelta(hours=24))
    assert (second.retry, second.at) == (True, NOW + timedelta(hours=48))
    assert (third.retry, third.at) == (False, None)
    assert first.reason == "retry 1 of 2 in 24 h"
    assert third.reason == "retries used up (2 of 2)"


def test_the_last_backoff_value_repeats_for_later_retries() -> None:
    policy = RetryPolicy(max_retries=5, backoff_hours=[1, 2])
    waits = [decide_retry(policy, n, NOW).at for n in range(5)]
    assert waits == [NOW + timedelta(hours=h) for h in (1, 2, 2, 2, 2)]


def test_no_retries_allowed_means_never_retry() -> None:
    decision = decide_retry(RetryPolicy(max_retries=0, backoff_hours=[]), 0, NOW)
    assert not decision.retry
    assert decision.at is None


def test_fractional_hours_are_honoured() -> None:
    policy = RetryPolicy(max_retries=1, backoff_hours=[0.25])
    assert decide_retry(policy, 0, NOW).at == NOW + timedelta(minutes=15)


def test_the_same_seed_gives_the_same_instant_whatever_random_says() -> None:
    random.seed(1)
    a = decide_retry(DEFAULT_RETRY_POLICY, 0, NOW, jitter_seed="enrollment:7:step:0")
    random.seed(2)
    b = decide_retry(DEFAULT_RETRY_POLICY, 0, NOW, jitter_seed="enrollment:7:step:0")
    assert a == b


def test_different_seeds_spread_the_retries_of_a_batch() -> None:
    instants = {
        decide_retry(DEFAULT_RETRY_POLICY, 0, NOW, jitter_seed=f"enrollment:{i}").at
        for i in range(30)
    }
    assert len(instants) > 25


def test_a_policy_reads_from_a_channel_config() -> None:
    assert RetryPolicy.from_config({}) == DEFAULT_RETRY_POLICY
    policy = RetryPolicy.from_config({"max_retries": 3, "backoff_hours": [1, 4, 12]})
    assert policy == RetryPolicy(3, (1.0, 4.0, 12.0))
    assert RetryPolicy.from_config({"max_retries": None, "backoff_hours": None}).max_retries == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 2, "backoff_hours": []}, "backoff_hours"),
        ({"backoff_hours": [24, -1]}, "backoff_hours"),
        ({"backoff_hours": [float("nan")]}, "backoff_hours"),
        ({"backoff_hours": [float("inf")]}, "backoff_hours"),
    ],
)
def test_a_bad_policy_names_its_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
    assert err.value.field == field


def test_negative_counts_and_naive_instants_are_refused() -> None:
    with pytest.raises(ValidationError) as err:
        decide_retry(DEFAULT_RETRY_POLICY, -1, NOW)
    assert err.value.field == "retries_so_far"
    with pytest.raises(ValidationError) as err:
        decide_retry(DEFAULT_RETRY_POLICY, 0, datetime(2024, 6, 11, 10))
    assert err.value.field == "now"


@settings(max_examples=300, deadline=None)
@given(
    backoff=st.lists(st.floats(0, 500, allow_nan=False), min_size=1, max_size=4),
    max_retries=st.integers(0, 6),
    n=st.integers(0, 8),
    seed=st.none() | st.text(max_size=20),
)
def test_the_wait_follows_the_formula_within_ten_percent(
    backoff: list[float], max_retries: int, n: int, seed: str | None
) -> None:
    policy = RetryPolicy(max_retries=max_retries, backoff_hours=backoff)
    decision = decide_retry(policy, n, NOW, jitter_seed=seed)
    assert decision.retry == (n < max_retries)
    if not decision.retry:
        assert decision.at is None
        return
    assert decision.at is not None
    base = timedelta(hours=backoff[min(n, len(backoff) - 1)])
    wait = decision.at - NOW
    if seed is None:
        assert wait == base
    else:
        assert abs(wait - base) <= base / 10
        assert decision == decide_retry(policy, n, NOW, jitter_seed=seed)
