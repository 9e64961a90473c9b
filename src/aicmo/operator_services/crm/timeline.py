"""A lead's timeline: every attempt to reach them and every event of their audit trail,
newest first, in one list (the dashboard's lead page)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.cam.domain.timeline import merge_timeline
from aicmo.operator_services.crm.events import list_events
from aicmo.operator_services.crm.replies import list_replies
from aicmo.operator_services.outreach import get_outreach_history

#: The most entries of each kind a timeline reads (the newest).
TIMELINE_LIMIT = 200


def lead_timeline(
    db: Session,
    lead_id: int,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    limit: int = TIMELINE_LIMIT,
) -> list[dict[str, Any]]:
    """The lead's attempts and events, newest first (at most ``limit``); a reply shows
    its subject and opening words.

    Raises:
        NotFoundError: no such lead in the workspace.
    """
    events = list_events(db, workspace_id=workspace_id, lead_id=lead_id, limit=limit)
    attempts = get_outreach_history(db, lead_id=lead_id, limit=limit, workspace_id=workspace_id)
    replies = list_replies(db, workspace_id=workspace_id, lead_id=lead_id, limit=limit)
    texts = {r["reply_event_id"]: (r["subject"], r["snippet"]) for r in replies}
    return merge_timeline(attempts, events, texts, limit=limit)


__all__ = ["TIMELINE_LIMIT", "lead_timeline"]
