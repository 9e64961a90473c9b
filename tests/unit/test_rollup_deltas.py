"""The rollups' arithmetic (pure): what each event adds, and that a reply's corrections
always sum to its current category."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.reply_categories import POSITIVE, ReplyCategory
from aicmo.cam.domain.rollups import COUNTERS, day_of, deltas, keeps_detail, rollup_detail

CATEGORIES = [c.value for c in ReplyCategory]


@given(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=8))
def test_a_replys_categorisations_sum_to_its_current_category(chain: list[str]) -> None:
    total: Counter[str] = Counter()
    previous: str | None = None
    for category in chain:
        detail = {"category": category, "previous": previous, "rule": "r", "reply_event_id": 1}
        for column, by in deltas("REPLY_CATEGORIZED", "EMAIL", detail):
            total[column] += by
        previous = category
    assert total["positive_replied"] == int(chain[-1] in {c.value for c in POSITIVE})
    assert total["meetings"] == int(chain[-1] == ReplyCategory.MEETING_BOOKED.value)
    assert set(total) <= {"positive_replied", "meetings"}


def test_a_form_counts_once_whoever_submits_it_and_a_task_counts_as_done() -> None:
    assert deltas("MESSAGE_SENT", "CONTACT_FORM", {}) == [("sent", 1), ("forms_submitted", 1)]
    assert deltas("TASK_COMPLETED", "CONTACT_FORM", {}) == [("tasks_done", 1)]
    assert deltas("TASK_COMPLETED", "LINKEDIN", {}) == [("tasks_done", 1)]
    assert deltas("MESSAGE_SENT", "LINKEDIN", {}) == [("sent", 1)]
    assert deltas("TASK_SKIPPED", "CONTACT_FORM", {}) == []


@given(st.sampled_from(list(EventType)), st.sampled_from(["EMAIL", "LINKEDIN", "CONTACT_FORM"]))
def test_every_change_names_a_counter_and_no_event_without_a_channel_counts(
    type_: EventType, channel: str
) -> None:
    detail = {"category": "interested", "previous": None}
    assert all(
        column in COUNTERS and by in (1, -1) for column, by in deltas(type_, channel, detail)
    )
    assert deltas(type_, None, detail) == []


def test_an_erasure_keeps_only_what_the_rollups_read() -> None:
    detail = {"category": "interested", "previous": "other", "rule": "said yes", "x": 1}
    assert rollup_detail("REPLY_CATEGORIZED", detail) == {
        "category": "interested",
        "previous": "other",
    }
    assert rollup_detail("REPLY_RECEIVED", detail) == {}
    assert keeps_detail("REPLY_CATEGORIZED") and not keeps_detail("MESSAGE_SENT")


def test_the_day_is_the_utc_date() -> None:
    late = datetime(2026, 12, 7, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert day_of(late) == date(2026, 12, 8)
    assert day_of(datetime(2026, 12, 7, 0, 0, tzinfo=UTC)) == date(2026, 12, 7)
