"""What one event adds to the daily rollups (``metrics_daily``). Pure: no I/O, no clock.

The rollups are the only source of every rate, so they must be reproducible: the
incremental path (each event bumps its counters as it lands) and the rebuild (a day's
counters recomputed from the events table) both call :func:`deltas` and :func:`day_of`,
and so cannot disagree. Everything :func:`deltas` reads is kept on the event through an
erasure: the type, the channel and the part of ``detail`` named by
:func:`rollup_detail` (a reply's category is a fact about the reply, not personal data).

Counting choices:

- ``positive_replied`` and ``meetings`` move with each ``REPLY_CATEGORIZED`` event, which
  carries the new ``category`` and the ``previous`` one (``None`` the first time): +1 when
  the reply enters the set, -1 when a correction takes it out, 0 when it stays in or out.
  Summed over a reply's categorisations this is 1 exactly when its current category is in
  the set, whatever the order the corrections were recorded in.
- ``tasks_done`` counts ``TASK_COMPLETED`` (any channel).
- ``forms_submitted`` counts ``MESSAGE_SENT`` on the contact-form channel, and nothing
  else. The engine's own submission records ``MESSAGE_SENT`` for the attempt; an
  operator who fills the form by hand completes the task, which records both
  ``TASK_COMPLETED`` and ``MESSAGE_SENT`` for the same attempt (see
  ``operator_services.channels.tasks.complete_task``). Counting the send alone counts each
  submitted form once, whoever submitted it; counting the task too would count a
  hand-filled form twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.domain.reply_categories import POSITIVE, ReplyCategory

#: One counter per event type, the plain ones: +1 for each event of the type.
SIMPLE_COUNTERS: dict[str, str] = {
    EventType.MESSAGE_ATTEMPTED.value: "attempted",
    EventType.MESSAGE_SENT.value: "sent",
    EventType.MESSAGE_FAILED.value: "failed",
    EventType.MESSAGE_OUTCOME_UNKNOWN.value: "unknown",
    EventType.MESSAGE_DELIVERED.value: "delivered",
    EventType.MESSAGE_OPENED.value: "opened",
    EventType.MESSAGE_CLICKED.value: "clicked",
    EventType.REPLY_RECEIVED.value: "replied",
    EventType.AUTO_REPLY_RECEIVED.value: "auto_replied",
    EventType.BOUNCED_HARD.value: "bounced_hard",
    EventType.BOUNCED_SOFT.value: "bounced_soft",
    EventType.COMPLAINED.value: "complained",
    EventType.UNSUBSCRIBED.value: "unsubscribed",
    EventType.TASK_COMPLETED.value: "tasks_done",
}

#: The counters of a message's own life (attempt to unsubscribe), in the table's order:
#: what the channel metrics report.
MESSAGE_COUNTERS: tuple[str, ...] = (
    "attempted",
    "sent",
    "failed",
    "unknown",
    "delivered",
    "opened",
    "clicked",
    "replied",
    "auto_replied",
    "bounced_hard",
    "bounced_soft",
    "complained",
    "unsubscribed",
)

#: Every counter column of ``metrics_daily``, in the table's order.
COUNTERS: tuple[str, ...] = (
    *MESSAGE_COUNTERS,
    "positive_replied",
    "meetings",
    "tasks_done",
    "forms_submitted",
)

#: Event types that can change a counter: what the rebuild reads from the events table.
COUNTED_TYPES: frozenset[str] = frozenset({*SIMPLE_COUNTERS, EventType.REPLY_CATEGORIZED.value})

#: The keys of ``detail`` that :func:`deltas` reads, per event type: what an erasure keeps.
_ROLLUP_DETAIL_KEYS: dict[str, tuple[str, ...]] = {
    EventType.REPLY_CATEGORIZED.value: ("category", "previous"),
}

_MEETING = ReplyCategory.MEETING_BOOKED.value
_POSITIVE = frozenset(c.value for c in POSITIVE)


def day_of(occurred_at: datetime) -> date:
    """The rollup day of an instant: its UTC date (a naive instant is taken as UTC)."""
    if occurred_at.tzinfo is None:
        return occurred_at.date()
    return occurred_at.astimezone(UTC).date()


def _moved(new: Any, previous: Any, members: frozenset[str]) -> int:
    return int(new in members) - int(previous in members)


def deltas(
    event_type: str, channel: str | None, detail: Mapping[str, Any] | None
) -> list[tuple[str, int]]:
    """The counter changes one event makes, as ``(column, +n/-n)``; none for an event
    without a channel (rollup rows are per channel) or of a type that counts nothing.

    >>> deltas("REPLY_CATEGORIZED", "EMAIL", {"category": "interested", "previous": None})
    [('positive_replied', 1)]
    """
    if channel is None:
        return []
    type_ = str(event_type)
    out: list[tuple[str, int]] = []
    simple = SIMPLE_COUNTERS.get(type_)
    if simple is not None:
        out.append((simple, 1))
    if type_ == EventType.MESSAGE_SENT.value and str(channel) == ChannelType.CONTACT_FORM.value:
        out.append(("forms_submitted", 1))
    if type_ == EventType.REPLY_CATEGORIZED.value:
        d = detail or {}
        new, previous = d.get("category"), d.get("previous")
        for column, members in (
            ("positive_replied", _POSITIVE),
            ("meetings", frozenset({_MEETING})),
        ):
            by = _moved(new, previous, members)
            if by:
                out.append((column, by))
    return out


def rollup_detail(event_type: str, detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """The part of an event's ``detail`` the rollups need (kept when a person is erased,
    so a rebuild after the erasure still counts what the incremental path counted)."""
    keys = _ROLLUP_DETAIL_KEYS.get(str(event_type), ())
    d = detail or {}
    return {k: d[k] for k in keys if k in d}


def keeps_detail(event_type: str) -> bool:
    """Whether an erasure must keep part of this type's ``detail`` (see rollup_detail)."""
    return str(event_type) in _ROLLUP_DETAIL_KEYS


__all__ = [
    "COUNTED_TYPES",
    "COUNTERS",
    "MESSAGE_COUNTERS",
    "SIMPLE_COUNTERS",
    "day_of",
    "deltas",
    "keeps_detail",
    "rollup_detail",
]
