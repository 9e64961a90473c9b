"""The rest of a workspace over HTTP: who am I, suppression, operator tasks, channel
metrics, and (admins) the workspace's API keys and members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from aicmo.cam import repository as repo
from aicmo.operator_services import accounts
from aicmo.operator_services.channels.tasks import complete_task, list_tasks, skip_task
from aicmo.operator_services.crm import suppression
from aicmo.operator_services.metrics import get_channel_metrics
from aicmo.web.api.deps import DB, Admin, Id, IdQuery, Operator, Viewer, respond
from aicmo.web.api.leads import actor
from aicmo.web.api.metrics_schemas import Days
from aicmo.web.api.pagination import Cursor, Limit, decode_cursor, page_of
from aicmo.web.api.problems import responses
from aicmo.web.api.route import ServiceRoute, short_read
from aicmo.web.api.schemas import (
    ApiKey,
    ApiKeyCreated,
    ApiKeyIn,
    ChannelFigures,
    Me,
    Member,
    Page,
    Suppression,
    SuppressionCreated,
    SuppressionIn,
    Task,
    TaskDoneIn,
    TaskSkipIn,
)

router = APIRouter(responses=responses(401, 403, 422), route_class=ServiceRoute)


@router.get("/me", response_model=Me, tags=["workspace"], summary="The caller and its role")
@short_read
def me(db: DB, principal: Viewer) -> dict[str, Any]:
    workspace = repo.get_workspace(db, principal.workspace_id)
    return {
        "workspace_id": principal.workspace_id,
        "workspace": workspace.slug if workspace else "",
        "role": principal.role.value,
        "key_id": principal.key_id,
        "user_id": principal.user_id,
    }


@router.get("/suppressions", response_model=Page[Suppression], tags=["suppression"])
@short_read
def list_suppressions(
    db: DB,
    principal: Viewer,
    kind: str | None = None,
    reason: str | None = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    after = decode_cursor(cursor, (datetime, int))
    items = suppression.list_suppressions(
        db,
        kind=kind,
        reason=reason,
        limit=limit + 1,
        workspace_id=principal.workspace_id,
        after=(after[0], after[1]) if after else None,
    )
    return page_of(items, limit, lambda row: [row["created_at"], row["id"]])


@router.post(
    "/suppressions",
    status_code=201,
    response_model=SuppressionCreated,
    tags=["suppression"],
    summary="Never contact an address, a domain or a LinkedIn profile (idempotent)",
)
def add_suppression(
    request: Request, body: SuppressionIn, db: DB, principal: Operator
) -> JSONResponse:
    payload = body.model_dump(mode="json")
    return respond(
        request,
        db,
        principal,
        payload,
        lambda: suppression.add_suppression(
            db,
            body.value,
            kind=body.kind,
            reason=body.reason,
            source="api",
            note=body.note,
            actor=actor(principal),
            workspace_id=principal.workspace_id,
        ),
        SuppressionCreated,
        status_code=201,
    )


@router.delete(
    "/suppressions/{value}",
    response_model=Suppression,
    tags=["suppression"],
    responses=responses(404),
)
def remove_suppression(
    value: str, db: DB, principal: Operator, kind: str | None = None
) -> dict[str, Any]:
    return suppression.remove_suppression(
        db, value, kind=kind, actor=actor(principal), workspace_id=principal.workspace_id
    )


@router.get("/tasks", response_model=Page[Task], tags=["tasks"], summary="Soonest due first")
@short_read
def tasks(
    db: DB,
    principal: Viewer,
    status: str | None = "OPEN",
    overdue: bool = False,
    lead_id: IdQuery = None,
    campaign_id: IdQuery = None,
    limit: Limit = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    after = decode_cursor(cursor, (datetime, int))
    items = list_tasks(
        db,
        status=status,
        overdue=overdue,
        lead_id=lead_id,
        campaign_id=campaign_id,
        limit=limit + 1,
        workspace_id=principal.workspace_id,
        after=(after[0], after[1]) if after else None,
    )
    return page_of(items, limit, lambda row: [row["due_at"], row["id"]])


@router.post(
    "/tasks/{task_id}/done",
    response_model=Task,
    tags=["tasks"],
    summary="The person did it: the attempt is SENT and the sequence goes on",
    responses=responses(404, 409),
)
def task_done(task_id: Id, body: TaskDoneIn, db: DB, principal: Operator) -> dict[str, Any]:
    return complete_task(db, task_id, note=body.note, workspace_id=principal.workspace_id)


@router.post(
    "/tasks/{task_id}/skip",
    response_model=Task,
    tags=["tasks"],
    summary="The person will not do it: the attempt FAILED and the step falls back",
    responses=responses(404, 409),
)
def task_skip(task_id: Id, body: TaskSkipIn, db: DB, principal: Operator) -> dict[str, Any]:
    return skip_task(db, task_id, reason=body.reason, workspace_id=principal.workspace_id)


@router.get(
    "/metrics/channels",
    response_model=dict[str, ChannelFigures],
    tags=["metrics"],
    summary="Counts and rates per channel over the last `days` days (all campaigns)",
)
@short_read
def channel_metrics(db: DB, principal: Viewer, days: Days = 7) -> dict[str, Any]:
    return get_channel_metrics(db, None, days, workspace_id=principal.workspace_id)


@router.get("/api-keys", response_model=list[ApiKey], tags=["access"])
def api_keys(db: DB, principal: Admin) -> list[dict[str, Any]]:
    return accounts.list_api_keys(db, principal.workspace_id)


@router.post(
    "/api-keys",
    status_code=201,
    response_model=ApiKeyCreated,
    tags=["access"],
    summary="A new key for this workspace; the answer holds the secret, shown once",
)
def create_api_key(body: ApiKeyIn, db: DB, principal: Admin) -> dict[str, Any]:
    return accounts.create_api_key(
        db,
        workspace_id=principal.workspace_id,
        name=body.name,
        role=body.role,
        created_by=principal.user_id,
    )


@router.delete(
    "/api-keys/{key_id}", response_model=ApiKey, tags=["access"], responses=responses(404)
)
def revoke_api_key(key_id: Id, db: DB, principal: Admin) -> dict[str, Any]:
    return accounts.revoke_api_key(db, principal.workspace_id, key_id)


@router.get("/members", response_model=list[Member], tags=["access"])
def members(db: DB, principal: Admin) -> list[dict[str, Any]]:
    return accounts.list_members(db, principal.workspace_id)
