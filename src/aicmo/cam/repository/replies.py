"""Human replies and their current category (replies): the unified inbox's rows.

uq_replies_event (workspace_id, reply_event_id) holds one row per REPLY_RECEIVED event;
the listing reads ix_replies_workspace_received (or ix_replies_workspace_category when
filtered by category) from the newest end, keyset on (received_at, id).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from aicmo.cam.db_models import LeadDB, ReplyDB
from aicmo.cam.repository.common import keyset_after, rowcount


def add_reply(db: Session, row: ReplyDB) -> ReplyDB:
    """Insert one reply (uq_replies_event refuses a second row for the same event)."""
    db.add(row)
    db.flush()
    return row


def reply_for_update(db: Session, workspace_id: int, reply_id: int) -> ReplyDB | None:
    """One reply by id, locked on PostgreSQL (primary key): two corrections of the same
    reply queue up, so each records the category the other left as its ``previous``."""
    return db.scalar(
        select(ReplyDB)
        .where(ReplyDB.workspace_id == workspace_id, ReplyDB.id == reply_id)
        .with_for_update()
    )


def reply_page(
    db: Session,
    workspace_id: int,
    *,
    category: str | None,
    campaign_id: int | None,
    channel: str | None,
    lead_id: int | None,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[tuple[ReplyDB, LeadDB | None]]:
    """Replies newest first with their lead (ix_replies_workspace_category when filtered
    by category, else ix_replies_workspace_received, walked back from the newest; the
    campaign, channel and lead filters are applied to the rows walked). ``after``: the
    (received_at, id) the previous page ended with."""
    stmt = (
        select(ReplyDB, LeadDB)
        .outerjoin(LeadDB, LeadDB.id == ReplyDB.lead_id)
        .where(ReplyDB.workspace_id == workspace_id)
    )
    if category is not None:
        stmt = stmt.where(ReplyDB.category == category)
    if campaign_id is not None:
        stmt = stmt.where(ReplyDB.campaign_id == campaign_id)
    if channel is not None:
        stmt = stmt.where(ReplyDB.channel == channel)
    if lead_id is not None:
        stmt = stmt.where(ReplyDB.lead_id == lead_id)
    if after is not None:
        stmt = stmt.where(keyset_after([(ReplyDB.received_at, True), (ReplyDB.id, True)], after))
    stmt = stmt.order_by(ReplyDB.received_at.desc(), ReplyDB.id.desc()).limit(limit)
    return [(row[0], row[1]) for row in db.execute(stmt)]


def reply_category_counts(
    db: Session, workspace_id: int, lead_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """How many replies of each current category each lead has
    (ix_replies_workspace_lead, index-only)."""
    if not lead_ids:
        return {}
    stmt = (
        select(ReplyDB.lead_id, ReplyDB.category, func.count())
        .where(ReplyDB.workspace_id == workspace_id, ReplyDB.lead_id.in_(lead_ids))
        .group_by(ReplyDB.lead_id, ReplyDB.category)
    )
    counts: dict[int, dict[str, int]] = {}
    for lead_id, category, n in db.execute(stmt):
        if lead_id is not None:
            counts.setdefault(int(lead_id), {})[str(category)] = int(n)
    return counts


def reply_categories_since(db: Session, workspace_id: int, since: datetime) -> dict[str, int]:
    """How many replies of each current category arrived at or after ``since`` (the range
    of ix_replies_workspace_received from ``since``; the category read on those rows)."""
    stmt = (
        select(ReplyDB.category, func.count())
        .where(ReplyDB.workspace_id == workspace_id, ReplyDB.received_at >= since)
        .group_by(ReplyDB.category)
    )
    return {str(category): int(n) for category, n in db.execute(stmt)}


def blank_lead_replies(
    db: Session, workspace_id: int, *, lead_id: int, email: str | None, email_key: str | None
) -> int:
    """Erasure: blank who wrote, the subject and the snippet of the lead's replies, and of
    replies sent from its address that matched no lead; the category stays, as the
    counts do. How many.

    The OR on the sender has no index: a scan of the workspace's replies (prefix of
    ix_replies_workspace_received), once per erasure."""
    personal = [ReplyDB.lead_id == lead_id]
    if email_key:
        personal.append(func.lower(ReplyDB.sender) == email_key)
    if email:
        personal.append(ReplyDB.sender == email)
    values: dict[str, Any] = {"sender": None, "subject": None, "snippet": None}
    return rowcount(
        db.execute(
            update(ReplyDB)
            .where(ReplyDB.workspace_id == workspace_id, or_(*personal))
            .values(**values)
        )
    )
