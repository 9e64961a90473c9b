"""Webhooks out over HTTP (admins): register endpoints, see their deliveries and every
attempt, replay one, rotate the signing secret. The secret is in the answer to the POST
that creates it and to a rotation, never in a list."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from aicmo.operator_services import webhooks
from aicmo.web.api.deps import DB, Admin, respond
from aicmo.web.api.pagination import Cursor, Limit, decode_cursor, page_of
from aicmo.web.api.problems import responses
from aicmo.web.api.route import ServiceRoute

router = APIRouter(
    prefix="/webhooks",
    tags=["webhooks"],
    responses=responses(401, 403, 422),
    route_class=ServiceRoute,
)


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2000, description="https URL that receives POSTs")
    events: list[str] = Field(
        min_length=1,
        max_length=100,
        description="Public event names (docs/webhooks.md), e.g. email.replied; '*' for all",
    )
    description: str | None = Field(default=None, max_length=500)


class Webhook(BaseModel):
    id: int
    url: str
    description: str | None
    events: list[str]
    enabled: bool
    created_at: datetime
    failing_since: datetime | None
    last_success_at: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    deliveries: dict[str, int] | None = Field(
        default=None, description="Deliveries by status (lists only)"
    )


class WebhookCreated(Webhook):
    secret: str = Field(
        description="whsec_… signing secret. Shown this once; verify webhook-signature with it."
    )


class Attempt(BaseModel):
    id: int
    started_at: datetime
    finished_at: datetime | None
    status_code: int | None
    duration_ms: int | None
    error: str | None
    response: str | None = Field(description="The start of the receiver's answer")


class Delivery(BaseModel):
    id: int
    endpoint_id: int
    event_id: int
    webhook_id: str = Field(description="The webhook-id header: the same on every attempt")
    type: str | None
    status: Literal["PENDING", "SUCCEEDED", "FAILED", "SKIPPED"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    log: list[Attempt]


class WebhookPage(BaseModel):
    items: list[Webhook]


class DeliveryPage(BaseModel):
    items: list[Delivery]
    next_cursor: str | None


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Register an endpoint (the secret is shown once)",
)
def create_webhook(request: Request, body: WebhookIn, db: DB, principal: Admin) -> JSONResponse:
    return respond(
        request,
        db,
        principal,
        body.model_dump(mode="json"),
        lambda: webhooks.register_webhook(
            db,
            body.url,
            body.events,
            workspace_id=principal.workspace_id,
            description=body.description,
        ),
        WebhookCreated,
        status_code=201,
    )


@router.get("", response_model=WebhookPage, summary="The workspace's endpoints")
def list_webhooks(db: DB, principal: Admin) -> dict[str, Any]:
    return {"items": webhooks.list_webhooks(db, workspace_id=principal.workspace_id)}


@router.delete(
    "/{webhook_id}", response_model=Webhook, responses=responses(404), summary="Remove an endpoint"
)
def delete_webhook(webhook_id: int, db: DB, principal: Admin) -> dict[str, Any]:
    return webhooks.delete_webhook(db, webhook_id, workspace_id=principal.workspace_id)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookCreated,
    responses=responses(404),
    summary="A new signing secret (the old one also signs for 24 hours)",
)
def rotate_secret(webhook_id: int, db: DB, principal: Admin) -> dict[str, Any]:
    return webhooks.rotate_secret(db, webhook_id, workspace_id=principal.workspace_id)


@router.post(
    "/{webhook_id}/enable",
    response_model=Webhook,
    responses=responses(404),
    summary="Enable an endpoint disabled after days of failures",
)
def enable_webhook(webhook_id: int, db: DB, principal: Admin) -> dict[str, Any]:
    return webhooks.enable_webhook(db, webhook_id, workspace_id=principal.workspace_id)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    responses=responses(404),
    summary="Deliveries, newest first, each with its attempts",
)
def list_deliveries(
    webhook_id: int,
    db: DB,
    principal: Admin,
    status: Literal["PENDING", "SUCCEEDED", "FAILED", "SKIPPED"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    after = decode_cursor(cursor, (int,))
    items = webhooks.list_deliveries(
        db,
        webhook_id,
        workspace_id=principal.workspace_id,
        limit=limit + 1,
        before_id=after[0] if after else None,
        status=status,
    )
    return page_of(items, limit, lambda row: [row["id"]])


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/replay",
    response_model=Delivery,
    responses=responses(404),
    summary="Send a delivery again (same webhook-id, fresh retry budget)",
)
def replay_delivery(webhook_id: int, delivery_id: int, db: DB, principal: Admin) -> dict[str, Any]:
    return webhooks.replay_delivery(
        db, webhook_id, delivery_id, workspace_id=principal.workspace_id
    )
