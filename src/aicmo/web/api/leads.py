"""``/api/v1/leads``: the mini-CRM over HTTP, the same service calls as ``aicmo lead(s)``."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Request, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from aicmo.cam.domain.access import Principal
from aicmo.errors import PayloadTooLargeError
from aicmo.operator_services import leads as lead_service
from aicmo.operator_services.crm.importing import import_leads_csv
from aicmo.operator_services.crm.privacy import export_person, forget_person
from aicmo.operator_services.outreach import get_outreach_history
from aicmo.web.api.deps import DB, Id, Operator, Viewer, respond
from aicmo.web.api.pagination import Cursor, Limit, decode_cursor, page_of
from aicmo.web.api.problems import responses
from aicmo.web.api.route import ServiceRoute, short_read
from aicmo.web.api.schemas import (
    Attempt,
    Event,
    ImportResult,
    Lead,
    LeadCreate,
    LeadFields,
    NoteIn,
    Page,
    TagsIn,
)
from aicmo.web.api.trail import TrailQuery, audit_trail

router = APIRouter(
    prefix="/leads", tags=["leads"], responses=responses(401, 403, 422), route_class=ServiceRoute
)


def actor(principal: Principal) -> str:
    """Who the audit trail names for a change made through the API."""
    if principal.user_id is not None:
        return f"user#{principal.user_id}"
    return f"api-key#{principal.key_id}"


def _fields(body: LeadFields) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True, exclude={"tags"})


@router.get("", response_model=Page[Lead], summary="List and filter leads, best score first")
@short_read
def list_leads(
    db: DB,
    principal: Viewer,
    grade: Annotated[list[str] | None, Query(description="A, B, C or D; repeatable")] = None,
    stage: Annotated[list[str] | None, Query(description="Repeatable")] = None,
    tag: str | None = None,
    search: Annotated[
        str | None,
        Query(
            max_length=200,
            description=(
                "Leads whose email, first name, last name or company starts with this, "
                "ignoring case (all letters on PostgreSQL, ASCII letters on SQLite); "
                "two or more words also match first name + start of last name "
                '("jane do" finds Jane Doe). Not a substring match: "smith" finds '
                'John Smith, "mith" does not. % and _ are plain characters.'
            ),
        ),
    ] = None,
    min_score: Annotated[int | None, Query(ge=-1000, le=1000)] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
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
    return page_of(items, limit, lambda row: [row["score"], row["id"]])


#: An upload larger than this is refused while it streams in (a CRM export of a
#: million rows is well under it).
MAX_IMPORT_BYTES = 200 * 1024 * 1024


@router.post(
    "/import",
    response_model=ImportResult,
    summary="Import a CSV file: the same rules and row report as `aicmo leads import`",
    responses=responses(413),
)
async def import_leads(
    db: DB,
    principal: Operator,
    file: Annotated[UploadFile, File(description="CSV (UTF-8/UTF-16/cp1252; , ; tab |)")],
    map: Annotated[
        list[str] | None, Query(description='"Source Column=field" or "Column=-"; repeatable')
    ] = None,
    tag: Annotated[list[str] | None, Query(description="Tags for every imported lead")] = None,
    source: Annotated[str | None, Query(max_length=100)] = None,
    encoding: Annotated[str | None, Query(max_length=40)] = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="aicmo-import-") as tmp:
        path = Path(tmp) / "upload.csv"
        size = 0
        with path.open("wb") as out:
            while chunk := await file.read(1 << 20):
                size += len(chunk)
                if size > MAX_IMPORT_BYTES:
                    raise PayloadTooLargeError(
                        f"the file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB; "
                        "split it, or import it with `aicmo leads import`"
                    )
                out.write(chunk)
        report = await run_in_threadpool(
            import_leads_csv,
            db,
            path,
            column_map=map or (),
            encoding=encoding,
            source=source,
            tags=tag or (),
            workspace_id=principal.workspace_id,
            actor=actor(principal),
        )
    return {
        **report.as_dict(),
        "filename": file.filename or "upload.csv",
        "mapping": report.mapping,
        "rejected_rows": [{"line": p.line, "message": p.message} for p in report.rejected],
        "warning_rows": [{"line": p.line, "message": p.message} for p in report.warnings],
    }


@router.get(
    "/export.csv",
    response_class=StreamingResponse,
    summary="Leads as CSV (re-importable; formula-like cells guarded)",
    responses={200: {"content": {"text/csv": {}}}},
)
def export_leads(
    db: DB,
    principal: Viewer,
    grade: Annotated[list[str] | None, Query()] = None,
    stage: Annotated[list[str] | None, Query()] = None,
    tag: str | None = None,
) -> StreamingResponse:
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, mode="w+", newline="")  # noqa: SIM115
    lead_service.export_leads_csv(
        db, spool, workspace_id=principal.workspace_id, grade=grade, stage=stage, tag=tag
    )
    spool.seek(0)

    def chunks() -> Iterator[bytes]:
        with spool:
            while block := spool.read(1 << 16):
                yield block.encode("utf-8")

    return StreamingResponse(
        chunks(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="leads.csv"'},
    )


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
@short_read
def get_lead(lead_id: Id, db: DB, principal: Viewer) -> dict[str, Any]:
    return lead_service.get_lead(db, lead_id, workspace_id=principal.workspace_id)


@router.patch(
    "/{lead_id}",
    response_model=Lead,
    summary="Change fields (regraded; the change is on the audit trail)",
    responses=responses(404, 409),
)
def update_lead(lead_id: Id, body: LeadFields, db: DB, principal: Operator) -> dict[str, Any]:
    return lead_service.update_lead(
        db, lead_id, workspace_id=principal.workspace_id, actor=actor(principal), **_fields(body)
    )


@router.post("/{lead_id}/tags", response_model=Lead, responses=responses(404))
def add_tags(lead_id: Id, body: TagsIn, db: DB, principal: Operator) -> dict[str, Any]:
    return lead_service.add_tags(
        db, lead_id, body.tags, workspace_id=principal.workspace_id, actor=actor(principal)
    )


@router.delete("/{lead_id}/tags/{tag}", response_model=Lead, responses=responses(404))
def remove_tag(lead_id: Id, tag: str, db: DB, principal: Operator) -> dict[str, Any]:
    return lead_service.remove_tags(
        db, lead_id, [tag], workspace_id=principal.workspace_id, actor=actor(principal)
    )


@router.post("/{lead_id}/notes", status_code=201, response_model=Lead, responses=responses(404))
def add_note(lead_id: Id, body: NoteIn, db: DB, principal: Operator) -> dict[str, Any]:
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
@short_read
def lead_attempts(
    lead_id: Id,
    db: DB,
    principal: Viewer,
    limit: Limit = 100,
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
def forget_lead(lead_id: Id, db: DB, principal: Operator) -> Response:
    forget_person(db, lead_id, workspace_id=principal.workspace_id, actor=actor(principal))
    return Response(status_code=204)


@router.get(
    "/{lead_id}/events",
    response_model=list[Event],
    summary="The lead's audit trail, newest first",
    responses=responses(404),
)
@short_read
def lead_events(lead_id: Id, db: DB, principal: Viewer, page: TrailQuery) -> list[dict[str, Any]]:
    return audit_trail(db, principal, page, lead_id=lead_id)


@router.get(
    "/{lead_id}/export",
    summary="Everything held about the person, as JSON (GDPR art. 15 / 20)",
    responses=responses(404),
)
def export_lead(lead_id: Id, db: DB, principal: Viewer) -> dict[str, Any]:
    return export_person(db, lead_id, workspace_id=principal.workspace_id)
