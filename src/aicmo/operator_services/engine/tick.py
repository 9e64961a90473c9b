"""The worker's tick: claim due enrollments, send their current step, decide what is next.

Exactly-once: each step's attempt carries an idempotency key made of (enrollment, step,
channel, try); the attempt is committed as SENDING before the transport is called. An
attempt found still SENDING after its claim expired (a worker killed mid-send) becomes
UNKNOWN, is listed for the operator, and its enrollment waits: never resent blindly.

Claims work the same on both databases: a conditional UPDATE takes rows whose claim is
free or expired, so two workers never hold one enrollment; PostgreSQL also skips rows
another worker has locked (FOR UPDATE SKIP LOCKED) instead of waiting for them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import CampaignDB, EnrollmentDB, OutreachMessageDB
from aicmo.cam.domain.attempts import attempt_key, attempt_outcome
from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import MessageStatus
from aicmo.cam.domain.sequencing import channels_for, variant_of
from aicmo.cam.domain.window import is_open, jitter, next_open
from aicmo.errors import MailboxesDisabledError, RateLimitedError, ValidationError
from aicmo.operator_services.campaigns import campaign_sequence
from aicmo.operator_services.channels.tasks import cancel_stale_tasks
from aicmo.operator_services.crm.events import attempt_event
from aicmo.operator_services.engine.guards import (
    enrollment_calendar,
    enrollment_stop_reason,
    lead_touch_slot,
)
from aicmo.operator_services.engine.pipeline import dispatch
from aicmo.operator_services.engine.plan import plan
from aicmo.operator_services.engine.progress import apply_outcome, finish, release, release_claims
from aicmo.operator_services.outreach import record_refused, send_outreach_message
from aicmo.operator_services.uow import write_unit

log = logging.getLogger("aicmo.engine")
LEASE = timedelta(minutes=5)


def recover_unknown(db: Session, *, now: datetime, lease: timedelta = LEASE) -> int:
    """Attempts left SENDING by a worker that died: UNKNOWN, on record, enrollment waits."""
    cutoff = now - lease
    with write_unit(db):
        rows = list(
            db.scalars(
                select(OutreachMessageDB).where(
                    OutreachMessageDB.status == MessageStatus.SENDING.value,
                    OutreachMessageDB.updated_at < cutoff,
                )
            )
        )
        for row in rows:
            row.status = MessageStatus.UNKNOWN.value
            row.error = "the worker stopped during the send: outcome unknown, not resent"
            row.updated_at = now
            attempt_event(
                db, row, EventType.MESSAGE_OUTCOME_UNKNOWN, now, row.error, source="aicmo"
            )
            if row.enrollment_id is not None:
                enrollment = db.get(EnrollmentDB, row.enrollment_id)
                if enrollment is not None and enrollment.state == "ACTIVE":
                    enrollment.state = "WAITING"
                    enrollment.stop_reason = f"attempt #{row.id} outcome unknown: operator decides"
                    enrollment.claimed_by = enrollment.claimed_until = None
    return len(rows)


def claim_due(
    db: Session, *, now: datetime, worker: str, batch: int = 100, lease: timedelta = LEASE
) -> list[int]:
    """Take up to ``batch`` due enrollments of active campaigns for this worker."""
    with write_unit(db):
        return repo.claim_due_enrollments(db, now=now, worker=worker, batch=batch, lease=lease)


def process_enrollment(db: Session, enrollment_id: int, *, now: datetime, worker: str) -> str:
    """Run the current step of one claimed enrollment; returns what happened."""
    enrollment = db.get(EnrollmentDB, enrollment_id)
    if enrollment is None or enrollment.claimed_by != worker:
        return "not ours"
    campaign = db.get(CampaignDB, enrollment.campaign_id)
    assert campaign is not None
    stop = enrollment_stop_reason(db, enrollment)
    if stop is not None:
        with write_unit(db):
            finish(enrollment, "STOPPED", stop, now)
            release(enrollment)
        return "stopped"
    # The sequence this lead runs: the A/B variants it was given applied to their steps.
    seq = campaign_sequence(db, campaign).with_variants(enrollment.variant)
    variant = variant_of(enrollment.variant, enrollment.step_index)
    cal = enrollment_calendar(db, campaign, enrollment)
    if cal is not None and not is_open(cal, now):
        # Outside the lead's working hours: come back when they open, spread out a little
        # so one mailbox does not fire a burst at 09:00.
        spread = int(campaign.settings.get("window", {}).get("jitter_seconds", 600))
        with write_unit(db):
            enrollment.next_run_at = next_open(cal, now) + jitter(f"enr:{enrollment.id}", spread)
            enrollment.claimed_by = enrollment.claimed_until = None
        return "outside window"
    step = seq.steps[enrollment.step_index]
    channels = channels_for(step)
    channel = channels[enrollment.channel_index]
    wait_until = lead_touch_slot(db, enrollment, channel, now)
    if wait_until is not None:
        with write_unit(db):
            enrollment.next_run_at = wait_until
            enrollment.claimed_by = enrollment.claimed_until = None
        return "lead limit"
    template = step.template_for(channel)
    key = attempt_key(enrollment.id, enrollment.step_index, channel, enrollment.retries)
    message_id: int | None = None
    try:
        result = send_outreach_message(
            db,
            enrollment.lead_id,
            template.body,
            template.subject,
            channel=channel,
            campaign_id=campaign.id,
            idempotency_key=key,
            workspace_id=enrollment.workspace_id,
            now=now,
            enrollment_id=enrollment.id,
            step_index=enrollment.step_index,
            note=template.note,
            action=template.action,
            variant=variant,
        )
    except RateLimitedError as err:
        with write_unit(db):
            enrollment.next_run_at = err.retry_at or now + timedelta(hours=1)
            enrollment.claimed_by = enrollment.claimed_until = None
        return "mailboxes disabled" if isinstance(err, MailboxesDisabledError) else "rate limited"
    except ValidationError as err:  # this lead's data cannot fill this template
        failed = record_refused(
            db,
            enrollment.lead_id,
            channel,
            f"permanent: {err.message}",
            key=key,
            now=now,
            campaign_id=campaign.id,
            enrollment_id=enrollment.id,
            step_index=enrollment.step_index,
            workspace_id=enrollment.workspace_id,
            variant=variant,
        )
        result = {"outcome": "PERMANENT", "message_id": failed, "error": err.message}
    message_id = result["message_id"]
    if result["outcome"] == "SUPPRESSED":
        with write_unit(db):
            finish(enrollment, "STOPPED", result.get("error") or "suppressed", now)
            enrollment.last_message_id = message_id
            release(enrollment)
        return "stopped"
    if result["outcome"] == "TASK":
        # The task's transaction already set the enrollment WAITING (and a person may
        # even have completed it since): only the claim is ours to release.
        with write_unit(db):
            db.refresh(enrollment)
            release(enrollment)
        return "task"
    if result["outcome"] == "WAIT":
        # The channel is under way but not done: a connection request waiting for its
        # acceptance. Same step, same channel, looked at again later.
        with write_unit(db):
            db.refresh(enrollment)
            enrollment.next_run_at = result.get("retry_at") or now + timedelta(hours=6)
            enrollment.last_message_id = message_id or enrollment.last_message_id
            release(enrollment)
        return "waiting"
    with write_unit(db):
        db.refresh(enrollment)
        kind = apply_outcome(
            db, enrollment, attempt_outcome(result["outcome"]), now, message_id=message_id, cal=cal
        )
    return kind


def run_due(
    db: Session,
    *,
    now: datetime,
    worker: str,
    batch: int = 100,
    lease: timedelta = LEASE,
    clock: Callable[[], datetime] | None = None,
    withdraw_tasks: bool = True,
    stopping: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """One worker tick: recover, claim, process. Returns counts by what happened.

    ``stopping`` is asked between sends (the worker passes its SIGTERM flag): once it
    says yes, the sends in flight finish and the rest of the batch is released at once,
    still due, for the next worker to take (counted as ``released``).

    ``withdraw_tasks``: also cancel open operator tasks whose lead must not be contacted
    any more (it reads every open task; the worker does it once a minute, not every tick).

    ``clock`` gives the time of each send after the claim (the worker passes the real
    clock, so records and leases follow the time a long tick really takes); without it
    everything happens at ``now`` (tests with a controlled clock).
    """
    tick = clock or (lambda: now)
    recovered = recover_unknown(db, now=now, lease=lease)
    withdrawn = cancel_stale_tasks(db, now=now) if withdraw_tasks else 0
    claimed = claim_due(db, now=now, worker=worker, batch=batch, lease=lease)
    # Plain email sends go through the batched path; everything else (and anything the
    # batch hands back) one by one, with the same rules and records.
    items, slow = plan(db, claimed, now=now, worker=worker)
    done, back = dispatch(
        db, items, now=now, worker=worker, lease=lease, clock=clock, stopping=stopping
    )
    counts: dict[str, int] = dict(done)
    rest = [*slow, *back]
    for i, enrollment_id in enumerate(rest):
        if stopping is not None and stopping():
            counts["released"] = counts.get("released", 0) + release_claims(
                db, rest[i:], worker=worker
            )
            break
        try:
            what = process_enrollment(db, enrollment_id, now=tick(), worker=worker)
        except Exception as err:
            # A database conflict, a provider's configuration, a bug: in the log with its
            # traceback, the claim released, due again in an hour; the others go on.
            db.rollback()
            log.exception(
                "enrollment failed",
                extra={"fields": {"enrollment": enrollment_id, "error": str(err)[:500]}},
            )
            _release_for_later(db, enrollment_id, worker, tick() + timedelta(hours=1))
            what = "error"
        counts[what] = counts.get(what, 0) + 1
    return {
        "recovered_unknown": recovered,
        "tasks_withdrawn": withdrawn,
        "processed": sum(counts.values()),
        "by_outcome": counts,
    }


def _release_for_later(db: Session, enrollment_id: int, worker: str, at: datetime) -> None:
    with write_unit(db):
        db.execute(
            update(EnrollmentDB)
            .where(EnrollmentDB.id == enrollment_id, EnrollmentDB.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None, next_run_at=at)
        )


def list_unknown_attempts(
    db: Session, *, workspace_id: int = 1, limit: int = 100
) -> list[dict[str, Any]]:
    """Attempts whose outcome is unknown, for the operator (resend or drop)."""
    rows = db.scalars(
        select(OutreachMessageDB)
        .where(
            OutreachMessageDB.workspace_id == workspace_id,
            OutreachMessageDB.status == MessageStatus.UNKNOWN.value,
        )
        .order_by(OutreachMessageDB.id.desc())
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "lead_id": r.lead_id,
            "channel": r.channel,
            "recipient": r.recipient,
            "campaign_id": r.campaign_id,
            "enrollment_id": r.enrollment_id,
            "error": r.error,
            "created_at": r.created_at,
        }
        for r in rows
    ]
