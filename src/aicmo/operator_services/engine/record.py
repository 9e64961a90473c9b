"""What the batched path writes: SENDING rows and their events before a chunk is sent,
then its outcomes (the accepted ones in bulk, the others as the one-by-one path records
them) and each enrollment's next state.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import EnrollmentDB, EventDB, LeadDB, OutreachMessageDB
from aicmo.cam.domain import rollups
from aicmo.cam.domain.attempts import attempt_outcome
from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import ChannelType, LeadStage, MessageStatus
from aicmo.cam.domain.sequencing import AttemptOutcome, next_action
from aicmo.config import get_settings
from aicmo.db import bulk
from aicmo.errors import AicmoError, ValidationError
from aicmo.operator_services.channels.email import check_templates, lead_context, record_outcome
from aicmo.operator_services.channels.email_message import make_message_id
from aicmo.operator_services.channels.limits import begin_send_transaction
from aicmo.operator_services.engine.compose import check_buildable
from aicmo.operator_services.engine.plan import Item
from aicmo.operator_services.engine.progress import apply_outcome
from aicmo.operator_services.engine.windows import Windows, assign
from aicmo.operator_services.outreach import outcome_of
from aicmo.operator_services.uow import unit_of_work, utcnow, write_unit
from aicmo.transports.base import SendReceipt
from aicmo.transports.rendering import RenderContext, render


def record_sending(
    db: Session, items: list[Item], now: datetime, windows: Windows
) -> tuple[list[Item], list[int]]:
    """One transaction: room under the lock, rendering, SENDING rows, attempt events.

    Every message is rendered and built (unsigned) before any row is written: a lead
    whose template or data cannot make an email is handed back (the one-by-one path
    records it FAILED with the reason), never committed SENDING with the others."""
    settings = get_settings()
    workspace_id = items[0].enrollment.workspace_id
    back: list[int] = []
    namespace = items[0].batch.namespace
    # Commit, not roll back: planning only read, and a rollback would expire every row
    # loaded for the batch (each then reloaded one by one).
    db.commit()
    with unit_of_work(db):
        begin_send_transaction(db)
        go, rest = assign(db, items, workspace_id, now, windows)
        back += [i.enrollment.id for i in rest]
        ready: list[Item] = []
        dkim_keys: dict[int, bytes] = {}
        for item in go:
            mb = item.mailbox
            if "unsubscribe_url" in item.subject + item.body:
                back.append(item.enrollment.id)  # needs the attempt's id: one by one
                continue
            sender = {
                "name": (mb.from_name or "") if mb else settings.sender_name,
                "email": mb.from_address if mb else settings.sender_email,
            }
            context = RenderContext(lead=lead_context(item.lead.record), sender=sender)
            try:
                check_templates(item.subject, item.body)
                item.rendered_subject = render(
                    item.subject, context, seed=item.key, field="subject"
                )
                item.rendered_body = render(item.body, context, seed=item.key, field="body")
            except ValidationError:
                # This lead cannot fill the template: the one-by-one path records why.
                back.append(item.enrollment.id)
                continue
            address = mb.from_address if mb else settings.sender_email
            item.rfc_id = make_message_id(f"{namespace}:{item.key}", address.rpartition("@")[2])
            try:
                check_buildable(item, now, settings, dkim_keys)
            except ValidationError:
                # No valid email from this lead's data (a line break in a field the subject
                # uses): it fails alone, never written SENDING; the one-by-one path records
                # why, and the rest of the chunk goes.
                back.append(item.enrollment.id)
                continue
            item.transport = "smtp" if mb else "outbox"
            ready.append(item)
        if ready:
            table = cast(Table, OutreachMessageDB.__table__)
            rows = [
                {
                    "lead_id": i.lead.id,
                    "campaign_id": i.campaign.id,
                    "enrollment_id": i.enrollment.id,
                    "mailbox_id": i.mailbox.id if i.mailbox else None,
                    "step_index": i.enrollment.step_index,
                    "variant": i.variant,
                    "recipient": i.lead.email,
                    "subject": i.rendered_subject,
                    "body": i.rendered_body,
                    "transport": i.transport,
                    "idempotency_key": i.key,
                    "rfc_message_id": i.rfc_id,
                }
                for i in ready
            ]
            shared = {
                "workspace_id": workspace_id,
                "channel": ChannelType.EMAIL.value,
                "message_type": "cold_outreach",
                "status": MessageStatus.SENDING.value,
                "retry_count": 0,
                "scheduled_at": now,
                "created_at": now,
                "updated_at": now,
            }
            ids: dict[str, int]
            if db.get_bind().dialect.insert_returning:
                returned = bulk.insert_returning(
                    db, table, rows, ("idempotency_key", "id"), shared=shared
                )
                ids = {str(key): int(id_) for key, id_ in returned}
            else:
                bulk.insert_rows(db, table, rows, shared=shared)
                keyed = select(table.c.idempotency_key, table.c.id).where(
                    table.c.idempotency_key.in_([i.key for i in ready])
                )
                ids = dict(db.execute(keyed).all())
            for item in ready:
                item.row_id = ids[item.key]
            bulk_events(db, workspace_id, ready, EventType.MESSAGE_ATTEMPTED, now)
    return ready, back


def bulk_events(
    db: Session,
    workspace_id: int,
    items: list[Item],
    type_: EventType,
    now: datetime,
    reason: dict[int, str] | None = None,
) -> None:
    """Events for many attempts in one INSERT, their daily counters in one upsert each."""
    if not items:
        return
    rows: list[dict[str, Any]] = []
    counts: Counter[tuple[int, int | None, str, int | None]] = Counter()
    for item in items:
        assert item.row_id is not None
        variant = item.variant
        rows.append(
            {
                "source": item.transport or "aicmo",
                "lead_id": item.lead.id,
                "campaign_id": item.enrollment.campaign_id,
                "message_id": item.row_id,
                "step_index": item.enrollment.step_index,
                "variant": variant,
                "mailbox_id": item.mailbox_id,
                "recipient": item.lead.email,
                "reason": (reason or {}).get(item.row_id),
                "detail": {"variant": variant} if variant else {},
            }
        )
        key = (item.enrollment.campaign_id, item.enrollment.step_index, variant or "")
        counts[(*key, item.mailbox_id)] += 1
    shared: dict[str, Any] = {
        "workspace_id": workspace_id,
        "type": type_.value,
        "occurred_at": now,
        "recorded_at": utcnow(),
        "channel": ChannelType.EMAIL.value,
    }
    bulk.insert_rows(db, cast(Table, EventDB.__table__), rows, shared=shared)
    changes = rollups.deltas(type_.value, ChannelType.EMAIL.value, {})
    # In the order of the rows' keys: two transactions bumping the same rows (this
    # worker's recording thread and its next chunk, or two workers) lock them in the same
    # order, so they wait for each other instead of deadlocking.
    for (campaign_id, step_index, variant_key, mailbox_id), n in sorted(
        counts.items(),
        key=lambda kv: (
            kv[0][0],
            -1 if kv[0][1] is None else kv[0][1],
            kv[0][2],
            kv[0][3] or 0,
        ),
    ):
        for column, by in changes:
            repo.bump_metric(
                db,
                workspace_id=workspace_id,
                day=rollups.day_of(now),
                channel=ChannelType.EMAIL.value,
                column=column,
                campaign_id=campaign_id or None,
                step_index=step_index,
                variant=variant_key or None,
                mailbox_id=mailbox_id,
                by=by * n,
            )


def advance(db: Session, items: list[Item], now: datetime) -> Counter[str]:
    """SENT outcomes of a group, the leads contacted and the enrollments' next state, in
    one transaction of a few bulk statements."""
    what: Counter[str] = Counter()
    if not items:
        return what
    workspace_id = items[0].enrollment.workspace_id
    policy = items[0].batch.retry_policy
    attempts: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []
    for item in items:
        e = item.enrollment
        attempts.append(
            {"id": item.row_id, "transport": item.transport, "provider_message_id": item.response}
        )
        decision = next_action(
            item.seq,
            e.step_index,
            e.channel_index,
            AttemptOutcome.SENT,
            now,
            retry_policy=policy,
            retries_so_far=e.retries,
            cal=None,
        )
        kind = str(getattr(decision.kind, "value", decision.kind))
        advance = kind == "ADVANCE"
        states.append(
            {
                "id": e.id,
                "state": "ACTIVE" if advance else "COMPLETED",
                "step_index": decision.step_index if advance else e.step_index,
                "next_run_at": decision.at if advance else None,
                "finished_at": None if advance else now,
                "last_message_id": item.row_id,
            }
        )
        what["advance" if advance else "complete"] += 1
    table = cast(Table, OutreachMessageDB.__table__)
    enrollments = cast(Table, EnrollmentDB.__table__)
    leads = cast(Table, LeadDB.__table__)
    with write_unit(db):
        bulk.update_rows(
            db,
            table,
            attempts,
            shared={"status": MessageStatus.SENT.value, "sent_at": now, "updated_at": now},
        )
        bulk_events(db, workspace_id, items, EventType.MESSAGE_SENT, now)
        # By primary key: an IN list with stage = 'NEW' lets the planner pick the stage
        # index, and scan every NEW lead, on stale statistics.
        bulk.update_rows(
            db,
            leads,
            [{"id": lead_id} for lead_id in sorted({i.lead.id for i in items})],
            shared={"stage": LeadStage.CONTACTED.value, "updated_at": now},
            only_if={"stage": LeadStage.NEW.value},
        )
        # Only while the claim is still this worker's: one that expired meanwhile may
        # have been taken and put on hold by another worker, whose decision stands.
        bulk.update_rows(
            db,
            enrollments,
            states,
            shared={
                "channel_index": 0,
                "retries": 0,
                "claimed_by": None,
                "claimed_until": None,
                "updated_at": now,
            },
            only_if={"claimed_by": items[0].batch.worker},
        )
    return what


Outcome = SendReceipt | AicmoError


@dataclass
class Delivered:
    """What the sender thread did with a chunk: an outcome for each message it handed
    over, in order, and the unexpected error that stopped it, if any (the message it was
    sending then, and the rest, stay SENDING: they become UNKNOWN, never resent)."""

    outcomes: list[Outcome]
    error: BaseException | None = None


def settle(
    db: Session, ready: list[Item], sending: Future[Delivered], now: datetime
) -> Counter[str]:
    """Wait for a chunk's sends and record them: the accepted ones in bulk, the others one
    by one (bounce, failure, unknown) exactly as the one-by-one path does. An unexpected
    error of the sender thread is raised after what it did has been recorded."""
    what: Counter[str] = Counter()
    sent: list[Item] = []
    failed: list[tuple[Item, AicmoError]] = []
    delivered = sending.result()
    for item, outcome in zip(ready, delivered.outcomes, strict=False):
        if isinstance(outcome, SendReceipt):
            item.transport, item.response = outcome.transport, outcome.response[:500]
            sent.append(item)
        else:
            failed.append((item, outcome))
    if sent:
        what.update(advance(db, sent, now))
    for item, error in failed:
        row = db.get(OutreachMessageDB, item.row_id, populate_existing=True)
        lead = db.get(LeadDB, item.lead.id, populate_existing=True)
        assert row is not None and lead is not None
        record_outcome(db, row, lead, error, now)
        with unit_of_work(db):
            enrollment = db.get(EnrollmentDB, item.enrollment.id, populate_existing=True)
            assert enrollment is not None
            kind = apply_outcome(db, enrollment, _outcome_of(row), now, message_id=row.id)
        what[kind] += 1
    if delivered.error is not None:
        raise delivered.error
    return what


def _outcome_of(row: OutreachMessageDB) -> AttemptOutcome:
    return attempt_outcome(outcome_of(row), otherwise=AttemptOutcome.PERMANENT)
