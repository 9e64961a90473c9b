"""The engine's fast path for due email steps: a claimed batch checked, recorded and sent
with a handful of statements instead of a few dozen per message.

Same rules as the one-by-one path (:func:`aicmo.operator_services.engine.process_enrollment`),
in bulk: anything that is not plainly "send this email now" (another channel, a sending
window, a stop, a suppression, a lead or mailbox limit, a key already used, a template this
lead cannot fill) is handed back to the one-by-one path, which records it exactly as
before. The invariants hold per message:

1. Every SENDING row is committed, with its unique key, before its message is handed to
   the transport; outcomes are committed in small groups after. A worker killed between
   leaves SENDING rows, which become UNKNOWN and are never resent (the group is the most
   a crash can leave unknown, instead of one message).
3. The channel's and each mailbox's windows are counted under the channel lock in the
   transaction that writes the SENDING rows; a batch takes at most the room left.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Engine, Table, func, select, update
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import (
    METRIC_COLUMNS,
    CampaignDB,
    EnrollmentDB,
    EventDB,
    LeadDB,
    LeadTagDB,
    MailboxDB,
    OutreachMessageDB,
    SuppressionDB,
)
from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import ChannelType, LeadStage, MessageStatus
from aicmo.cam.domain.ratelimit import Window, fits
from aicmo.cam.domain.retry import RetryPolicy
from aicmo.cam.domain.sequencing import AttemptOutcome, Sequence, channels_for, next_action
from aicmo.cam.domain.suppression import match_pairs
from aicmo.cam.unsubscribe import UnsubscribeClaim, make_token, unsubscribe_url
from aicmo.config import get_settings
from aicmo.crypto import decrypt_secret
from aicmo.db import bulk
from aicmo.errors import AicmoError, ChannelError, ConfigurationError, ValidationError
from aicmo.operator_services.campaigns import campaign_sequence
from aicmo.operator_services.channels import get_channel_config
from aicmo.operator_services.channels.email import (
    check_templates,
    installation_namespace,
    lead_context,
    record_outcome,
    sending_mailboxes,
    transport_for,
)
from aicmo.operator_services.channels.email_message import (
    EmailContent,
    EmailEnvelope,
    build_email,
    dkim_sign,
    make_message_id,
)
from aicmo.operator_services.leads import lead_record
from aicmo.operator_services.limits import (
    COUNTED,
    as_utc,
    begin_send_transaction,
    lock_channel,
    window_counts,
)
from aicmo.operator_services.progress import (
    STOP_EVENTS,
    STOP_STAGES,
    apply_outcome,
    release_claims,
)
from aicmo.operator_services.uow import unit_of_work, utcnow, write_unit
from aicmo.transports import send_process
from aicmo.transports.base import SendReceipt, Transport
from aicmo.transports.rendering import RenderContext, render
from aicmo.transports.smtp import SmtpTransport

log = logging.getLogger("aicmo.dispatch")

#: Messages per chunk at most: SENDING committed, sent, outcomes committed. Bounds what a
#: crash can leave UNKNOWN.
GROUP = 50
#: The first chunk of a batch, sent alone and timed before anything is queued behind it.
FIRST_GROUP = 10


@dataclass(frozen=True)
class _Batch:
    """What every item of a planned batch shares (one workspace), read once."""

    namespace: str
    retry_policy: RetryPolicy
    #: Who claimed the batch: outcomes move on only enrollments it still holds.
    worker: str


@dataclass(frozen=True, slots=True)
class _Enrollment:
    """The columns of an enrollment the fast path reads (plain values: reading ORM
    attributes and building ORM rows cost more than the rest of planning)."""

    id: int
    workspace_id: int
    campaign_id: int
    lead_id: int
    step_index: int
    channel_index: int
    retries: int
    created_at: datetime
    claimed_until: datetime | None


@dataclass(frozen=True, slots=True)
class _Lead:
    id: int
    email: str | None
    email_key: str | None
    linkedin_key: str | None
    stage: str
    first_name: str | None
    last_name: str | None
    #: :func:`lead_record`, what templates see.
    record: dict[str, Any]


@dataclass
class _Item:
    batch: _Batch
    enrollment: _Enrollment
    lead: _Lead
    campaign: CampaignDB
    seq: Sequence
    subject: str
    body: str
    key: str
    mailbox: MailboxDB | None = None
    #: ``mailbox.id``, for the recording thread (which must not touch this session's rows).
    mailbox_id: int | None = None
    #: The SENDING attempt, once recorded: its id, rendered text and Message-ID.
    row_id: int | None = None
    rendered_subject: str = ""
    rendered_body: str = ""
    rfc_id: str = ""
    transport: str = ""
    response: str = ""


def plan(
    db: Session, ids: list[int], *, now: datetime, worker: str
) -> tuple[list[_Item], list[int]]:
    """Split claimed enrollments into plain email sends (checked in bulk) and the rest."""
    if not ids:
        return [], []
    dialect = db.get_bind().dialect
    table = cast(Table, EnrollmentDB.__table__)
    enrollments = [
        _Enrollment(*row)
        for row in db.execute(
            select(
                table.c.id,
                table.c.workspace_id,
                table.c.campaign_id,
                table.c.lead_id,
                table.c.step_index,
                table.c.channel_index,
                table.c.retries,
                table.c.created_at,
                table.c.claimed_until,
            )
            .where(bulk.among(table.c.id, ids, dialect), table.c.claimed_by == worker)
            .order_by(table.c.next_run_at, table.c.id)
        )
    ]
    found = {e.id for e in enrollments}
    slow: list[int] = [i for i in ids if i not in found]
    campaigns: dict[int, tuple[CampaignDB, Sequence]] = {}
    candidates: list[tuple[_Enrollment, CampaignDB, Sequence]] = []
    for e in enrollments:
        if e.campaign_id not in campaigns:
            campaign = db.get(CampaignDB, e.campaign_id)
            assert campaign is not None
            campaigns[e.campaign_id] = (campaign, campaign_sequence(db, campaign))
        campaign, seq = campaigns[e.campaign_id]
        step = seq.steps[e.step_index]
        if campaign.settings.get("window") or channels_for(step)[e.channel_index] is not (
            ChannelType.EMAIL
        ):
            slow.append(e.id)
            continue
        candidates.append((e, campaign, seq))
    if not candidates:
        return [], slow
    workspace_id = candidates[0][0].workspace_id
    if any(e.workspace_id != workspace_id for e, _, _ in candidates):
        return [], slow + [e.id for e, _, _ in candidates]
    lead_ids = {e.lead_id for e, _, _ in candidates}
    leads = _load_leads(db, workspace_id, lead_ids)
    # ix_events_workspace_lead_type
    stopped: dict[int, datetime] = {}
    for lead_id, at in db.execute(
        select(EventDB.lead_id, func.max(EventDB.occurred_at))
        .where(
            EventDB.workspace_id == workspace_id,
            bulk.among(EventDB.lead_id, lead_ids, dialect),
            EventDB.type.in_(STOP_EVENTS),
        )
        .group_by(EventDB.lead_id)
    ):
        stopped[int(lead_id or 0)] = at
    ws = repo.get_workspace(db, workspace_id)
    assert ws is not None
    pairs_of = {
        lead.id: match_pairs(ws.hash_salt, email_key=lead.email_key, linkedin_key=lead.linkedin_key)
        for lead in leads.values()
    }
    by_kind: dict[str, set[str]] = defaultdict(set)
    for pairs in pairs_of.values():
        for kind, value in pairs:
            by_kind[kind].add(value)
    hits: set[tuple[str, str]] = set()
    for kind, values in by_kind.items():  # uq_suppressions_entry: one IN list per kind
        ordered = sorted(values)
        for start in range(0, len(ordered), 500):
            hits.update(
                (str(kind_), str(value))
                for kind_, value in db.execute(
                    select(SuppressionDB.kind, SuppressionDB.value).where(
                        SuppressionDB.workspace_id == workspace_id,
                        SuppressionDB.kind == kind,
                        bulk.among(SuppressionDB.value, ordered[start : start + 500], dialect),
                    )
                )
            )
    config = get_channel_config(db, ChannelType.EMAIL, workspace_id=workspace_id)
    batch = _Batch(
        namespace=installation_namespace(db, workspace_id),
        retry_policy=RetryPolicy(
            max_retries=config["max_retries"], backoff_hours=config["backoff_hours"]
        ),
        worker=worker,
    )
    period = timedelta(hours=config["per_lead_period_hours"])
    gap = timedelta(hours=config["min_gap_hours"])
    touches: dict[int, list[datetime]] = defaultdict(list)
    # ix_outreach_messages_lead
    for lead_id, at in db.execute(
        select(OutreachMessageDB.lead_id, OutreachMessageDB.created_at).where(
            OutreachMessageDB.workspace_id == workspace_id,
            bulk.among(OutreachMessageDB.lead_id, lead_ids, dialect),
            OutreachMessageDB.status.in_(COUNTED),
            OutreachMessageDB.created_at > now - max(period, gap),
        )
    ):
        touches[int(lead_id or 0)].append(at)
    windows = [Window(period, config["per_lead_limit"])] if config["per_lead_limit"] > 0 else []
    keys = {
        e.id: f"enr:{e.id}:s{e.step_index}:{ChannelType.EMAIL.value}:t{e.retries}"
        for e, _, _ in candidates
    }
    used = set(
        db.scalars(
            select(OutreachMessageDB.idempotency_key).where(
                bulk.among(OutreachMessageDB.idempotency_key, keys.values(), dialect)
            )
        )
    )
    items: list[_Item] = []
    planned: set[int] = set()
    for e, campaign, seq in candidates:
        lead = leads.get(e.lead_id)
        plain = (
            lead is not None
            and e.lead_id not in planned  # one touch per lead per batch: the gap decides
            and lead.email
            and lead.email_key
            and lead.stage not in STOP_STAGES
            and not (e.lead_id in stopped and stopped[e.lead_id] >= e.created_at)
            and not any(p in hits for p in pairs_of.get(e.lead_id, []))
            and fits(touches.get(e.lead_id, []), windows, now, min_gap=gap)
            and keys[e.id] not in used
        )
        if not plain:
            slow.append(e.id)
            continue
        assert lead is not None
        template = seq.steps[e.step_index].template_for(ChannelType.EMAIL)
        if template.html is not None or not (template.subject or "").strip():
            slow.append(e.id)
            continue
        planned.add(e.lead_id)
        items.append(
            _Item(batch, e, lead, campaign, seq, template.subject or "", template.body, keys[e.id])
        )
    return items, slow


def _load_leads(db: Session, workspace_id: int, lead_ids: set[int]) -> dict[int, _Lead]:
    """The batch's leads with their tags (templates see them), as plain values."""
    dialect = db.get_bind().dialect
    tags: dict[int, list[str]] = defaultdict(list)
    for lead_id, tag in db.execute(
        select(LeadTagDB.lead_id, LeadTagDB.tag)
        .where(bulk.among(LeadTagDB.lead_id, lead_ids, dialect))
        .order_by(LeadTagDB.lead_id, LeadTagDB.tag_key)  # as LeadDB.tags orders them
    ):
        tags[lead_id].append(tag)
    table = cast(Table, LeadDB.__table__)
    leads: dict[int, _Lead] = {}
    for row in db.execute(
        select(table).where(
            table.c.workspace_id == workspace_id, bulk.among(table.c.id, lead_ids, dialect)
        )
    ):
        values = cast(Mapping[str, Any], row._mapping)
        leads[row.id] = _Lead(
            id=row.id,
            email=row.email,
            email_key=row.email_key,
            linkedin_key=row.linkedin_key,
            stage=row.stage,
            first_name=row.first_name,
            last_name=row.last_name,
            record=lead_record(values, tags.get(row.id, [])),
        )
    return leads


