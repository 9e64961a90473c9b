"""Response bodies of the per-step metrics (beside ``schemas.py``, same conventions), and
the window every metrics route reads."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

#: ``?days=``: the last N days the figures cover (at most about ten years), declared once
#: for the channel, campaign and step metrics alike.
Days = Annotated[int, Query(ge=1, le=3660)]


class StepFigures(BaseModel):
    """Counts and rates (percent of ``sent``) of one step of a campaign on one channel."""

    step: int | None = Field(description="0-based step; null for events tied to no step")
    channel: str
    attempted: int
    sent: int
    failed: int
    unknown: int
    delivered: int
    opened: int
    clicked: int
    replied: int
    auto_replied: int
    positive_replied: int = Field(description="Replies whose current category is positive")
    meetings: int = Field(description="Replies whose current category is meeting booked")
    tasks_done: int
    forms_submitted: int
    bounced: int
    bounced_hard: int
    bounced_soft: int
    complained: int
    unsubscribed: int
    delivery_rate: float
    reply_rate: float
    positive_reply_rate: float
    meeting_rate: float
    bounce_rate: float
    unsubscribe_rate: float
    days: int
