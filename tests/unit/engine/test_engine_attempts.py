"""The rules of one attempt, shared by the one-by-one path and the batched planner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aicmo.cam.domain.attempts import (
    STOP_EVENTS,
    STOP_STAGE_NAMES,
    TouchLimit,
    attempt_key,
    attempt_outcome,
    has_sending_window,
    stop_reason,
)
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.domain.sequencing import AttemptOutcome

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_the_idempotency_key_names_enrollment_step_channel_and_try() -> None:
    # Keys already on record were written in this format: it must never change.
    assert attempt_key(42, 1, ChannelType.EMAIL, 0) == "enr:42:s1:EMAIL:t0"
    assert attempt_key(7, 0, ChannelType.LINKEDIN, 2) == "enr:7:s0:LINKEDIN:t2"
    assert attempt_key(7, 0, ChannelType.LINKEDIN, 2) != attempt_key(7, 0, ChannelType.EMAIL, 2)


@pytest.mark.parametrize("outcome", list(AttemptOutcome))
def test_each_outcome_name_maps_to_its_outcome(outcome: AttemptOutcome) -> None:
    assert attempt_outcome(outcome.value) is outcome


def test_a_name_that_is_no_channel_outcome_is_refused_unless_a_default_is_given() -> None:
    for name in ("SUPPRESSED", "TASK", "WAIT", ""):
        with pytest.raises(KeyError):
            attempt_outcome(name)
        assert attempt_outcome(name, otherwise=AttemptOutcome.PERMANENT) is (
            AttemptOutcome.PERMANENT
        )


def test_stop_reasons_in_order_gone_then_stage_then_event() -> None:
    asked: list[bool] = []

    def event() -> str | None:
        asked.append(True)
        return "REPLY_RECEIVED"

    assert stop_reason(None, event) == "the lead no longer exists"
    assert stop_reason("WON", event) == "the lead's stage is WON"
    assert not asked  # the event (a query) is not asked for when the stage decides
    assert stop_reason("NEW", event) == "stopped by REPLY_RECEIVED"
    assert stop_reason("NEW", lambda: None) is None
    assert sorted(STOP_STAGE_NAMES) == ["LOST", "MEETING", "WON"]
    assert "REPLY_RECEIVED" in STOP_EVENTS and "AUTO_REPLY_RECEIVED" not in STOP_EVENTS


def test_a_sending_window_is_any_non_empty_window_setting() -> None:
    assert has_sending_window({"window": {"start": "09:00"}})
    assert not has_sending_window({"window": {}})
    assert not has_sending_window({})


def test_a_touch_limit_counts_touches_in_its_period_and_keeps_its_gap() -> None:
    config = {"per_lead_limit": 2, "per_lead_period_hours": 24, "min_gap_hours": 1}
    limit = TouchLimit.of(config)
    assert limit.since(NOW) == NOW - timedelta(hours=24)
    assert limit.next_slot([], NOW) is None
    # Inside the gap: after it.
    recent = NOW - timedelta(minutes=30)
    assert limit.next_slot([recent], NOW) == recent + timedelta(hours=1)
    # Two touches in the period: when the first leaves it.
    first, second = NOW - timedelta(hours=20), NOW - timedelta(hours=2)
    assert limit.next_slot([first, second], NOW) == first + timedelta(hours=24)


def test_a_touch_limit_of_zero_leaves_only_the_gap() -> None:
    limit = TouchLimit.of({"per_lead_limit": 0, "per_lead_period_hours": 24, "min_gap_hours": 0})
    assert limit.windows == ()
    assert limit.since(NOW) == NOW - timedelta(hours=24)
    assert limit.next_slot([NOW - timedelta(minutes=1)] * 50, NOW) is None
