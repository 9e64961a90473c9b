"""A lead's timeline: attempts and events merged newest first, each with one line to read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aicmo.cam.domain.timeline import event_summary, merge_timeline, snippet

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_attempts_and_events_are_merged_newest_first_with_the_step_counted_from_one() -> None:
    attempts: list[dict[str, Any]] = [
        {
            "id": 1,
            "sent_at": T0,
            "created_at": T0 - timedelta(minutes=5),
            "channel": "EMAIL",
            "status": "SENT",
            "step_index": 0,
            "campaign_id": 3,
            "subject": "Hello",
            "body": "Hi   Ada,\n\nquick question",
            "error": None,
        },
        {
            "id": 2,
            "sent_at": None,
            "created_at": T0 + timedelta(days=2),
            "channel": "LINKEDIN",
            "status": "FAILED",
            "step_index": 1,
            "campaign_id": 3,
            "subject": None,
            "body": "Connect?",
            "error": "the provider refused the invitation",
        },
    ]
    events: list[dict[str, Any]] = [
        {
            "id": 7,
            "type": "REPLY_RECEIVED",
            "occurred_at": T0 + timedelta(days=1),
            "channel": "EMAIL",
            "step_index": 0,
            "campaign_id": 3,
            "detail": {},
            "reason": None,
            "actor": None,
        },
        {
            "id": 8,
            "type": "MESSAGE_SENT",
            "occurred_at": T0,
            "channel": "EMAIL",
            "step_index": 0,
            "campaign_id": 3,
            "detail": {},
            "reason": None,
            "actor": None,
        },
    ]
    entries = merge_timeline(attempts, events, {7: ("Re: Hello", "Sounds good")}, limit=10)
    assert [(e["kind"], e["id"]) for e in entries] == [
        ("attempt", 2),
        ("event", 7),
        ("event", 8),  # the same instant as the attempt it is about: listed above it
        ("attempt", 1),
    ]
    assert entries[0]["text"] == "the provider refused the invitation"
    assert entries[0]["step"] == 2
    assert (entries[1]["subject"], entries[1]["text"]) == ("Re: Hello", "Sounds good")
    assert entries[3]["text"] == "Hi Ada, quick question"
    assert len(merge_timeline(attempts, events, {}, limit=3)) == 3


def test_an_event_says_what_changed() -> None:
    assert event_summary(
        "LEAD_STAGE_CHANGED", {"from": "NEW", "to": "ENGAGED", "why": "replied"}, None
    ) == ("NEW → ENGAGED (replied)")
    assert event_summary("LEAD_GRADED", {"to": ["B", 62]}, None) == "grade B, score 62"
    assert event_summary(
        "LEAD_UPDATED", {"tags_added": ["vip"], "changes": {"title": {}}}, None
    ) == ("tags added: vip; changed: title")
    assert event_summary("BOUNCED_HARD", {}, "550 5.1.1 no such user") == "550 5.1.1 no such user"
    assert event_summary("MESSAGE_OPENED", {}, None) is None


def test_a_snippet_is_one_line_cut_with_an_ellipsis() -> None:
    assert snippet("  ") is None
    assert snippet("a\n\nb") == "a b"
    cut = snippet("word " * 100, limit=20)
    assert cut is not None and len(cut) <= 20 and cut.endswith("…")