def _room(
    db: Session, mailbox_id: int | None, workspace_id: int, now: datetime
) -> tuple[int, int, int, datetime | None]:
    return window_counts(db, now, workspace_id=workspace_id, mailbox_id=mailbox_id)


_Counts = tuple[int, int, int, datetime | None]  # hour, day, later, last: as window_counts


class _Windows:
    """Upper bounds of the rate windows for a batch's chunks, so that a chunk need not
    count a whole day of sends again (the counts grow with the day's volume; a chunk of
    50 sends would read all of them twice).

    The first chunk counts every attempt of each scope (the channel, each mailbox) in
    full, whatever its status, under the channel's lock, and notes the highest attempt
    id then. A later chunk, under the lock again, reads only the attempts recorded since
    (id above that mark): a window at its time holds at most what the full count found
    then (in the window or after it) plus those. This holds because attempts of the
    channel are only added under its lock, with increasing ids, and never deleted, and
    their creation time never changes; counting every status makes the bound immune to
    any change of status. A scope whose bound does not leave room for the chunk is
    counted exactly, as before.
    """

    def __init__(self) -> None:
        self.at: datetime | None = None
        self.mark = 0
        self.base: dict[int | None, _Counts] = {}  # None: the channel

    def bounds(
        self, db: Session, workspace_id: int, now: datetime, scopes: list[int | None]
    ) -> dict[int | None, _Counts]:
        """Under the lock: an upper bound of each scope's counts at ``now``."""
        if self.at is None or now < self.at:  # the first chunk, or the clock went back
            m = OutreachMessageDB
            self.mark = int(db.scalar(select(func.max(m.id))) or 0)
            self.at = now
            self.base = {
                scope: window_counts(
                    db, now, workspace_id=workspace_id, mailbox_id=scope, any_status=True
                )
                for scope in scopes
            }
            return dict(self.base)
        added: dict[int | None, tuple[int, int, datetime | None]] = {}
        m = OutreachMessageDB
        # By id alone, filtered here: with the scope in the query the planner walks the
        # channel's window index (every send of the day) instead of the ids since the mark.
        for mailbox_id, ws, channel, created in db.execute(
            select(m.mailbox_id, m.workspace_id, m.channel, m.created_at).where(m.id > self.mark)
        ):
            if ws != workspace_id or channel != ChannelType.EMAIL.value:
                continue
            at = as_utc(created)
            keys: list[int | None] = [None] if mailbox_id is None else [None, int(mailbox_id)]
            for key in keys:
                was_n, was_later, was_last = added.get(key, (0, 0, None))
                added[key] = (was_n + 1, was_later + (at > now), _latest(was_last, at))
        out: dict[int | None, _Counts] = {}
        for scope, (hour, day, later, last) in self.base.items():
            n, new_later, new_last = added.get(scope, (0, 0, None))
            out[scope] = (
                hour + later + n,
                day + later + n,
                later + new_later,
                _latest(last, new_last),
            )
        return out


