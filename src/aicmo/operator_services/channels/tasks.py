"""Operator tasks: steps a person carries out (LinkedIn by hand, forms behind a CAPTCHA).

A task belongs to one attempt, which stays QUEUED (counted by the rate limits as a
planned touch) while the task is open. Done → the attempt is SENT as of the completion
time and the sequence continues from then; skipped → the attempt FAILED and the step
falls back to its next channel; cancelled (the lead replied, unsubscribed or was
suppressed meanwhile) → the enrollment stops. Nothing here claims a send a person did
not report.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import (
    DEFAULT_WORKSPACE_ID,
    EnrollmentDB,
    LeadDB,
    OperatorTaskDB,
    OutreachMessageDB,
)
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType, LeadStage, MessageStatus
from aicmo.cam.domain.sequencing import AttemptOutcome
from aicmo.errors import ConflictError, NotFoundError, ValidationError
from aicmo.operator_services.crm.events import attempt_event
from aicmo.operator_services.crm.suppression import blocking_suppression, site_domain
from aicmo.operator_services.engine.progress import apply_outcome, finish, why_stopped
from aicmo.operator_services.uow import utcnow, write_unit

TASK_KINDS = ("connect", "message", "view_profile", "submit_form")
TASK_STATUSES = ("OPEN", "DONE", "SKIPPED", "CANCELLED")
#: How long a person has before a task shows as overdue.
DEFAULT_DUE = timedelta(days=1)


def task_to_dict(task: OperatorTaskDB, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    return {
        "id": task.id,
        "lead_id": task.lead_id,
        "campaign_id": task.campaign_id,
        "enrollment_id": task.enrollment_id,
        "message_id": task.message_id,
        "channel": task.channel,
        "kind": task.kind,
        "status": task.status,
        "title": task.title,
        "body": task.body,
        "url": task.url,
        "reason": task.reason,
        "due_at": task.due_at,
        "overdue": task.status == "OPEN" and task.due_at < now,
        "completed_at": task.completed_at,
        "note": task.note,
        "created_at": task.created_at,
    }


def _event(
    db: Session,
    task: OperatorTaskDB,
    type_: EventType,
    now: datetime,
    reason: str | None = None,
    step_index: int | None = None,
    variant: str | None = None,
) -> None:
    repo.add_event(
        db,
        task.workspace_id,
        OutreachEvent(
            type=type_,
            occurred_at=now,
            channel=task.channel,
            source="operator",
            reason=reason,
            detail={"task_id": task.id, "kind": task.kind},
        ),
        lead_id=task.lead_id,
        campaign_id=task.campaign_id,
        message_id=task.message_id,
        step_index=step_index,
        variant=variant,
        actor="operator",
    )


def open_task(
    db: Session,
    attempt: OutreachMessageDB,
    *,
    kind: str,
    title: str,
    body: str | None,
    url: str | None,
    reason: str,
    now: datetime,
    due_in: timedelta = DEFAULT_DUE,
) -> OperatorTaskDB:
    """A task for ``attempt`` (already flushed, status QUEUED), inside the caller's
    transaction."""
    if kind not in TASK_KINDS:
        raise ValidationError(f"unknown task kind {kind!r}", field="kind")
    task = OperatorTaskDB(
        workspace_id=attempt.workspace_id,
        lead_id=attempt.lead_id,
        campaign_id=attempt.campaign_id,
        enrollment_id=attempt.enrollment_id,
        message_id=attempt.id,
        channel=attempt.channel,
        kind=kind,
        status="OPEN",
        title=title[:500],
        body=body,
        url=url,
        reason=reason,
        due_at=now + due_in,
        created_at=now,
        updated_at=now,
    )
    db.add(task)
    db.flush()
    _event(db, task, EventType.TASK_CREATED, now, reason, attempt.step_index, attempt.variant)
    if attempt.enrollment_id is not None:
        # In the task's own transaction: the sequence waits on it from the moment it
        # exists (a crash or a quick "done" can never leave the two out of step).
        enrollment = db.get(EnrollmentDB, attempt.enrollment_id)
        if enrollment is not None and enrollment.state == "ACTIVE":
            enrollment.state = "WAITING"
            enrollment.stop_reason = f"operator task #{task.id}"
            enrollment.next_run_at = None
            enrollment.last_message_id = attempt.id
    return task


def list_tasks(
    db: Session,
    *,
    status: str | None = "OPEN",
    overdue: bool = False,
    lead_id: int | None = None,
    campaign_id: int | None = None,
    limit: int = 100,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    now: datetime | None = None,
    after: tuple[datetime, int] | None = None,
) -> list[dict[str, Any]]:
    """Tasks, oldest due first (the ones to do next on top); ``after``: the (due_at, id)
    the previous page ended with."""
    now = now or utcnow()
    if status is not None and status.upper() not in TASK_STATUSES:
        raise ValidationError(
            f"unknown task status {status!r} (expected one of {', '.join(TASK_STATUSES)})",
            field="status",
        )
    tasks = repo.task_page(
        db,
        workspace_id,
        status=status.upper() if status is not None else None,
        overdue_at=now if overdue else None,
        lead_id=lead_id,
        campaign_id=campaign_id,
        limit=limit,
        after=after,
    )
    return [task_to_dict(t, now) for t in tasks]


def task_texts(
    db: Session, tasks: list[dict[str, Any]], *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[int, str | None]:
    """The message each task's person sends (its attempt's rendered text, without the
    task's instructions around it), by task id: what a Copy button copies."""
    bodies = repo.attempt_bodies(db, workspace_id, [t["message_id"] for t in tasks])
    return {t["id"]: bodies.get(t["message_id"]) for t in tasks}


