"""``/api/v1/campaigns``: create from the same document as the YAML file, check, start,
pause, resume, and read status and metrics, through the same services as the CLI."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from aicmo.operator_services import campaigns as campaign_service
from aicmo.operator_services.analytics.abtest import variant_results
from aicmo.operator_services.analytics.steps import get_step_metrics
from aicmo.operator_services.metrics import get_channel_metrics
from aicmo.operator_services.outreach import get_outreach_history
from aicmo.web.api.abtest_schemas import ABMetric, CampaignVariants
from aicmo.web.api.deps import DB, Id, Operator, Viewer, respond
from aicmo.web.api.metrics_schemas import Days, StepFigures
from aicmo.web.api.pagination import Cursor, Limit, decode_cursor, page_of
from aicmo.web.api.problems import responses
from aicmo.web.api.route import ServiceRoute, short_read
from aicmo.web.api.schemas import (
    Attempt,
    Campaign,
    CampaignCheck,
    CampaignIn,
    CampaignStarted,
    CampaignStatus,
    ChannelFigures,
    Enrollment,
    Event,
    Page,
)
from aicmo.web.api.trail import TrailQuery, audit_trail

router = APIRouter(
    prefix="/campaigns",
    tags=["campaigns"],
    responses=responses(401, 403, 422),
    route_class=ServiceRoute,
)


@router.get("", response_model=Page[Campaign])
@short_read
def list_campaigns(
    db: DB,
    principal: Viewer,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    after = decode_cursor(cursor, (int,))
    items = campaign_service.list_campaigns(
        db,
        workspace_id=principal.workspace_id,
        after_id=after[0] if after else None,
        limit=limit + 1,
    )
    return page_of(items, limit, lambda row: [row["id"]])


@router.post(
    "",
    status_code=201,
    response_model=Campaign,
    summary="Create a DRAFT campaign (the document of `aicmo campaign create FILE.yaml`)",
    responses=responses(404, 409),
)
def create_campaign(
    request: Request, body: CampaignIn, db: DB, principal: Operator
) -> JSONResponse:
    payload = body.model_dump(mode="json", exclude_unset=True)
    return respond(
        request,
        db,
        principal,
        payload,
        lambda: campaign_service.create_campaign(
            db, workspace_id=principal.workspace_id, **payload
        ),
        Campaign,
        status_code=201,
    )


@router.get("/{campaign_id}", response_model=CampaignStatus, responses=responses(404))
def campaign_status(campaign_id: Id, db: DB, principal: Viewer) -> dict[str, Any]:
    return campaign_service.campaign_status(db, campaign_id, workspace_id=principal.workspace_id)


@router.post(
    "/{campaign_id}/validate",
    response_model=CampaignCheck,
    summary="Everything that would stop or spoil sends, found before any send",
    responses=responses(404),
)
def validate_campaign(campaign_id: Id, db: DB, principal: Viewer) -> dict[str, Any]:
    return campaign_service.validate_campaign(db, campaign_id, workspace_id=principal.workspace_id)


@router.post(
    "/{campaign_id}/start",
    response_model=CampaignStarted,
    summary="Validate, enroll the audience (each lead once) and set the campaign ACTIVE",
    responses=responses(404, 409),
)
def start_campaign(request: Request, campaign_id: Id, db: DB, principal: Operator) -> JSONResponse:
    return respond(
        request,
        db,
        principal,
        {"campaign": campaign_id},
        lambda: campaign_service.start_campaign(
            db, campaign_id, workspace_id=principal.workspace_id
        ),
        CampaignStarted,
    )


@router.post("/{campaign_id}/pause", response_model=Campaign, responses=responses(404))
def pause_campaign(campaign_id: Id, db: DB, principal: Operator) -> dict[str, Any]:
    return campaign_service.set_campaign_status(
        db, campaign_id, "PAUSED", workspace_id=principal.workspace_id
    )


@router.post("/{campaign_id}/resume", response_model=Campaign, responses=responses(404))
def resume_campaign(campaign_id: Id, db: DB, principal: Operator) -> dict[str, Any]:
    return campaign_service.set_campaign_status(
        db, campaign_id, "ACTIVE", workspace_id=principal.workspace_id
    )


@router.get(
    "/{campaign_id}/attempts",
    response_model=list[Attempt],
    summary="The campaign's attempts, newest first",
    responses=responses(404),
)
@short_read
def campaign_attempts(
    campaign_id: Id,
    db: DB,
    principal: Viewer,
    channel: str | None = None,
    limit: Limit = 100,
) -> list[dict[str, Any]]:
    campaign_service.get_campaign(db, campaign_id, workspace_id=principal.workspace_id)
    return get_outreach_history(
        db,
        campaign_id=campaign_id,
        channel=channel,
        limit=limit,
        workspace_id=principal.workspace_id,
    )


@router.get(
    "/{campaign_id}/metrics",
    response_model=dict[str, ChannelFigures],
    summary="Counts and rates per channel over the last `days` days",
    responses=responses(404),
)
@short_read
def campaign_metrics(
    campaign_id: Id,
    db: DB,
    principal: Viewer,
    days: Days = 7,
) -> dict[str, Any]:
    campaign_service.get_campaign(db, campaign_id, workspace_id=principal.workspace_id)
    return get_channel_metrics(db, campaign_id, days, workspace_id=principal.workspace_id)


@router.get(
    "/{campaign_id}/variants",
    response_model=CampaignVariants,
    summary="A/B results per step: each variant's rate and interval, the test, the verdict",
    responses=responses(404),
)
def campaign_variants(
    campaign_id: Id,
    db: DB,
    principal: Viewer,
    step: Annotated[int | None, Query(ge=0, le=1000, description="0-based step")] = None,
    metric: Annotated[
        ABMetric | None, Query(description="Default: the campaign's settings.ab_test.metric")
    ] = None,
) -> dict[str, Any]:
    return variant_results(db, campaign_id, step, metric, workspace_id=principal.workspace_id)


@router.get(
    "/{campaign_id}/metrics/steps",
    response_model=list[StepFigures],
    summary="Counts and rates per step and channel over the last `days` days",
    responses=responses(404),
)
@short_read
def campaign_step_metrics(
    campaign_id: Id,
    db: DB,
    principal: Viewer,
    days: Days = 7,
) -> list[dict[str, Any]]:
    campaign_service.get_campaign(db, campaign_id, workspace_id=principal.workspace_id)
    return get_step_metrics(db, campaign_id, days, workspace_id=principal.workspace_id)


@router.get(
    "/{campaign_id}/events",
    response_model=list[Event],
    summary="The campaign's audit trail, newest first",
    responses=responses(404),
)
@short_read
def campaign_events(
    campaign_id: Id, db: DB, principal: Viewer, page: TrailQuery
) -> list[dict[str, Any]]:
    return audit_trail(db, principal, page, campaign_id=campaign_id)


@router.get(
    "/{campaign_id}/enrollments",
    response_model=Page[Enrollment],
    summary="Who is where in the campaign, and why a stopped one stopped",
    responses=responses(404),
)
@short_read
def campaign_enrollments(
    campaign_id: Id,
    db: DB,
    principal: Viewer,
    state: str | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    after = decode_cursor(cursor, (int,))
    items = campaign_service.list_enrollments(
        db,
        campaign_id,
        workspace_id=principal.workspace_id,
        state=state,
        after_id=after[0] if after else None,
        limit=limit + 1,
    )
    return page_of(items, limit, lambda row: [row["id"]])