def _latest(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _assign(
    db: Session, items: list[_Item], workspace_id: int, now: datetime, windows: _Windows
) -> tuple[list[_Item], list[_Item]]:
    """Under the channel lock: how many may go now, and from which mailbox."""
    config = lock_channel(db, workspace_id, ChannelType.EMAIL)
    mailboxes = sending_mailboxes(db, workspace_id)
    scopes: list[int | None] = [None, *(mb.id for mb in mailboxes)]
    bounds = windows.bounds(db, workspace_id, now, scopes)
    need = len(items)

    def counts(scope: int | None, hourly: int, daily: int, exact: bool = False) -> _Counts:
        bound = bounds.get(scope)
        if (
            bound is not None
            and not exact
            and not bound[2]
            and min(hourly - bound[0], daily - bound[1]) >= need
        ):
            return bound  # room for the whole chunk even at the upper bound
        return _room(db, scope, workspace_id, now)

    if config is None:
        channel_room = len(items)
    else:
        per_hour, per_day = config.rate_limit_per_hour, config.rate_limit_per_day
        hour, day, later, _ = counts(None, per_hour, per_day)
        if later or per_hour <= 0 or per_day <= 0:
            return [], items
        channel_room = min(per_hour - hour, per_day - day)
    if channel_room <= 0:
        return [], items
    go = items[:channel_room]
    rest = items[channel_room:]
    if not mailboxes:
        return go, rest  # the local outbox
    room: dict[int, int] = {}
    today: dict[int, int] = {}
    for mb in mailboxes:
        gap = timedelta(seconds=max(0, mb.min_gap_seconds or 0))
        # With a gap a mailbox sends one message per chunk at most: counted exactly.
        hour, day, later, last = counts(mb.id, mb.hourly_cap, mb.daily_cap, exact=bool(gap))
        free = 0 if later else min(mb.hourly_cap - hour, mb.daily_cap - day)
        if gap and free > 0:
            free = 1 if last is None or last + gap <= now else 0
        room[mb.id], today[mb.id] = max(0, free), day
    assigned: list[_Item] = []
    by_id = {mb.id: mb for mb in mailboxes}
    for item in go:
        open_ = [i for i, r in room.items() if r > 0]
        if not open_:
            rest.append(item)
            continue
        best = min(open_, key=lambda i: (today[i], i))  # least used today first
        item.mailbox = by_id[best]
        item.mailbox_id = best
        room[best] -= 1
        today[best] += 1
        assigned.append(item)
    return assigned, rest


def _record_sending(
    db: Session, items: list[_Item], now: datetime, windows: _Windows
) -> tuple[list[_Item], list[int]]:
    """One transaction: room under the lock, rendering, SENDING rows, attempt events."""
    settings = get_settings()
    workspace_id = items[0].enrollment.workspace_id
    back: list[int] = []
    namespace = items[0].batch.namespace
    # Commit, not roll back: planning only read, and a rollback would expire every row
    # loaded for the batch (each then reloaded one by one).
    db.commit()
    with unit_of_work(db):
        begin_send_transaction(db)
        go, rest = _assign(db, items, workspace_id, now, windows)
        back += [i.enrollment.id for i in rest]
        ready: list[_Item] = []
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
            _bulk_events(db, workspace_id, ready, EventType.MESSAGE_ATTEMPTED, now)
    return ready, back


def _bulk_events(
    db: Session,
    workspace_id: int,
    items: list[_Item],
    type_: EventType,
    now: datetime,
    reason: dict[int, str] | None = None,
) -> None:
    """Events for many attempts in one INSERT, their daily counters in one upsert each."""
    if not items:
        return
    rows: list[dict[str, Any]] = []
    counts: Counter[tuple[int, int | None, int | None]] = Counter()
    for item in items:
        assert item.row_id is not None
        rows.append(
            {
                "source": item.transport or "aicmo",
                "lead_id": item.lead.id,
                "campaign_id": item.enrollment.campaign_id,
                "message_id": item.row_id,
                "recipient": item.lead.email,
                "reason": (reason or {}).get(item.row_id),
            }
        )
        counts[(item.enrollment.campaign_id, item.enrollment.step_index, item.mailbox_id)] += 1
    shared: dict[str, Any] = {
        "workspace_id": workspace_id,
        "type": type_.value,
        "occurred_at": now,
        "recorded_at": utcnow(),
        "channel": ChannelType.EMAIL.value,
        "detail": {},
    }
    bulk.insert_rows(db, cast(Table, EventDB.__table__), rows, shared=shared)
    column = METRIC_COLUMNS.get(type_.value)
    if column is None:
        return
    # In the order of the rows' keys: two transactions bumping the same rows (this
    # worker's recording thread and its next chunk, or two workers) lock them in the same
    # order, so they wait for each other instead of deadlocking.
    for (campaign_id, step_index, mailbox_id), n in sorted(
        counts.items(),
        key=lambda kv: (kv[0][0], -1 if kv[0][1] is None else kv[0][1], kv[0][2] or 0),
    ):
        repo.bump_metric(
            db,
            workspace_id=workspace_id,
            day=now.date(),
            channel=ChannelType.EMAIL.value,
            column=column,
            campaign_id=campaign_id or None,
            step_index=step_index,
            variant=None,
            mailbox_id=mailbox_id,
            by=n,
        )


def _advance(db: Session, items: list[_Item], now: datetime) -> Counter[str]:
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
        _bulk_events(db, workspace_id, items, EventType.MESSAGE_SENT, now)
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


def dispatch(
    db: Session,
    items: list[_Item],
    *,
    now: datetime,
    worker: str,
    lease: timedelta,
    clock: Callable[[], datetime] | None = None,
    stopping: Callable[[], bool] | None = None,
) -> tuple[Counter[str], list[int]]:
    """Record, send and account for a planned batch, a chunk at a time; returns counts and
    the enrollments handed back to the one-by-one path.

    Each chunk renews its claims (when past a quarter of their lease), commits its SENDING rows
    and builds its messages, then goes to a sender thread (which hands it to the sending
    process, or to the transports itself). While it is on the wire this thread prepares
    the next chunk, and the previous chunk's outcomes are recorded: on PostgreSQL by a
    recording thread on a second connection, otherwise by this thread. So the database
    and the building are hidden behind the waits for the server. All of it well inside
    the lease: no other worker can take an enrollment or call a send in flight UNKNOWN
    meanwhile. Chunks shrink when sends are slow. ``clock`` gives the time of each chunk
    (the worker passes the real clock; tests a fixed one). Once ``stopping`` says yes, no
    new chunk starts: the chunks handed over finish and the rest are released, still due.
    """
    what: Counter[str] = Counter()
    back: list[int] = []
    tick = clock or (lambda: now)
    pos = 0
    # Chunks handed to the sender and not yet collected, oldest first, with what gives
    # their recorded outcomes and when each was started.
    pending: list[tuple[list[_Item], Callable[[], Counter[str]], datetime, float]] = []
    # Seconds per message from a chunk's start to its recorded outcome; until one chunk has
    # been timed nothing is queued behind another, and the first chunk is small. A pace
    # this process measured moments ago (the batch before) is taken as it is.
    timed = _recent_pace()
    size = FIRST_GROUP if timed is None else _chunk_size(lease, timed)
    # Until when each claim is ours: a chunk with a claim past a quarter of its lease
    # renews it.
    held = {i.enrollment.id: i.enrollment.claimed_until for i in items}
    windows = _Windows()
    with _sender() as sender, _recorder(db) as recorder:
        try:
            while pos < len(items):
                if stopping is not None and stopping():
                    left = [i.enrollment.id for i in items[pos:]]
                    released = release_claims(db, left, worker=worker)
                    if released:
                        what["released"] += released
                    break
                chunk = items[pos : pos + size]
                pos += len(chunk)
                began = time.monotonic()
                at = tick()
                if all(_fresh(held.get(i.enrollment.id), at, lease) for i in chunk):
                    mine = {i.enrollment.id for i in chunk}
                else:
                    mine = _renew_claims(db, chunk, worker=worker, at=at, lease=lease)
                    held.update(dict.fromkeys(mine, at + lease))
                lost = [i.enrollment.id for i in chunk if i.enrollment.id not in mine]
                # Lost claims belong to another worker now: not ours to send or hand back.
                chunk = [i for i in chunk if i.enrollment.id in mine]
                if lost:
                    what["claim lost"] += len(lost)
                if not chunk:
                    continue
                ready, handed = _record_sending(db, chunk, at, windows)
                back += handed
                outgoing = _prepare(db, ready, at)
                # Queued behind the chunk on the wire, whose outcomes are recorded meanwhile.
                sending = sender.submit(_deliver, outgoing, at)
                pending.append((ready, recorder.record(ready, sending, at), at, began))
                while len(pending) > (0 if timed is None else recorder.depth):
                    done, outcome, _, done_began = pending.pop(0)
                    what.update(outcome())
                    if done:
                        timed = (time.monotonic() - done_began) / len(done)
                        size = _chunk_size(lease, timed)
                        _note_pace(timed)
        except BaseException:
            db.rollback()
            raise
        finally:
            # Whatever stopped the loop, the sends handed over are recorded (a chunk whose
            # recording itself failed stays SENDING: UNKNOWN later, never resent).
            while pending:
                _, outcome, _, _ = pending.pop(0)
                try:
                    what.update(outcome())
                except Exception:
                    db.rollback()
                    log.exception("the outcomes of a chunk could not be recorded")
    return what, back


class _Recorder:
    """Records a chunk's outcomes once its sends are done: in the calling thread, on its
    session; or in a recording thread of its own, on a session of its own."""

    def __init__(self, db: Session, own: Session | None) -> None:
        self.db = db
        self.own = own
        self.pool = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="aicmo-record") if own else None
        )
        #: Chunks collected late: one on the wire (and one being recorded, with a thread).
        self.depth = 2 if own is not None else 1

    def record(
        self, ready: list[_Item], sending: Future[_Delivered], at: datetime
    ) -> Callable[[], Counter[str]]:
        if self.pool is None or self.own is None:
            return lambda: _settle(self.db, ready, sending, at)
        recorded = self.pool.submit(_settle_on, self.own, ready, sending, at)
        return recorded.result

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        if self.own is not None:
            self.own.close()


