"""``/api/v1/campaigns/{id}/report``: a campaign's report as HTML, PDF or CSV, the same
document as ``aicmo report``, for the caller's workspace only."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from aicmo.cam.domain.attribution import AttributionModel
from aicmo.operator_services.analytics.performance import report_period
from aicmo.operator_services.analytics.render import MEDIA_TYPES, render_report
from aicmo.operator_services.analytics.report import build_report
from aicmo.operator_services.uow import utcnow
from aicmo.web.api.deps import DB, Id, Viewer
from aicmo.web.api.problems import responses
from aicmo.web.api.route import ServiceRoute

router = APIRouter(
    prefix="/campaigns",
    tags=["reports"],
    responses=responses(401, 403, 422),
    route_class=ServiceRoute,
)

#: The earliest and latest days a report may name (a typo's year 0001 or 9999 names none).
_FIRST_DAY = date(2000, 1, 1)
_LAST_DAY = date(2999, 12, 31)


@router.get(
    "/{campaign_id}/report",
    summary="The campaign's report: summary, funnel per step, rates per day, channels",
    description=(
        "From the daily rollups, `from` to `to` (both days included, UTC; default: the 30 "
        "days up to today; at most 366 days). `html` is one self-contained page (inline "
        "SVG charts, no script, nothing loaded from elsewhere), `pdf` an A4 document, "
        "`csv` one row per number: section, day, step, channel, metric, value."
    ),
    response_class=Response,
    responses={
        **responses(404),
        200: {
            "description": "The report, as a download",
            "content": {media: {} for media in MEDIA_TYPES.values()},
        },
    },
)
def campaign_report(
    campaign_id: Id,
    db: DB,
    principal: Viewer,
    fmt: Annotated[Literal["html", "pdf", "csv"], Query(alias="format")] = "html",
    since: Annotated[date | None, Query(alias="from", ge=_FIRST_DAY, le=_LAST_DAY)] = None,
    until: Annotated[date | None, Query(alias="to", ge=_FIRST_DAY, le=_LAST_DAY)] = None,
    model: Annotated[
        AttributionModel, Query(description="How the attribution section credits outcomes")
    ] = AttributionModel.LINEAR,
) -> Response:
    return report_response(
        db,
        campaign_id,
        since,
        until,
        fmt,
        workspace_id=principal.workspace_id,
        model=model,
        inline=fmt == "html",
    )


def report_response(
    db: Session,
    campaign_id: int,
    since: date | None,
    until: date | None,
    fmt: str,
    *,
    workspace_id: int,
    model: AttributionModel,
    inline: bool,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The report as a file that is never cached, for this route and the dashboard's
    download alike; the connection goes back before the charts, the slow part, are drawn."""
    now = utcnow()
    start, end = report_period(since, until, today=now.date())
    built = build_report(
        db, campaign_id, start, end, now=now, workspace_id=workspace_id, model=model
    )
    db.rollback()
    rendered = render_report(built, fmt)
    disposition = "inline" if inline else "attachment"
    return Response(
        content=rendered.content,
        media_type=rendered.media_type,
        headers={
            "Content-Disposition": f'{disposition}; filename="{rendered.filename}"',
            "Cache-Control": "no-store",
            **(headers or {}),
        },
    )
