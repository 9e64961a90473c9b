"""Request and response bodies of ``/api/v1/replies`` (beside :mod:`.schemas`, same rules:
responses mirror the service's dicts, request bodies forbid unknown keys)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The categories, as :class:`aicmo.cam.domain.reply_categories.ReplyCategory` spells them.
CategoryName = Literal[
    "interested",
    "meeting_booked",
    "not_interested",
    "out_of_office",
    "wrong_person",
    "unsubscribe",
    "other",
]


class Reply(BaseModel):
    """One human reply (email or LinkedIn) with its current category."""

    id: int
    received_at: datetime
    channel: str
    category: CategoryName
    rule: str = Field(
        description="The id of the rule that gave the category, 'operator' after a "
        "correction, 'none' when no rule fired (see docs/reply-categories.md)"
    )
    categorized_at: datetime
    categorized_by: int | None = Field(description="The user who corrected it last")
    lead_id: int | None
    lead_name: str | None
    lead_email: str | None
    lead_stage: str | None
    sender: str | None
    subject: str | None
    snippet: str | None
    campaign_id: int | None
    mailbox_id: int | None
    linkedin_account_id: int | None
    reply_event_id: int
    inbound_message_id: int | None


class ReplyCategorized(Reply):
    changed: bool = Field(description="False when the reply already had that category")


class ReplyCategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: CategoryName