@contextmanager
def _recorder(db: Session) -> Iterator[_Recorder]:
    """A recording thread on PostgreSQL, where a second connection writes at the same
    time as the first (SQLite has one writer: its outcomes are recorded in line)."""
    bind = db.get_bind()
    own = None
    if isinstance(bind, Engine) and bind.dialect.name == "postgresql":
        own = Session(bind=bind, expire_on_commit=False)
    recorder = _Recorder(db, own)
    try:
        yield recorder
    finally:
        recorder.close()


def _settle_on(
    db: Session, ready: list[_Item], sending: Future[_Delivered], now: datetime
) -> Counter[str]:
    try:
        return _settle(db, ready, sending, now)
    except BaseException:
        db.rollback()
        raise


#: Seconds a measured pace stays good for the next batch; older, the next batch times
#: its first chunk again (the server may have slowed down meanwhile).
PACE_TTL = 10.0
_pace: tuple[float, float] | None = None  # seconds per message, when measured


def _recent_pace() -> float | None:
    pace = _pace
    if pace is None or time.monotonic() - pace[1] > PACE_TTL:
        return None
    return pace[0]


def _note_pace(per_message: float) -> None:
    global _pace
    _pace = (per_message, time.monotonic())


def _fresh(until: datetime | None, at: datetime, lease: timedelta) -> bool:
    """Whether a claim has at least three quarters of the lease left: a chunk takes an
    eighth of it at most (:func:`_chunk_size`), queued behind two others at most, so a
    server six times slower than the last chunk measured still finishes well inside it.
    (Nothing takes a live claim away: other workers claim only expired ones, and stops
    are applied when an enrollment is next processed.)"""
    return until is not None and until - at >= lease * 3 / 4


