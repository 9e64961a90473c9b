"""Why is this lead (not) being contacted? One enrollment explained in sentences.

The answer comes from the checks the engine makes before a step goes, called as the
engine calls them (:mod:`.guards`, the suppression check of every send, the channel's
rate windows as :func:`~aicmo.operator_services.channels.limits.channel_room` reads them
without taking a slot): nothing is decided here that the engine decides elsewhere, and
nothing is written. What the engine would do with it is its own business; this only says
what stands in the way now.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, CampaignDB, EnrollmentDB
from aicmo.cam.domain.channels import address_of
from aicmo.cam.domain.sequencing import channels_for
from aicmo.cam.domain.window import is_open, next_open
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services.campaigns import campaign_sequence
from aicmo.operator_services.channels.limits import channel_room
from aicmo.operator_services.channels.tasks import list_tasks
from aicmo.operator_services.engine.guards import (
    enrollment_calendar,
    enrollment_stop_reason,
    lead_touch_slot,
)
from aicmo.operator_services.outreach import suppression_reason
from aicmo.operator_services.uow import utcnow

#: What a campaign's status means for every one of its enrollments.
_CAMPAIGN_STATUS = {
    "DRAFT": "The campaign is a draft: nothing is sent until it is started.",
    "PAUSED": "The campaign is paused: nothing is sent until it is resumed.",
    "FINISHED": "The campaign is finished: every enrollment has run its course.",
}
#: Stop reasons the engine stores as a code, in words.
_STOP_REASONS = {
    "REPLIED": "the lead replied",
    "BOUNCED": "the address bounced",
    "COMPLAINED": "the lead complained (marked it as spam)",
    "UNSUBSCRIBED": "the lead unsubscribed",
    "SUPPRESSED": "the lead's address was suppressed",
    "ERASED": "the lead's data was erased",
    "STAGE": "the lead reached a final stage (meeting, won or lost)",
}


def _at(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def explain_enrollment(
    db: Session,
    enrollment_id: int,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Why this enrollment's lead is or is not being contacted, in sentences.

    Returns:
        ``enrollment_id``, ``campaign_id``, ``lead_id``, ``state``, ``step`` (1-based) and
        ``channel`` (what it is at; None once finished), ``next_run_at``, ``contacting``
        (True when nothing stands in the way: the worker sends at the due time) and
        ``reasons``: the sentences, most important first.

    Raises:
        NotFoundError: no such enrollment in the workspace.
    """
    now = now or utcnow()
    try:
        enrollment = repo.enrollment_by_id(db, workspace_id, enrollment_id)
        if enrollment is None:
            raise NotFoundError(f"no enrollment with id {enrollment_id}")
        campaign = repo.campaign_by_id(db, workspace_id, enrollment.campaign_id)
        assert campaign is not None  # an enrollment belongs to a campaign of its workspace
        lead = repo.get_lead(db, workspace_id, enrollment.lead_id)
        reasons: list[str] = []
        blocked = False
        if campaign.status in _CAMPAIGN_STATUS:
            reasons.append(_CAMPAIGN_STATUS[campaign.status])
            blocked = True
        state = enrollment.state
        step_number: int | None = None
        channel: str | None = None
        if lead is None:
            reasons.append("The lead no longer exists (erased or deleted).")
            blocked = True
        elif state in ("COMPLETED", "STOPPED", "FAILED"):
            blocked = True
            reasons.append(_finished(state, enrollment.stop_reason, enrollment.step_index))
        else:
            try:
                seq = campaign_sequence(db, campaign).with_variants(enrollment.variant)
                step = seq.steps[enrollment.step_index]
                channels = channels_for(step)
                channel = str(channels[min(enrollment.channel_index, len(channels) - 1)])
                step_number = enrollment.step_index + 1
            except (ValidationError, IndexError):
                reasons.append("The campaign's sequence no longer has the step this lead is at.")
                blocked = True
            if state == "WAITING":
                blocked = True
                reasons.append(_waiting(db, enrollment, workspace_id, now))
            elif state == "PAUSED":
                blocked = True
                reasons.append("This enrollment is paused: it resumes where it stopped.")
            stop = enrollment_stop_reason(db, enrollment)
            if stop is not None:
                blocked = True
                reasons.append(f"It stops at its next run: {stop}.")
            if channel is not None:
                suppressed = suppression_reason(db, lead, channel)
                if suppressed is not None:
                    blocked = True
                    reasons.append(
                        f"The lead's {suppressed}: nothing is sent to it on {channel}, "
                        "in any campaign; the engine stops this enrollment at its next run."
                    )
                elif not address_of(channel, lead):
                    reasons.append(
                        f"The lead has no address for {channel}: the step falls back to its "
                        "next channel, or fails if it has none."
                    )
            if state == "ACTIVE" and channel is not None and not blocked:
                blocked = _active_checks(db, campaign, enrollment, channel, now, reasons)
        if lead is not None and state in ("COMPLETED", "STOPPED", "FAILED"):
            suppressed = suppression_reason(db, lead)
            if suppressed is not None and "suppressed" not in (enrollment.stop_reason or ""):
                reasons.append(f"The lead's {suppressed}: nothing is sent to it again.")
        due = enrollment.next_run_at
        if state == "ACTIVE" and not blocked and channel is not None:
            if due is not None and due > now:
                reasons.append(f"Step {step_number} on {channel} is due at {_at(due)}.")
            else:
                reasons.append(
                    f"Step {step_number} on {channel} is due now: "
                    "the worker sends it at its next run."
                )
        return {
            "enrollment_id": enrollment.id,
            "campaign_id": enrollment.campaign_id,
            "lead_id": enrollment.lead_id,
            "state": state,
            "step": step_number,
            "channel": channel,
            "next_run_at": due,
            "contacting": not blocked,
            "reasons": reasons,
        }
    finally:
        db.rollback()  # read only: end the transaction the checks opened


