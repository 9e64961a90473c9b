"""The audit trail under a lead or a campaign: one paging rule and one call for both
``/leads/{id}/events`` and ``/campaigns/{id}/events``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy.orm import Session

from aicmo.cam.domain.access import Principal
from aicmo.operator_services.crm.events import list_events
from aicmo.web.api.deps import MAX_ID
from aicmo.web.api.pagination import Limit


@dataclass(frozen=True)
class TrailPage:
    limit: int
    before: int | None


async def trail_page(
    limit: Limit = 100,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Last event id of the previous page")
    ] = None,
) -> TrailPage:
    return TrailPage(limit=limit, before=before)


TrailQuery = Annotated[TrailPage, Depends(trail_page)]


def audit_trail(
    db: Session,
    principal: Principal,
    page: TrailPage,
    *,
    lead_id: int | None = None,
    campaign_id: int | None = None,
) -> list[dict[str, Any]]:
    """Newest first; 404 when the lead or campaign is not the caller's workspace's."""
    return list_events(
        db,
        workspace_id=principal.workspace_id,
        lead_id=lead_id,
        campaign_id=campaign_id,
        before_id=page.before,
        limit=page.limit,
    )
