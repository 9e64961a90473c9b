"""``/api/v1/costs`` and ``/api/v1/analytics/attribution``: what sending costs, and what
it earned, through the same services as ``aicmo costs`` and ``aicmo attribution``.

Everyone in the workspace reads; only an admin changes a cost.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query

from aicmo.operator_services.analytics import costs
from aicmo.operator_services.analytics.attribution import MAX_LOOKBACK_DAYS, attribution_report
from aicmo.operator_services.uow import utcnow
from aicmo.web.api.analytics_schemas import AttributionReport, Cost, CostIn
from aicmo.web.api.deps import DB, Admin, Viewer
from aicmo.web.api.problems import responses
from aicmo.web.api.route import ServiceRoute

router = APIRouter(tags=["analytics"], responses=responses(401, 403, 422), route_class=ServiceRoute)


@router.get("/costs", response_model=list[Cost])
def list_costs(db: DB, principal: Viewer) -> list[dict[str, Any]]:
    return costs.list_costs(db, workspace_id=principal.workspace_id)


@router.put(
    "/costs",
    response_model=Cost,
    summary="Set the cost of one channel, mailbox or LinkedIn account",
    responses=responses(404),
)
def set_cost(body: CostIn, db: DB, principal: Admin) -> dict[str, Any]:
    fields = body.model_dump(exclude_unset=True)
    for amount in ("monthly", "per_action"):
        if fields.get(amount) is not None:
            fields[amount] = str(fields[amount])
    return costs.set_cost(db, workspace_id=principal.workspace_id, **fields)


@router.get(
    "/analytics/attribution",
    response_model=AttributionReport,
    response_model_by_alias=True,
    summary="Outcomes credited per campaign, step, channel and variant, with cost and ROI",
    responses=responses(404),
)
def attribution(
    db: DB,
    principal: Viewer,
    model: Annotated[
        str,
        Query(
            max_length=40,
            description="first_touch, last_touch, linear or position_based",
        ),
    ] = "linear",
    date_from: Annotated[
        date | None, Query(alias="from", description="First day (UTC); default: 29 days ago")
    ] = None,
    date_to: Annotated[
        date | None, Query(alias="to", description="Last day, included (UTC); default: today")
    ] = None,
    campaign: Annotated[str | None, Query(max_length=200)] = None,
    lookback_days: Annotated[int | None, Query(ge=1, le=MAX_LOOKBACK_DAYS)] = None,
) -> dict[str, Any]:
    end = date_to or utcnow().date()
    start = date_from or end - timedelta(days=29)
    return attribution_report(
        db,
        model=model,
        date_from=start,
        date_to=end,
        campaign=campaign,
        workspace_id=principal.workspace_id,
        lookback_days=lookback_days,
    )
