"""The pure domain core: no database, no network, no clock read inside."""

from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.grading import ICP, Engagement, GradeResult, LeadProfile, grade_lead
from aicmo.cam.domain.messages import (
    SENT_STATUSES,
    ChannelType,
    LeadStage,
    MessageStatus,
    OutreachMessage,
)

__all__ = [
    "ICP",
    "SENT_STATUSES",
    "ChannelType",
    "Engagement",
    "EventType",
    "GradeResult",
    "LeadProfile",
    "LeadStage",
    "MessageStatus",
    "OutreachEvent",
    "OutreachMessage",
    "grade_lead",
]
