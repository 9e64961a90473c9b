"""What sending costs (cost_rates): a few rows per workspace, each found by its scope.

Every statement reads or writes through uq_cost_rates_scope (workspace_id, scope,
channel, target_id); the names of mailboxes and LinkedIn accounts come from their own
unique name indexes.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from aicmo.cam.db_models import CostRateDB, LinkedInAccountDB, MailboxDB
from aicmo.cam.repository.common import rowcount


def cost_rates(db: Session, workspace_id: int) -> list[CostRateDB]:
    """Every cost rate of the workspace, by scope, channel and target
    (uq_cost_rates_scope range)."""
    return list(
        db.scalars(
            select(CostRateDB)
            .where(CostRateDB.workspace_id == workspace_id)
            .order_by(CostRateDB.scope, CostRateDB.channel, CostRateDB.target_id)
        )
    )


def cost_rate(
    db: Session, workspace_id: int, *, scope: str, channel: str, target_id: int
) -> CostRateDB | None:
    """The rate of one scope (uq_cost_rates_scope)."""
    return db.scalar(
        select(CostRateDB).where(
            CostRateDB.workspace_id == workspace_id,
            CostRateDB.scope == scope,
            CostRateDB.channel == channel,
            CostRateDB.target_id == target_id,
        )
    )


def delete_cost_rate(
    db: Session, workspace_id: int, *, scope: str, channel: str, target_id: int
) -> int:
    """Remove the rate of one scope; how many rows (uq_cost_rates_scope)."""
    return rowcount(
        db.execute(
            delete(CostRateDB).where(
                CostRateDB.workspace_id == workspace_id,
                CostRateDB.scope == scope,
                CostRateDB.channel == channel,
                CostRateDB.target_id == target_id,
            )
        )
    )


def linkedin_account_id_by_name(db: Session, workspace_id: int, name: str) -> int | None:
    """The id of the LinkedIn account with this name (uq_linkedin_accounts_name)."""
    return db.scalar(
        select(LinkedInAccountDB.id).where(
            LinkedInAccountDB.workspace_id == workspace_id, LinkedInAccountDB.name == name
        )
    )


def mailbox_names(db: Session, workspace_id: int, ids: Iterable[int]) -> dict[int, str]:
    """Names of the workspace's mailboxes by id (primary key)."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = db.execute(
        select(MailboxDB.id, MailboxDB.name).where(
            MailboxDB.workspace_id == workspace_id, MailboxDB.id.in_(wanted)
        )
    )
    return {int(i): str(n) for i, n in rows}


def linkedin_account_names(db: Session, workspace_id: int, ids: Iterable[int]) -> dict[int, str]:
    """Names of the workspace's LinkedIn accounts by id (primary key)."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = db.execute(
        select(LinkedInAccountDB.id, LinkedInAccountDB.name).where(
            LinkedInAccountDB.workspace_id == workspace_id, LinkedInAccountDB.id.in_(wanted)
        )
    )
    return {int(i): str(n) for i, n in rows}