def _chunk_size(lease: timedelta, per_message: float) -> int:
    """Messages per chunk such that a chunk takes at most an eighth of the lease from its
    start to its recorded outcomes (queued behind the chunks in flight, sent, recorded),
    at the pace of the last one: its claims, with three quarters of the lease left when it
    starts, never expire mid-send."""
    budget = lease.total_seconds() / 8
    return max(1, min(GROUP, int(budget / max(per_message, 1e-4))))


#: How long a thread may hold the interpreter lock while another waits for it, during
#: a dispatch (the default is 5 ms). The sender thread needs the lock to read each of the
#: server's four answers per message; at the default it would wait up to 5 ms for each
#: while this thread builds. Set for the process while any dispatch runs, then restored.
SWITCH_INTERVAL = 0.0001
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextmanager
def _sender() -> Iterator[ThreadPoolExecutor]:
    global _switch_users, _switch_saved
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, SWITCH_INTERVAL))
        _switch_users += 1
    try:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="aicmo-send") as pool:
            yield pool
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


def _renew_claims(
    db: Session, chunk: list[_Item], *, worker: str, at: datetime, lease: timedelta
) -> set[int]:
    """Extend this worker's claims on the chunk; the ids whose claim is still ours."""
    ids = [i.enrollment.id for i in chunk]
    db.commit()
    with unit_of_work(db):
        renew = (
            update(EnrollmentDB)
            .where(
                EnrollmentDB.id.in_(ids),
                EnrollmentDB.claimed_by == worker,
                EnrollmentDB.claimed_until >= at,
            )
            .values(claimed_until=at + lease)
            .execution_options(synchronize_session=False)
        )
        if db.get_bind().dialect.update_returning:  # SQLite 3.35+, PostgreSQL
            return set(db.scalars(renew.returning(EnrollmentDB.id)))
        db.execute(renew)
        mine = set(
            db.scalars(
                select(EnrollmentDB.id).where(
                    EnrollmentDB.id.in_(ids),
                    EnrollmentDB.claimed_by == worker,
                    EnrollmentDB.claimed_until == at + lease,
                )
            )
        )
    return mine


