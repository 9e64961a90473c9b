"""Where an enrollment stands and what stops it: the states, the stop reasons, and which
events and lead stages end a lead's run through a sequence.

Apart from the decision because the event handlers (a reply, a bounce, a stage change)
need only this, not the scheduling.
"""

from __future__ import annotations

from enum import StrEnum

from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import LeadStage


class EnrollmentState(StrEnum):
    """Where one lead's run through a sequence stands (``enrollments.state``)."""

    #: Working: the worker picks it up at ``next_run_at``.
    ACTIVE = "ACTIVE"
    #: Waiting for a person: an operator task (a LinkedIn step done by hand) or an
    #: attempt whose outcome is unknown.
    WAITING = "WAITING"
    #: Paused by the operator or with its campaign; resumes where it stopped.
    PAUSED = "PAUSED"
    #: Every step went out.
    COMPLETED = "COMPLETED"
    #: Stopped early: a reply, bounce, complaint, unsubscribe or a final lead stage.
    STOPPED = "STOPPED"
    #: Every channel of a step failed.
    FAILED = "FAILED"


#: States the worker never leaves on its own.
TERMINAL_STATES = frozenset(
    {EnrollmentState.COMPLETED, EnrollmentState.STOPPED, EnrollmentState.FAILED}
)


class StopReason(StrEnum):
    """Why an enrollment was stopped (``enrollments.stop_reason``)."""

    #: A human replied.
    REPLIED = "REPLIED"
    #: A hard bounce.
    BOUNCED = "BOUNCED"
    #: A spam complaint.
    COMPLAINED = "COMPLAINED"
    #: The lead unsubscribed.
    UNSUBSCRIBED = "UNSUBSCRIBED"
    #: The lead's address, domain or profile was suppressed.
    SUPPRESSED = "SUPPRESSED"
    #: The lead's data was erased.
    ERASED = "ERASED"
    #: The lead reached MEETING, WON or LOST.
    STAGE = "STAGE"
    #: Another event type the campaign was set to stop on.
    EVENT = "EVENT"
    #: An operator stopped it by hand.
    OPERATOR = "OPERATOR"


#: Events that stop an enrollment unless the campaign says otherwise.
DEFAULT_STOP_ON: frozenset[EventType] = frozenset(
    {
        EventType.REPLY_RECEIVED,
        EventType.BOUNCED_HARD,
        EventType.COMPLAINED,
        EventType.UNSUBSCRIBED,
    }
)

#: Events that never stop an enrollment, whatever the configuration: an out-of-office
#: is not a reply.
NEVER_STOP_ON: frozenset[EventType] = frozenset({EventType.AUTO_REPLY_RECEIVED})

#: Lead stages at which outreach stops: the conversation has moved on.
STOP_STAGES: frozenset[LeadStage] = frozenset({LeadStage.MEETING, LeadStage.WON, LeadStage.LOST})

_STOP_REASONS: dict[EventType, StopReason] = {
    EventType.REPLY_RECEIVED: StopReason.REPLIED,
    EventType.BOUNCED_HARD: StopReason.BOUNCED,
    EventType.COMPLAINED: StopReason.COMPLAINED,
    EventType.UNSUBSCRIBED: StopReason.UNSUBSCRIBED,
    EventType.SUPPRESSION_ADDED: StopReason.SUPPRESSED,
    EventType.LEAD_ERASED: StopReason.ERASED,
    EventType.LEAD_STAGE_CHANGED: StopReason.STAGE,
}


def should_stop(event_type: EventType, stop_on: frozenset[EventType] = DEFAULT_STOP_ON) -> bool:
    """Whether an event about the lead stops its enrollments.

    Args:
        event_type: the event that landed.
        stop_on: the campaign's stop set (default :data:`DEFAULT_STOP_ON`).

    Returns:
        True if ``event_type`` is in ``stop_on``; never for an auto-reply.
    """
    return event_type not in NEVER_STOP_ON and event_type in stop_on


def stop_reason(
    event_type: EventType, stop_on: frozenset[EventType] = DEFAULT_STOP_ON
) -> StopReason | None:
    """The reason to record when ``event_type`` stops an enrollment, or None if it doesn't."""
    if not should_stop(event_type, stop_on):
        return None
    return _STOP_REASONS.get(event_type, StopReason.EVENT)


def stop_on_stage(stage: str) -> bool:
    """Whether a lead at ``stage`` (MEETING, WON, LOST; any case) leaves its sequences."""
    return stage.strip().upper() in STOP_STAGES
