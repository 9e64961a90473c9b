"""The campaign lists the dashboard shows: each campaign with its size, each enrollment
with its lead's name. Two queries a page (named in the repository), never two per row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID
from aicmo.operator_services.campaigns import list_campaigns, list_enrollments


def list_enrollments_with_leads(
    db: Session,
    ref: str | int,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    state: str | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """``list_enrollments`` with each one's ``lead`` (id, names, company, email; None when
    the lead is gone), read in one query for the page: who is where, by name.

    Raises:
        NotFoundError: no such campaign. ValidationError: unknown state.
    """
    rows = list_enrollments(
        db, ref, workspace_id=workspace_id, state=state, after_id=after_id, limit=limit
    )
    leads = {
        lead.id: lead
        for lead in repo.leads_by_ids(db, workspace_id, sorted({r["lead_id"] for r in rows}))
    }
    for row in rows:
        lead = leads.get(row["lead_id"])
        row["lead"] = (
            None
            if lead is None
            else {
                "id": lead.id,
                "first_name": lead.first_name,
                "last_name": lead.last_name,
                "company": lead.company,
                "email": lead.email,
            }
        )
    return rows


def list_campaign_overview(
    db: Session,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    after_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """``list_campaigns`` with each campaign's number of ``steps`` and of leads
    ``enrolled`` (two queries for the page, not two per campaign)."""
    rows = list_campaigns(db, workspace_id=workspace_id, after_id=after_id, limit=limit)
    enrolled = repo.enrollment_counts(db, [r["id"] for r in rows])
    steps = repo.sequence_steps(db, sorted({r["sequence_id"] for r in rows if r["sequence_id"]}))
    return [
        {
            **row,
            "steps": len(steps.get(row["sequence_id"] or 0, [])),
            "enrolled": enrolled.get(row["id"], 0),
        }
        for row in rows
    ]
