"""What an enrollment does after an attempt's outcome is known.

Shared by the worker (right after a send) and by operator tasks (when a person reports
the LinkedIn message sent or the form submitted, possibly days later): both ask the pure
:func:`aicmo.cam.domain.sequencing.next_action` and store its decision the same way.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import CampaignDB, EnrollmentDB, LeadDB
from aicmo.cam.domain.attempts import STOP_EVENTS, has_sending_window, stop_reason
from aicmo.cam.domain.retry import RetryPolicy
from aicmo.cam.domain.sequencing import AttemptOutcome, Decision, channels_for, next_action
from aicmo.cam.domain.window import WorkCalendar
from aicmo.config import get_settings
from aicmo.operator_services.campaigns import campaign_sequence
from aicmo.operator_services.channels import get_channel_config
from aicmo.operator_services.uow import write_unit


def lead_timezone(db: Session, enrollment: EnrollmentDB) -> str | None:
    lead = repo.get_lead(db, enrollment.workspace_id, enrollment.lead_id)
    return lead.timezone if lead is not None else None


def sending_calendar(campaign: CampaignDB, lead_tz: str | None) -> WorkCalendar | None:
    """The campaign's sending window in the lead's time zone (else the window's own zone,
    else the settings' zone); None when the campaign sends at any hour."""
    if not has_sending_window(campaign.settings):
        return None
    window = campaign.settings["window"]
    tz = lead_tz or window.get("timezone") or get_settings().timezone
    return WorkCalendar.parse(
        tz,
        days=window.get("days"),
        start=window.get("start", "09:00"),
        end=window.get("end", "17:00"),
    )


def why_stopped(db: Session, lead: LeadDB | None, since: datetime) -> str | None:
    """Why this lead must not be contacted any more by something that started at
    ``since`` (an enrollment, a task): gone, a final stage, or a stop event since then."""

    def stopped_by() -> str | None:
        assert lead is not None  # asked only about a lead that exists
        return repo.first_event_type_since(db, lead.workspace_id, lead.id, STOP_EVENTS, since)

    return stop_reason(lead.stage if lead is not None else None, stopped_by)


def finish(enrollment: EnrollmentDB, state: str, reason: str | None, now: datetime) -> None:
    enrollment.state = state
    enrollment.stop_reason = reason
    enrollment.finished_at = now
    enrollment.next_run_at = None


def release(enrollment: EnrollmentDB) -> None:
    enrollment.claimed_by = enrollment.claimed_until = None


def release_claims(db: Session, enrollment_ids: list[int], *, worker: str) -> int:
    """Give up this worker's claims (nothing else changes: they stay due); how many."""
    if not enrollment_ids:
        return 0
    with write_unit(db):
        released = repo.release_claims(db, enrollment_ids, worker=worker)
    return released


def apply_outcome(
    db: Session,
    enrollment: EnrollmentDB,
    outcome: AttemptOutcome,
    now: datetime,
    *,
    message_id: int | None,
    cal: WorkCalendar | None = None,
) -> str:
    """Store the next state of ``enrollment`` after its current channel's ``outcome``.

    Call inside the caller's transaction; returns the decision's name in lower case
    (advance, retry, fallback, complete, fail, hold).
    """
    campaign = db.get(CampaignDB, enrollment.campaign_id)
    assert campaign is not None
    seq = campaign_sequence(db, campaign).with_variants(enrollment.variant)
    if cal is None:
        cal = sending_calendar(campaign, lead_timezone(db, enrollment))
    step = seq.steps[enrollment.step_index]
    channel = channels_for(step)[enrollment.channel_index]
    config = get_channel_config(db, channel, workspace_id=enrollment.workspace_id)
    decision: Decision = next_action(
        seq,
        enrollment.step_index,
        enrollment.channel_index,
        outcome,
        now,
        retry_policy=RetryPolicy(
            max_retries=config["max_retries"], backoff_hours=config["backoff_hours"]
        ),
        retries_so_far=enrollment.retries,
        cal=cal,
    )
    enrollment.last_message_id = message_id or enrollment.last_message_id
    release(enrollment)
    kind = decision.kind.value if hasattr(decision.kind, "value") else str(decision.kind)
    if kind == "ADVANCE":
        enrollment.state = "ACTIVE"
        enrollment.step_index, enrollment.channel_index = decision.step_index, 0
        enrollment.retries, enrollment.next_run_at = 0, decision.at
    elif kind == "RETRY":
        enrollment.state = "ACTIVE"
        enrollment.retries += 1
        enrollment.next_run_at = decision.at
    elif kind == "FALLBACK":
        enrollment.state = "ACTIVE"
        enrollment.channel_index, enrollment.retries = decision.channel_index, 0
        enrollment.next_run_at = now
    elif kind == "COMPLETE":
        finish(enrollment, "COMPLETED", None, now)
    elif kind == "FAIL":
        finish(enrollment, "FAILED", _every_reason(db, enrollment, decision.reason), now)
    else:  # HOLD: the outcome is unknown; the operator decides
        enrollment.state = "WAITING"
        enrollment.stop_reason = decision.reason
        enrollment.next_run_at = None
    return kind.lower()


def _every_reason(db: Session, enrollment: EnrollmentDB, last: str | None) -> str:
    """Why each channel of the step failed, from the attempts on record."""
    rows = repo.step_errors(db, enrollment.id, enrollment.step_index)
    reasons = [f"{channel}: {error}" for channel, error in rows]
    if not reasons:
        return last or "every channel failed"
    return f"{last or 'every channel failed'} ({'; '.join(reasons)})"[:4000]