@dataclass(frozen=True, slots=True)
class _Envelope:
    """What building one message needs, copied out of the rows."""

    content: EmailContent
    envelope: EmailEnvelope
    rfc_id: str
    link: str
    mailto: str
    dkim: tuple[str, str, bytes] | None


def _build(env: _Envelope, now: datetime, postal: str | None) -> bytes:
    message = build_email(
        env.content,
        env.envelope,
        message_id=env.rfc_id,
        date=now,
        unsubscribe_https=env.link,
        unsubscribe_mailto=env.mailto,
        postal_address=postal,
    )
    if env.dkim is not None:
        domain, selector, pem = env.dkim
        message = dkim_sign(message, selector=selector, domain=domain, private_key_pem=pem)
    return message


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """One message as the sender thread needs it: no ORM row, no session."""

    transport: Transport
    message: bytes | AicmoError  # the error when the message could not be built
    mail_from: str
    rcpt: str
    key: str


_Outcome = SendReceipt | AicmoError


def _prepare(db: Session, ready: list[_Item], now: datetime) -> list[_Outgoing]:
    """The chunk's messages built, with their transports (in this thread: it reads rows)."""
    if not ready:
        return []
    settings = get_settings()
    workspace_id = ready[0].enrollment.workspace_id
    namespace = ready[0].batch.namespace
    secret = settings.get_secret_key()
    postal = settings.sender_postal_address
    dkim_keys: dict[int, bytes] = {}
    outgoing: list[_Outgoing] = []
    for item in ready:
        mb, lead = item.mailbox, item.lead
        assert item.row_id is not None and lead.email is not None
        address = mb.from_address if mb else settings.sender_email
        dkim = None
        if mb is not None and mb.dkim_key and mb.dkim_domain and mb.dkim_selector:
            if mb.id not in dkim_keys:
                dkim_keys[mb.id] = decrypt_secret(mb.dkim_key, settings).encode()
            dkim = (mb.dkim_domain, mb.dkim_selector, dkim_keys[mb.id])
        env = _Envelope(
            content=EmailContent(subject=item.rendered_subject, text=item.rendered_body, html=None),
            envelope=EmailEnvelope(
                from_name=(mb.from_name or "") if mb else settings.sender_name,
                from_address=address,
                to_name=" ".join(p for p in (lead.first_name, lead.last_name) if p) or None,
                to_address=lead.email,
                reply_to=mb.reply_to if mb else None,
            ),
            rfc_id=item.rfc_id,
            link=unsubscribe_url(
                settings.public_url,
                make_token(secret, UnsubscribeClaim(workspace_id, item.row_id)),
            ),
            mailto=f"mailto:{(mb.reply_to if mb else None) or address}?subject=unsubscribe",
            dkim=dkim,
        )
        message: bytes | AicmoError
        try:
            message = _build(env, now, postal)
        except (ChannelError, ConfigurationError) as err:
            message = err
        outgoing.append(
            _Outgoing(
                transport_for(mb, settings), message, address, lead.email, f"{namespace}:{item.key}"
            )
        )
    return outgoing


