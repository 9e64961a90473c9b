"""Dashboard: the leads list (filters, search, cursor pages) and one lead's page (its
timeline, grade, notes, stage, tags, GDPR export and erasure).

The same service calls as ``GET /api/v1/leads`` and the lead routes of the API and
``aicmo lead …``: the list is ``find_leads`` with the API's (score, id) cursor, the
export ``export_person``, the erasure ``forget_person``. Changes need the operator role;
a viewer sees the page without its forms.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from aicmo.cam.domain.access import Role
from aicmo.cam.domain.messages import LeadStage
from aicmo.errors import AicmoError
from aicmo.operator_services import campaigns as campaign_service
from aicmo.operator_services import leads as lead_service
from aicmo.operator_services.crm.privacy import export_person, forget_person
from aicmo.operator_services.crm.timeline import lead_timeline
from aicmo.web.api.deps import DB, MAX_ID, Id
from aicmo.web.api.leads import actor
from aicmo.web.api.pagination import decode_cursor, page_of
from aicmo.web.pages.base import SignedIn, Viewer, change, render, see_other, whole_number

router = APIRouter()

#: Leads on one page of the list.
PAGE_SIZE = 50
GRADES = ("A", "B", "C", "D")
STAGES = tuple(s.value for s in LeadStage)
#: Campaigns offered in the list's filter (the newest are at the end of the first page).
CAMPAIGN_CHOICES = 500


@router.get("/leads", response_class=HTMLResponse)
def leads_page(
    request: Request,
    viewer: SignedIn,
    db: DB,
    q: str = "",
    grade: str = "",
    stage: str = "",
    tag: str = "",
    min_score: str = "",
    campaign: str = "",
    cursor: str = "",
) -> HTMLResponse:
    filters = {
        "q": q[:200],
        "grade": grade,
        "stage": stage,
        "tag": tag[:100],
        "min_score": min_score[:12],
        "campaign": campaign[:12],
    }
    campaigns = campaign_service.list_campaigns(
        db, workspace_id=viewer.workspace_id, limit=CAMPAIGN_CHOICES
    )
    leads: list[dict[str, Any]] = []
    activity: dict[int, Any] = {}
    next_url = None
    error = None
    kept = {k: v for k, v in filters.items() if v}
    first_url = ("/leads?" + urlencode(kept) if kept else "/leads") if cursor else None
    try:
        after = decode_cursor(cursor or None, (int, int))
        found = lead_service.find_leads(
            db,
            workspace_id=viewer.workspace_id,
            grade=[grade] if grade else None,
            stage=[stage] if stage else None,
            tag=tag.strip() or None,
            search=q.strip() or None,
            min_score=whole_number("the minimum score", min_score, low=-1000, high=1000),
            campaign_id=whole_number("the campaign", campaign, low=1, high=MAX_ID),
            limit=PAGE_SIZE + 1,
            after=(after[0], after[1]) if after else None,
        )
        page = page_of(found, PAGE_SIZE, lambda row: [row["score"], row["id"]])
        leads = page["items"]
        activity = lead_service.last_activity(
            db, [lead["id"] for lead in leads], workspace_id=viewer.workspace_id
        )
        if page["next_cursor"]:
            next_url = "/leads?" + urlencode({**kept, "cursor": page["next_cursor"]})
    except AicmoError as exc:
        error = exc.message
    return render(
        request,
        "leads.html",
        viewer,
        {
            "title": "Leads",
            "leads": leads,
            "activity": activity,
            "filters": filters,
            "filtered": any(filters.values()),
            "paged": bool(cursor),
            "first_url": first_url,
            "campaigns": campaigns,
            "grades": GRADES,
            "stages": STAGES,
            "next_url": next_url,
            "error": error,
        },
        status_code=422 if error else 200,
    )


def lead_page(
    request: Request,
    viewer: Viewer,
    db: DB,
    lead_id: int,
    *,
    error: str | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    """The lead's page; with ``error``, re-rendered after a change that was refused (what
    the person typed is kept in ``form``)."""
    db.rollback()  # after a refused change: read what is stored now
    lead = lead_service.get_lead(db, lead_id, workspace_id=viewer.workspace_id)
    timeline = lead_timeline(db, lead_id, workspace_id=viewer.workspace_id)
    name = " ".join(p for p in (lead["first_name"], lead["last_name"]) if p)
    return render(
        request,
        "lead.html",
        viewer,
        {
            "title": name or lead["email"] or f"Lead #{lead_id}",
            "name": name,
            "lead": lead,
            "timeline": timeline,
            "stages": STAGES,
            "can_change": viewer.may(Role.OPERATOR),
            "confirm_with": _confirm_value(lead),
            "error": error,
            "form": form or {},
        },
        status_code=422 if error else 200,
    )


def _confirm_value(lead: dict[str, Any]) -> str:
    """What a person types to confirm erasing this lead: the email, else the LinkedIn
    URL (a lead has one or the other)."""
    return str(lead.get("email") or lead.get("linkedin_url") or lead["id"])


@router.get("/leads/{lead_id}", response_class=HTMLResponse)
def show_lead(request: Request, viewer: SignedIn, db: DB, lead_id: Id) -> HTMLResponse:
    return lead_page(request, viewer, db, lead_id)


def _lead_change(
    request: Request,
    viewer: Viewer,
    db: Session,
    lead_id: int,
    run: Callable[[str], Any],
    said: Callable[[Any], str],
    form: dict[str, str] | None = None,
) -> Response:
    """A change on the lead's page: back to the page with ``said`` on success, the page
    with the service's message (and what was typed) on a refusal."""
    return change(
        viewer,
        Role.OPERATOR,
        lambda: run(actor(viewer.principal)),
        done=lambda result: see_other(f"/leads/{lead_id}", said(result)),
        failed=lambda exc: lead_page(request, viewer, db, lead_id, error=exc.message, form=form),
    )


