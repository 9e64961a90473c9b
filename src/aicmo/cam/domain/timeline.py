"""A lead's timeline: its attempts and its audit trail merged into one list. Pure: no I/O.

The dashboard's lead page reads one list, newest first, where each entry says when,
on which channel, at which step, with what outcome, and a line of what it was about
(a subject, the opening words of a message or a reply, what a change changed).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

#: How many characters of a message or a reply the timeline shows.
SNIPPET_CHARS = 160


def snippet(text: str | None, limit: int = SNIPPET_CHARS) -> str | None:
    """The opening words of a text on one line, cut at ``limit`` characters with '…'."""
    if not text or not text.strip():
        return None
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def event_summary(event_type: str, detail: Mapping[str, Any], reason: str | None) -> str | None:
    """One line of what an audit-trail event changed or said."""
    if event_type == "LEAD_STAGE_CHANGED" and "to" in detail:
        why = f" ({detail['why']})" if detail.get("why") else ""
        return f"{detail.get('from') or '?'} → {detail['to']}{why}"
    if event_type == "LEAD_GRADED" and isinstance(detail.get("to"), list | tuple):
        grade, score = [*detail["to"], None, None][:2]
        return f"grade {grade}, score {score}"
    if event_type == "LEAD_UPDATED":
        parts = []
        if detail.get("tags_added"):
            parts.append("tags added: " + ", ".join(map(str, detail["tags_added"])))
        if detail.get("tags_removed"):
            parts.append("tags removed: " + ", ".join(map(str, detail["tags_removed"])))
        if isinstance(detail.get("changes"), Mapping):
            parts.append("changed: " + ", ".join(map(str, detail["changes"])))
        if parts:
            return "; ".join(parts)
    if event_type == "REPLY_CATEGORIZED" and detail.get("category"):
        return f"category: {detail['category']}"
    return snippet(reason)


def _at(value: datetime | None) -> datetime:
    if value is None:
        return datetime.min.replace(tzinfo=UTC)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def merge_timeline(
    attempts: Iterable[Mapping[str, Any]],
    events: Iterable[Mapping[str, Any]],
    reply_texts: Mapping[int, tuple[str | None, str | None]],
    *,
    limit: int,
) -> list[dict[str, Any]]:
    """Attempts (``message_to_dict``) and events (``event_to_dict``), newest first.

    ``reply_texts``: (subject, snippet) by the REPLY_RECEIVED event's id, so a reply
    shows what was said. An attempt is dated by when it was sent (else written); ties
    keep the later-recorded entry first.
    """
    entries: list[dict[str, Any]] = []
    for a in attempts:
        step = a.get("step_index")
        entries.append(
            {
                "kind": "attempt",
                "id": a["id"],
                "at": a.get("sent_at") or a.get("created_at"),
                "channel": a.get("channel"),
                "outcome": a.get("status"),
                "step": None if step is None else step + 1,
                "campaign_id": a.get("campaign_id"),
                "subject": a.get("subject"),
                "text": snippet(a.get("error")) or snippet(a.get("body")),
                "actor": None,
            }
        )
    for e in events:
        step = e.get("step_index")
        subject, said = reply_texts.get(e["id"], (None, None))
        entries.append(
            {
                "kind": "event",
                "id": e["id"],
                "at": e.get("occurred_at"),
                "channel": e.get("channel"),
                "outcome": e.get("type"),
                "step": None if step is None else step + 1,
                "campaign_id": e.get("campaign_id"),
                "subject": subject,
                "text": said
                or event_summary(str(e.get("type")), e.get("detail") or {}, e.get("reason")),
                "actor": e.get("actor"),
            }
        )
    entries.sort(key=lambda x: (_at(x["at"]), x["kind"] == "event", x["id"]), reverse=True)
    return entries[:limit]