@dataclass
class _Delivered:
    """What the sender thread did with a chunk: an outcome for each message it handed
    over, in order, and the unexpected error that stopped it, if any (the message it was
    sending then, and the rest, stay SENDING: they become UNKNOWN, never resent)."""

    outcomes: list[_Outcome]
    error: BaseException | None = None


def _deliver(outgoing: list[_Outgoing], now: datetime) -> _Delivered:
    """The sender thread: hand each message to its transport, in order (through the
    sending process when every message goes by SMTP and that process is on)."""
    if get_settings().sending_process and all(
        isinstance(out.transport, SmtpTransport) and send_process.usable(out.transport.settings)
        for out in outgoing
    ):
        try:
            return _deliver_in_child(outgoing, now)
        except send_process.SenderProcessUnavailable:
            log.warning("no sending process: this chunk is sent from the worker", exc_info=True)
    done = _Delivered([])
    for out in outgoing:
        try:
            if isinstance(out.message, AicmoError):
                raise out.message
            done.outcomes.append(
                out.transport.send(
                    out.message, mail_from=out.mail_from, rcpt_to=out.rcpt, now=now, key=out.key
                )
            )
        except (ChannelError, ConfigurationError) as err:
            done.outcomes.append(err)
        except Exception as err:  # a bug or an unmapped error: keep what is known
            done.error = err
            break
    return done


