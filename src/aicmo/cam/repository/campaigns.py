"""Campaigns, their sequences and enrollments (campaigns, sequence_configs, enrollments).

The due-work queries write the state as a literal, not a parameter, so that the planner
can match the partial index ix_enrollments_due (``WHERE state = 'ACTIVE'``): PostgreSQL's
generic plan for a prepared statement cannot match a bound parameter to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, func, literal, select, update
from sqlalchemy.orm import Session

from aicmo.cam.db_models import CampaignDB, EnrollmentDB, LeadDB, SequenceConfigDB
from aicmo.cam.repository.common import claim_due_rows, rowcount


def sequence_config_by_name(db: Session, workspace_id: int, name: str) -> SequenceConfigDB | None:
    """A stored sequence by name (uq_sequence_configs_name)."""
    return db.scalar(
        select(SequenceConfigDB).where(
            SequenceConfigDB.workspace_id == workspace_id,
            SequenceConfigDB.name == name,
        )
    )


def due_summary(
    db: Session, now: datetime, workspace_id: int | None = None
) -> tuple[int, datetime | None]:
    """(how many, the oldest next_run_at) of enrollments due now in active campaigns, of
    one workspace or all (ix_enrollments_due, partial on state = 'ACTIVE'; campaigns by
    primary key)."""
    query = (
        select(func.count(), func.min(EnrollmentDB.next_run_at))
        .join(CampaignDB, CampaignDB.id == EnrollmentDB.campaign_id)
        .where(
            EnrollmentDB.state == literal("ACTIVE", literal_execute=True),
            EnrollmentDB.next_run_at <= now,
            CampaignDB.status == "ACTIVE",
        )
    )
    if workspace_id is not None:
        query = query.where(CampaignDB.workspace_id == workspace_id)
    due = db.execute(query).one()
    return int(due[0] or 0), due[1]


def claim_due_enrollments(
    db: Session, *, now: datetime, worker: str, batch: int, lease: timedelta
) -> list[int]:
    """Claim up to ``batch`` due enrollments of active campaigns for ``worker`` (see
    claim_due_rows); their ids.

    ix_enrollments_due: partial index on next_run_at WHERE state = 'ACTIVE', matched only
    because the state is a literal, not a bound parameter.
    """
    due = (
        select(EnrollmentDB.id)
        .join(CampaignDB, CampaignDB.id == EnrollmentDB.campaign_id)
        .where(
            EnrollmentDB.state == literal("ACTIVE", literal_execute=True),
            EnrollmentDB.next_run_at <= now,
            CampaignDB.status == "ACTIVE",
        )
    )
    return claim_due_rows(
        db,
        EnrollmentDB,
        due,
        order=EnrollmentDB.next_run_at,
        now=now,
        worker=worker,
        batch=batch,
        lease=lease,
    )


def release_claims(db: Session, enrollment_ids: list[int], *, worker: str) -> int:
    """Clear this worker's claims on these enrollments (primary key); how many.

    Rows claimed by another worker meanwhile are left alone; the session's copies are
    not synchronised (the caller holds none it reads again).
    """
    return rowcount(
        db.execute(
            update(EnrollmentDB)
            .where(EnrollmentDB.id.in_(enrollment_ids), EnrollmentDB.claimed_by == worker)
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False)
        )
    )


def enrollment_ids_of_lead(lead_id: int) -> Select[int]:
    """The ids of a lead's enrollments, as a subquery for the erasure's statements.

    By lead alone: neither ix_enrollments_lead (workspace first) nor
    uq_enrollments_campaign_lead (campaign first) leads with it, so this reads all of
    ix_enrollments_lead (index-only); it runs once per erasure.
    """
    return select(EnrollmentDB.id).where(EnrollmentDB.lead_id == lead_id)


def delete_enrollments_of_lead(db: Session, lead_id: int) -> None:
    """Erasure: delete the lead's enrollments (a scan of the table, once per erasure).

    Run after unlinking the attempts and tasks that point at them, so no single
    statement cascades down two paths at once (PostgreSQL checks the SET NULL of one
    path against rows the other path is still deleting).
    """
    db.execute(delete(EnrollmentDB).where(EnrollmentDB.lead_id == lead_id))


def campaign_by_ref(db: Session, workspace_id: int, ref: str | int) -> CampaignDB | None:
    """A campaign by id (primary key) or by name (uq_campaigns_name), in one workspace."""
    stmt = select(CampaignDB).where(CampaignDB.workspace_id == workspace_id)
    if isinstance(ref, int) or str(ref).strip().isdigit():
        stmt = stmt.where(CampaignDB.id == int(ref))
    else:
        stmt = stmt.where(CampaignDB.name == str(ref).strip())
    return db.scalar(stmt)


def campaign_name_taken(db: Session, workspace_id: int, name: str) -> bool:
    """Whether the workspace has a campaign of this name (uq_campaigns_name)."""
    found = db.scalar(
        select(CampaignDB.id).where(
            CampaignDB.workspace_id == workspace_id, CampaignDB.name == name
        )
    )
    return found is not None


def campaign_by_id(db: Session, workspace_id: int, campaign_id: int) -> CampaignDB | None:
    """The workspace's campaign with this id (primary key); another workspace's is None."""
    row = db.get(CampaignDB, campaign_id)
    if row is None or row.workspace_id != workspace_id:
        return None
    return row


def campaign_page(
    db: Session, workspace_id: int, *, after_id: int | None, limit: int
) -> list[CampaignDB]:
    """Campaigns of the workspace by id (primary key range; a workspace has few)."""
    stmt = select(CampaignDB).where(CampaignDB.workspace_id == workspace_id)
    if after_id is not None:
        stmt = stmt.where(CampaignDB.id > after_id)
    return list(db.scalars(stmt.order_by(CampaignDB.id).limit(limit)))


def enrollment_page(
    db: Session,
    workspace_id: int,
    campaign_id: int,
    *,
    state: str | None,
    after_id: int | None,
    limit: int,
) -> list[EnrollmentDB]:
    """A campaign's enrollments by id, optionally in one state (the campaign's range of
    uq_enrollments_campaign_lead, then a sort: an operator's listing, not a hot path)."""
    stmt = select(EnrollmentDB).where(
        EnrollmentDB.workspace_id == workspace_id, EnrollmentDB.campaign_id == campaign_id
    )
    if state is not None:
        stmt = stmt.where(EnrollmentDB.state == state)
    if after_id is not None:
        stmt = stmt.where(EnrollmentDB.id > after_id)
    return list(db.scalars(stmt.order_by(EnrollmentDB.id).limit(limit)))