@router.post("/leads/{lead_id}/notes", response_model=None)
def add_note(
    request: Request,
    viewer: SignedIn,
    db: DB,
    lead_id: Id,
    body: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    ws = viewer.workspace_id
    return _lead_change(
        request,
        viewer,
        db,
        lead_id,
        lambda who: lead_service.add_note(db, lead_id, body, workspace_id=ws, author=who),
        lambda _: "Note added.",
        {"note": body},
    )


@router.post("/leads/{lead_id}/stage", response_model=None)
def set_stage(
    request: Request,
    viewer: SignedIn,
    db: DB,
    lead_id: Id,
    stage: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    ws = viewer.workspace_id
    return _lead_change(
        request,
        viewer,
        db,
        lead_id,
        lambda who: lead_service.set_stage(db, lead_id, stage, workspace_id=ws, actor=who),
        lambda lead: f"Stage set to {lead['stage']}.",
    )


@router.post("/leads/{lead_id}/tags", response_model=None)
def add_tags(
    request: Request,
    viewer: SignedIn,
    db: DB,
    lead_id: Id,
    tags: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    ws = viewer.workspace_id
    return _lead_change(
        request,
        viewer,
        db,
        lead_id,
        lambda who: lead_service.add_tags(db, lead_id, [tags], workspace_id=ws, actor=who),
        lambda _: "Tags added.",
        {"tags": tags},
    )


@router.post("/leads/{lead_id}/tags/remove", response_model=None)
def remove_tag(
    request: Request,
    viewer: SignedIn,
    db: DB,
    lead_id: Id,
    tag: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    ws = viewer.workspace_id
    return _lead_change(
        request,
        viewer,
        db,
        lead_id,
        lambda who: lead_service.remove_tags(db, lead_id, [tag], workspace_id=ws, actor=who),
        lambda _: f"Tag {tag} removed.",
    )


@router.get("/leads/{lead_id}/export.json")
def export_lead(viewer: SignedIn, db: DB, lead_id: Id) -> Response:
    """Everything held about the person as a JSON file (GDPR art. 15 / 20)."""
    data = export_person(db, lead_id, workspace_id=viewer.workspace_id)
    return Response(
        json.dumps(data, indent=2, ensure_ascii=False) + "\n",
        media_type="application/json; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="lead-{lead_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/leads/{lead_id}/forget", response_model=None)
def forget_lead(
    request: Request,
    viewer: SignedIn,
    db: DB,
    lead_id: Id,
    confirm: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Erase the person (GDPR art. 17) once the person at the keyboard has typed the
    lead's email: a click alone never erases anyone."""
    viewer.require(Role.OPERATOR)
    lead = lead_service.get_lead(db, lead_id, workspace_id=viewer.workspace_id)
    expected = _confirm_value(lead)
    if confirm.strip().lower() != expected.strip().lower():
        return lead_page(
            request,
            viewer,
            db,
            lead_id,
            error=(
                f"Nothing was erased: type the lead's {_confirm_label(lead)} exactly "
                f"({expected}) to confirm."
            ),
        )
    try:
        result = forget_person(
            db, lead_id, workspace_id=viewer.workspace_id, actor=actor(viewer.principal)
        )
    except AicmoError as exc:
        return lead_page(request, viewer, db, lead_id, error=exc.message)
    flash = (
        f"Lead #{lead_id} erased: {result['messages_blanked']} message(s) and "
        f"{result['events_blanked']} event(s) blanked; they stay suppressed by a salted hash."
    )
    if result.get("outbox_files_left"):
        flash += f" {len(result['outbox_files_left'])} outbox file(s) could not be deleted."
    return see_other("/leads", flash)


def _confirm_label(lead: dict[str, Any]) -> str:
    return "email" if lead.get("email") else "LinkedIn URL"
