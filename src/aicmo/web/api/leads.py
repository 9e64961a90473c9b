"""``/api/v1/leads``: the mini-CRM over HTTP, the same service calls as ``aicmo lead(s)``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from aicmo.cam.domain.access import Principal
from aicmo.operator_services import leads as lead_service
from aicmo.operator_services.crm.privacy import forget_person
from aicmo.operator_services.outreach import get_outreach_history
from aicmo.web.api.deps import DB, Operator, Viewer, respond
from aicmo.web.api.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from aicmo.web.api.problems import responses
from aicmo.web.api.schemas import Attempt, Lead, LeadCreate, LeadFields, NoteIn, Page, TagsIn

router = APIRouter(prefix="/leads", tags=["leads"], responses=responses(401, 403, 422))


def actor(principal: Principal) -> str:
    """Who the audit trail names for a change made through the API."""
    if principal.user_id is not None:
        return f"user#{principal.user_id}"
    return f"api-key#{principal.key_id}"


def _fields(body: LeadFields) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True, exclude={"tags"})


@router.get("", response_model=Page[Lead], summary="List and filter leads, best score first")
def list_leads(
    db: DB,
    principal: Viewer,
    grade: Annotated[list[str] | None, Query(description="A, B, C or D; repeatable")] = None,
    stage: Annotated[list[str] | None, Query(description="Repeatable")] = None,
    tag: str | None = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    min_score: int | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> dict[str, Any]:
    after = decode_cursor(cursor, (int, int))
    items = lead_service.find_leads(
        db,
        workspace_id=principal.workspace_id,
        grade=grade,
        stage=stage,
        tag=tag,
        search=search,
        min_score=min_score,
        limit=limit + 1,
        after=(after[0], after[1]) if after else None,
    )
    more = len(items) > limit
    items = items[:limit]
    last = items[-1] if items else None
    next_cursor = encode_cursor([last["score"], last["id"]]) if more and last else None
    return {"items": items, "next_cursor": next_cursor}


@router.post(
    "",
    status_code=201,
    response_model=Lead,
    summary="Create a lead (graded at once)",
    responses=responses(409),
)
def create_lead(request: Request, body: LeadCreate, db: DB, principal: Operator) -> JSONResponse:
    payload = body.model_dump(mode="json", exclude_unset=True)
    return respond(
        request,
        db,
        principal,
        payload,
        lambda: lead_service.create_lead(
            db,
            workspace_id=principal.workspace_id,
            tags=body.tags,
            actor=actor(principal),
            **_fields(body),
        ),
        Lead,
        status_code=201,
    )


@router.get("/{lead_id}", response_model=Lead, responses=responses(404))
def get_lead(lead_id: int, db: DB, principal: Viewer) -> dict[str, Any]:
    return lead_service.get_lead(db, lead_id, workspace_id=principal.workspace_id)


@router.patch(
    "/{lead_id}",
    response_model=Lead,
    summary="Change fields (regraded; the change is on the audit trail)",
    responses=responses(404, 409),
)
def update_lead(lead_id: int, body: LeadFields, db: DB, principal: Operator) -> dict[str, Any]:
    return lead_service.update_lead(
        db, lead_id, workspace_id=principal.workspace_id, actor=actor(principal), **_fields(body)
    )


@router.post("/{lead_id}/tags", response_model=Lead, responses=responses(404))
def add_tags(lead_id: int, body: TagsIn, db: DB, principal: Operator) -> dict[str, Any]:
    return lead_service.add_tags(
        db, lead_id, body.tags, workspace_id=principal.workspace_id, actor=actor(principal)
    )


@router.delete("/{lead_id}/tags/{tag}", response_model=Lead, responses=responses(404))
def remove_tag(lead_id: int, tag: str, db: DB, principal: Operator) -> dict[str, Any]:
    return lead_service.remove_tags(
        db, lead_id, [tag], workspace_id=principal.workspace_id, actor=actor(principal)
    )


@router.post("/{lead_id}/notes", status_code=201, response_model=Lead, responses=responses(404))
def add_note(lead_id: int, body: NoteIn, db: DB, principal: Operator) -> dict[str, Any]:
    lead_service.add_note(
        db, lead_id, body.body, workspace_id=principal.workspace_id, author=actor(principal)
    )
    return lead_service.get_lead(db, lead_id, workspace_id=principal.workspace_id)


@router.get(
    "/{lead_id}/attempts",
    response_model=list[Attempt],
    summary="Every attempt to reach this lead, newest first (the audit trail)",
    responses=responses(404),
)
def lead_attempts(
    lead_id: int,
    db: DB,
    principal: Viewer,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 100,
) -> list[dict[str, Any]]:
    lead_service.get_lead(db, lead_id, workspace_id=principal.workspace_id)  # 404 if not ours
    return get_outreach_history(
        db, lead_id=lead_id, limit=limit, workspace_id=principal.workspace_id
    )


@router.delete(
    "/{lead_id}",
    status_code=204,
    summary="Erase the person (GDPR art. 17); they stay suppressed by salted hash",
    responses=responses(404),
)
def forget_lead(lead_id: int, db: DB, principal: Operator) -> Response:
    forget_person(db, lead_id, workspace_id=principal.workspace_id, actor=actor(principal))
    return Response(status_code=204)