def _deliver_in_child(outgoing: list[_Outgoing], now: datetime) -> _Delivered:
    jobs = [
        send_process.Job(
            cast(SmtpTransport, out.transport).settings,
            out.message,
            out.mail_from,
            out.rcpt,
            now,
            out.key,
        )
        for out in outgoing
        if not isinstance(out.message, AicmoError)
    ]
    sent, error = send_process.send_many(jobs)
    # Back in order, the messages that could not be built in their places; outcomes stop
    # where the child stopped.
    done = _Delivered([])
    answers = iter(sent)
    for out in outgoing:
        if isinstance(out.message, AicmoError):
            done.outcomes.append(out.message)
            continue
        answer = next(answers, None)
        if answer is None:
            break
        done.outcomes.append(answer)
    done.error = error
    return done


def _settle(
    db: Session, ready: list[_Item], sending: Future[_Delivered], now: datetime
) -> Counter[str]:
    """Wait for a chunk's sends and record them: the accepted ones in bulk, the others one
    by one (bounce, failure, unknown) exactly as the one-by-one path does. An unexpected
    error of the sender thread is raised after what it did has been recorded."""
    what: Counter[str] = Counter()
    sent: list[_Item] = []
    failed: list[tuple[_Item, AicmoError]] = []
    delivered = sending.result()
    for item, outcome in zip(ready, delivered.outcomes, strict=False):
        if isinstance(outcome, SendReceipt):
            item.transport, item.response = outcome.transport, outcome.response[:500]
            sent.append(item)
        else:
            failed.append((item, outcome))
    if sent:
        what.update(_advance(db, sent, now))
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
    from aicmo.operator_services.outreach import outcome_of

    return {
        "SENT": AttemptOutcome.SENT,
        "TRANSIENT": AttemptOutcome.TRANSIENT,
        "PERMANENT": AttemptOutcome.PERMANENT,
        "UNUSABLE": AttemptOutcome.UNUSABLE,
        "UNKNOWN": AttemptOutcome.UNKNOWN,
    }.get(outcome_of(row), AttemptOutcome.PERMANENT)


__all__ = ["dispatch", "plan"]
