"""``/api/v1/replies``: the unified inbox (every mailbox and LinkedIn account, newest
first, with category and rule) and the operator's correction of a category."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter

from aicmo.operator_services.crm import replies as reply_service
from aicmo.web.api.deps import DB, Id, IdQuery, Operator, Viewer
from aicmo.web.api.leads import actor
from aicmo.web.api.pagination import Cursor, Limit, decode_cursor, page_of
from aicmo.web.api.problems import responses
from aicmo.web.api.reply_schemas import CategoryName, Reply, ReplyCategorized, ReplyCategoryIn
from aicmo.web.api.route import ServiceRoute, short_read
from aicmo.web.api.schemas import Page

router = APIRouter(
    prefix="/replies",
    tags=["replies"],
    responses=responses(401, 403, 422),
    route_class=ServiceRoute,
)


@router.get("", response_model=Page[Reply], summary="Replies newest first, with category")
@short_read
def list_replies(
    db: DB,
    principal: Viewer,
    category: CategoryName | None = None,
    campaign_id: IdQuery = None,
    channel: Literal["EMAIL", "LINKEDIN", "email", "linkedin"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    after = decode_cursor(cursor, (datetime, int))
    items = reply_service.list_replies(
        db,
        workspace_id=principal.workspace_id,
        category=category,
        campaign_id=campaign_id,
        channel=channel,
        after=(after[0], after[1]) if after else None,
        limit=limit + 1,
    )
    return page_of(items, limit, lambda row: [row["received_at"], row["id"]])


@router.put(
    "/{reply_id}/category",
    response_model=ReplyCategorized,
    summary="Correct a reply's category (the lead's stage and grade follow)",
    responses=responses(404),
)
def set_reply_category(
    reply_id: Id, body: ReplyCategoryIn, db: DB, principal: Operator
) -> dict[str, Any]:
    return reply_service.set_reply_category(
        db,
        reply_id,
        body.category,
        workspace_id=principal.workspace_id,
        user_id=principal.user_id,
        actor=actor(principal),
    )