def get_task(
    db: Session, task_id: int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    """One task as it is now, whatever its status.

    Raises:
        NotFoundError: no such task in this workspace.
    """
    task = db.get(OperatorTaskDB, task_id)
    if task is None or task.workspace_id != workspace_id:
        raise NotFoundError(f"no task #{task_id}")
    return task_to_dict(task)


def _open_task(db: Session, task_id: int, workspace_id: int) -> OperatorTaskDB:
    task = db.get(OperatorTaskDB, task_id)
    if task is None or task.workspace_id != workspace_id:
        raise NotFoundError(f"no task #{task_id}")
    if task.status != "OPEN":
        raise ConflictError(f"task #{task_id} is already {task.status.lower()}")
    return task


def _waiting_enrollment(db: Session, task: OperatorTaskDB) -> EnrollmentDB | None:
    """The enrollment that waits on this task (and on nothing else)."""
    if task.enrollment_id is None:
        return None
    enrollment = db.get(EnrollmentDB, task.enrollment_id)
    if (
        enrollment is None
        or enrollment.state != "WAITING"
        or enrollment.last_message_id != task.message_id
    ):
        return None
    return enrollment


def _close_task(
    db: Session, task_id: int, workspace_id: int, status: str, note: str | None, now: datetime
) -> tuple[OperatorTaskDB, OutreachMessageDB]:
    """Close an open task (DONE or SKIPPED); the task and the attempt it stands for."""
    task = _open_task(db, task_id, workspace_id)
    task.status, task.completed_at, task.note, task.updated_at = status, now, note, now
    attempt = db.get(OutreachMessageDB, task.message_id)
    assert attempt is not None
    return task, attempt


def _resume_sequence(
    db: Session, task: OperatorTaskDB, outcome: AttemptOutcome, now: datetime, message_id: int
) -> str | None:
    """Tell the enrollment waiting on the task (if any) how its attempt ended; its decision."""
    enrollment = _waiting_enrollment(db, task)
    if enrollment is None:
        return None
    return apply_outcome(db, enrollment, outcome, now, message_id=message_id)


def complete_task(
    db: Session,
    task_id: int,
    *,
    note: str | None = None,
    now: datetime | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """The person did it: the attempt is SENT as of now and the sequence goes on.

    Raises:
        NotFoundError: no such task. ConflictError: the task is not open.
    """
    now = now or utcnow()
    with write_unit(db):
        task, attempt = _close_task(db, task_id, workspace_id, "DONE", note, now)
        attempt.status = MessageStatus.SENT.value
        attempt.sent_at = attempt.updated_at = now
        attempt.transport = "operator"
        attempt.provider_message_id = f"done by a person (task #{task.id})"
        _event(db, task, EventType.TASK_COMPLETED, now, note, attempt.step_index, attempt.variant)
        reason = f"reported done by the operator (task #{task.id})"
        attempt_event(db, attempt, EventType.MESSAGE_SENT, now, reason, source="operator")
        lead = db.get(LeadDB, attempt.lead_id) if attempt.lead_id else None
        if lead is not None and lead.stage == LeadStage.NEW.value:
            lead.stage = LeadStage.CONTACTED.value
        decision = _resume_sequence(db, task, AttemptOutcome.SENT, now, attempt.id)
        result = task_to_dict(task, now)
    return {**result, "sequence": decision}


def skip_task(
    db: Session,
    task_id: int,
    *,
    reason: str,
    now: datetime | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """The person will not do it: the attempt FAILED and the step falls back.

    Raises:
        NotFoundError: no such task. ConflictError: the task is not open.
        ValidationError: no reason given.
    """
    if not reason or not reason.strip():
        raise ValidationError("say why the task is skipped", field="reason")
    now = now or utcnow()
    with write_unit(db):
        task, attempt = _close_task(db, task_id, workspace_id, "SKIPPED", reason, now)
        attempt.status = MessageStatus.FAILED.value
        attempt.updated_at = now
        attempt.error = f"not sent: the operator skipped task #{task.id}: {reason}"[:2000]
        _event(db, task, EventType.TASK_SKIPPED, now, reason, attempt.step_index, attempt.variant)
        decision = _resume_sequence(db, task, AttemptOutcome.UNUSABLE, now, attempt.id)
        result = task_to_dict(task, now)
    return {**result, "sequence": decision}


def _why_stale(db: Session, task: OperatorTaskDB) -> str | None:
    lead = db.get(LeadDB, task.lead_id) if task.lead_id else None
    if lead is not None:
        hit = blocking_suppression(
            db,
            email_key=lead.email_key,
            linkedin_key=lead.linkedin_key,
            channel=task.channel,
            site_domain=site_domain(lead)
            if task.channel == ChannelType.CONTACT_FORM.value
            else None,
            workspace_id=lead.workspace_id,
        )
        if hit is not None:
            return f"{hit['kind'].lower()} {hit['value']} is suppressed ({hit['reason']})"
    return why_stopped(db, lead, task.created_at)


def cancel_stale_tasks(db: Session, *, now: datetime | None = None) -> int:
    """Withdraw open tasks whose lead must not be contacted any more (a reply, an
    unsubscribe, a suppression, a final stage): nobody should do them now."""
    now = now or utcnow()
    cancelled = 0
    with write_unit(db):
        for task in repo.open_tasks(db):
            why = _why_stale(db, task)
            if why is None:
                continue
            task.status, task.completed_at, task.note, task.updated_at = (
                "CANCELLED",
                now,
                why,
                now,
            )
            attempt = db.get(OutreachMessageDB, task.message_id)
            if attempt is not None and attempt.status == MessageStatus.QUEUED.value:
                attempt.status = MessageStatus.FAILED.value
                attempt.error = f"not sent: task #{task.id} withdrawn ({why})"
                attempt.updated_at = now
            _event(db, task, EventType.TASK_CANCELLED, now, why)
            enrollment = _waiting_enrollment(db, task)
            if enrollment is not None:
                finish(enrollment, "STOPPED", why, now)
            cancelled += 1
    return cancelled
