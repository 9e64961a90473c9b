"""The batched planner: which claimed enrollments are plain "send this email now", checked
with a handful of bulk queries instead of a few dozen per enrollment.

Same rules as the one-by-one path (:func:`aicmo.operator_services.engine.process_enrollment`),
from the same definitions (:mod:`.guards`), in bulk: anything that is not plainly "send
this email now" (another channel, a sending window, a stop, a suppression, a lead or
mailbox limit, a key already used, a template this lead cannot fill) is handed back to the
one-by-one path, which records it exactly as before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import (
    CampaignDB,
    EnrollmentDB,
    LeadDB,
    LeadTagDB,
    MailboxDB,
    OutreachMessageDB,
    SuppressionDB,
)
from aicmo.cam.domain.attempts import TouchLimit, attempt_key
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.domain.retry import RetryPolicy
from aicmo.cam.domain.sequencing import Sequence, channels_for, variant_of
from aicmo.cam.domain.suppression import match_pairs
from aicmo.db import bulk
from aicmo.operator_services.campaigns import campaign_sequence
from aicmo.operator_services.channels import get_channel_config
from aicmo.operator_services.channels.email import installation_namespace
from aicmo.operator_services.engine.guards import (
    batch_stop_reason,
    last_stop_events,
    recent_touches,
    sends_any_hour,
)
from aicmo.operator_services.leads import lead_record


@dataclass(frozen=True)
class Batch:
    """What every item of a planned batch shares (one workspace), read once."""

    namespace: str
    retry_policy: RetryPolicy
    #: Who claimed the batch: outcomes move on only enrollments it still holds.
    worker: str


@dataclass(frozen=True, slots=True)
class EnrollmentRow:
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
    #: The A/B choices of this lead (``enrollments.variant``), None outside a test.
    variant: str | None


@dataclass(frozen=True, slots=True)
class LeadRow:
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
class Item:
    batch: Batch
    enrollment: EnrollmentRow
    lead: LeadRow
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

    @property
    def variant(self) -> str | None:
        """The A/B variant of the current step this lead was given (None: no test)."""
        return variant_of(self.enrollment.variant, self.enrollment.step_index)


def plan(
    db: Session, ids: list[int], *, now: datetime, worker: str
) -> tuple[list[Item], list[int]]:
    """Split claimed enrollments into plain email sends (checked in bulk) and the rest."""
    if not ids:
        return [], []
    dialect = db.get_bind().dialect
    table = cast(Table, EnrollmentDB.__table__)
    enrollments = [
        EnrollmentRow(*cast(tuple[Any, ...], row))
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
                table.c.variant,
            )
            .where(bulk.among(table.c.id, ids, dialect), table.c.claimed_by == worker)
            .order_by(table.c.next_run_at, table.c.id)
        )
    ]
    found = {e.id for e in enrollments}
    slow: list[int] = [i for i in ids if i not in found]
    campaigns: dict[int, tuple[CampaignDB, Sequence]] = {}
    runs: dict[tuple[int, str | None], Sequence] = {}
    candidates: list[tuple[EnrollmentRow, CampaignDB, Sequence]] = []
    for e in enrollments:
        if e.campaign_id not in campaigns:
            campaign = db.get(CampaignDB, e.campaign_id)
            assert campaign is not None
            campaigns[e.campaign_id] = (campaign, campaign_sequence(db, campaign))
        campaign, seq = campaigns[e.campaign_id]
        # The sequence this lead runs: its A/B variants applied (built once per choice).
        if (e.campaign_id, e.variant) not in runs:
            runs[(e.campaign_id, e.variant)] = seq.with_variants(e.variant)
        seq = runs[(e.campaign_id, e.variant)]
        step = seq.steps[e.step_index]
        if not sends_any_hour(campaign) or channels_for(step)[e.channel_index] is not (
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
    stopped = last_stop_events(db, workspace_id, lead_ids)
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
    batch = Batch(
        namespace=installation_namespace(db, workspace_id),
        retry_policy=RetryPolicy(
            max_retries=config["max_retries"], backoff_hours=config["backoff_hours"]
        ),
        worker=worker,
    )
    limit = TouchLimit.of(config)
    touches = recent_touches(db, workspace_id, lead_ids, limit, now)
    keys = {
        e.id: attempt_key(e.id, e.step_index, ChannelType.EMAIL, e.retries)
        for e, _, _ in candidates
    }
    used = set(
        db.scalars(
            select(OutreachMessageDB.idempotency_key).where(
                bulk.among(OutreachMessageDB.idempotency_key, keys.values(), dialect)
            )
        )
    )
    items: list[Item] = []
    planned: set[int] = set()
    for e, campaign, seq in candidates:
        lead = leads.get(e.lead_id)
        plain = (
            lead is not None
            and e.lead_id not in planned  # one touch per lead per batch: the gap decides
            and lead.email
            and lead.email_key
            and batch_stop_reason(lead.stage, stopped.get(e.lead_id), e.created_at) is None
            and not any(p in hits for p in pairs_of.get(e.lead_id, []))
            and limit.next_slot(touches.get(e.lead_id, []), now) is None
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
            Item(batch, e, lead, campaign, seq, template.subject or "", template.body, keys[e.id])
        )
    return items, slow


def _load_leads(db: Session, workspace_id: int, lead_ids: set[int]) -> dict[int, LeadRow]:
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
    leads: dict[int, LeadRow] = {}
    for row in db.execute(
        select(table).where(
            table.c.workspace_id == workspace_id, bulk.among(table.c.id, lead_ids, dialect)
        )
    ):
        values = cast(Mapping[str, Any], row._mapping)
        leads[row.id] = LeadRow(
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