def _finished(state: str, stop_reason: str | None, step_index: int) -> str:
    if state == "COMPLETED":
        return "Every step of the sequence went out: there is nothing left to send."
    reason = _STOP_REASONS.get(stop_reason or "", stop_reason or "no reason was recorded")
    if state == "FAILED":
        return f"Every channel of step {step_index + 1} failed: {reason}."
    return f"The enrollment stopped: {reason}."


def _waiting(db: Session, enrollment: EnrollmentDB, workspace_id: int, now: datetime) -> str:
    """What a WAITING enrollment waits for: an open task of its own, or the operator."""
    tasks = [
        t
        for t in list_tasks(
            db,
            status="OPEN",
            lead_id=enrollment.lead_id,
            campaign_id=enrollment.campaign_id,
            workspace_id=workspace_id,
            now=now,
        )
        if t["enrollment_id"] == enrollment.id
    ]
    if tasks:
        task = tasks[0]
        late = " (overdue)" if task["overdue"] else ""
        return (
            f"Waiting for a person: task #{task['id']} ({task['title']}) is due "
            f"{_at(task['due_at'])}{late}; the sequence goes on once it is done or skipped."
        )
    why = enrollment.stop_reason or "an attempt whose outcome is unknown"
    return f"Waiting for the operator to decide: {why}."


def _active_checks(
    db: Session,
    campaign: CampaignDB,
    enrollment: EnrollmentDB,
    channel: str,
    now: datetime,
    reasons: list[str],
) -> bool:
    """The checks the worker makes when an ACTIVE enrollment falls due, in its order
    (window, the lead's touch limits, the channel's windows); whether one blocks now."""
    blocked = False
    cal = enrollment_calendar(db, campaign, enrollment)
    if cal is not None and not is_open(cal, now):
        blocked = True
        reasons.append(
            f"Outside the campaign's sending window in the lead's time zone ({cal.timezone}): "
            f"it opens at {_at(next_open(cal, now))}."
        )
    slot = lead_touch_slot(db, enrollment, channel, now)
    if slot is not None:
        blocked = True
        reasons.append(
            f"The lead was contacted too recently for {channel}'s per-lead limits: "
            f"next possible at {_at(slot)}."
        )
    room = channel_room(db, channel, workspace_id=enrollment.workspace_id, now=now)
    if not room["can_send"]:
        blocked = True
        if room["next_slot"] is not None:
            reasons.append(
                f"The {channel} channel's hourly or daily limit is reached: "
                f"room again at {_at(room['next_slot'])}."
            )
        else:
            reasons.append(f"The {channel} channel's limit is 0: nothing goes out on it.")
    return blocked