def campaign_steps(db: Session, campaign: CampaignDB) -> list[Any]:
    """The step definitions of the campaign's sequence (primary key), [] without one."""
    seq = db.get(SequenceConfigDB, campaign.sequence_id) if campaign.sequence_id else None
    return list(seq.steps) if seq is not None else []


def enrollment_by_id(db: Session, workspace_id: int, enrollment_id: int) -> EnrollmentDB | None:
    """The workspace's enrollment with this id (primary key); another workspace's is None."""
    row = db.get(EnrollmentDB, enrollment_id)
    if row is None or row.workspace_id != workspace_id:
        return None
    return row


def leads_by_ids(db: Session, workspace_id: int, lead_ids: Sequence[int]) -> list[LeadDB]:
    """The workspace's leads among ``lead_ids`` (primary key; a page of a listing, a few
    dozen ids)."""
    if not lead_ids:
        return []
    return list(
        db.scalars(
            select(LeadDB).where(LeadDB.workspace_id == workspace_id, LeadDB.id.in_(lead_ids))
        )
    )


def enrollment_counts(db: Session, campaign_ids: Sequence[int]) -> dict[int, int]:
    """How many leads each campaign enrolled (uq_enrollments_campaign_lead: an index-only
    count per campaign); campaigns with none are absent."""
    if not campaign_ids:
        return {}
    rows = db.execute(
        select(EnrollmentDB.campaign_id, func.count())
        .where(EnrollmentDB.campaign_id.in_(campaign_ids))
        .group_by(EnrollmentDB.campaign_id)
    )
    return {int(campaign_id): int(n) for campaign_id, n in rows}


def sequence_steps(db: Session, sequence_ids: Sequence[int]) -> dict[int, list[Any]]:
    """The step definitions of these sequences (primary key), by sequence id."""
    if not sequence_ids:
        return {}
    rows = db.execute(
        select(SequenceConfigDB.id, SequenceConfigDB.steps).where(
            SequenceConfigDB.id.in_(sequence_ids)
        )
    )
    return {int(seq_id): list(steps or []) for seq_id, steps in rows}
