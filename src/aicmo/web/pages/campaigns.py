"""Dashboard: the campaigns: the list, the builder, and a campaign's own page.

The builder's form becomes the document ``POST /api/v1/campaigns`` and ``aicmo campaign
create FILE.yaml`` take (name, description, steps, audience, settings), and goes to the
same services: ``check_campaign`` (Validate: what ``create_campaign`` and then
``validate_campaign`` would say) and ``create_campaign`` (Create). Their messages are
shown as they are, each beside the field it names. Rows of steps are added and removed
by the form itself (a submit button), so it works without script; the live preview of a
step is an htmx POST rendering the step's template on a real lead with the engine's own
sandboxed renderer.

A campaign's page reads the rollups (funnel per step, channels, days) as charts and as
tables, its enrollments by state, and, for any enrollment, why its lead is or is not
being contacted (``engine.explain``: the engine's own checks, in sentences).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from aicmo.cam.domain.access import Role
from aicmo.cam.domain.channels import channel_names
from aicmo.errors import AicmoError
from aicmo.operator_services import campaign_lists
from aicmo.operator_services import campaigns as campaign_service
from aicmo.operator_services.analytics.performance import (
    find_campaign,
    get_channel_comparison,
    get_daily_rates,
    get_step_funnel,
)
from aicmo.operator_services.engine.explain import explain_enrollment
from aicmo.operator_services.leads import find_leads
from aicmo.operator_services.metrics import get_channel_metrics
from aicmo.operator_services.outreach import preview_message
from aicmo.operator_services.uow import utcnow
from aicmo.web.api.deps import DB, MAX_ID, Id
from aicmo.web.pages.base import SignedIn, Viewer, error_page, render, see_other

router = APIRouter()

#: Campaigns per page of the list; enrollments per page of a campaign's list.
CAMPAIGNS_PER_PAGE = 50
ENROLLMENTS_PER_PAGE = 25
#: Most step rows a builder form carries (the API takes 50 steps at most).
MAX_STEPS = 50
#: Leads offered for the preview.
PREVIEW_LEADS = 100
STATES = ("ACTIVE", "WAITING", "PAUSED", "COMPLETED", "STOPPED", "FAILED")
GRADES = ("A", "B", "C", "D")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CONDITIONS = (("no_reply", "Only if no reply yet"), ("always", "Always"))
_STEP_KEY = re.compile(r"^steps-(\d{1,3})-")


# ------------------------------------------------------------------------------- the list


@router.get("/campaigns", response_class=HTMLResponse)
def campaign_list(
    request: Request,
    viewer: SignedIn,
    db: DB,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> HTMLResponse:
    rows = campaign_lists.list_campaign_overview(
        db, workspace_id=viewer.workspace_id, after_id=after, limit=CAMPAIGNS_PER_PAGE + 1
    )
    next_url = None
    if len(rows) > CAMPAIGNS_PER_PAGE:
        rows = rows[:CAMPAIGNS_PER_PAGE]
        next_url = f"/campaigns?after={rows[-1]['id']}"
    return render(
        request,
        "campaigns.html",
        viewer,
        {
            "title": "Campaigns",
            "campaigns": rows,
            "next_url": next_url,
            "can_edit": viewer.may(Role.OPERATOR),
        },
    )


# ---------------------------------------------------------------------------- the builder


def _blank_step() -> dict[str, Any]:
    return {
        "channel": "EMAIL",
        "fallback": [],
        "delay_hours": "0",
        "delay_business_days": "0",
        "subject": "",
        "body": "",
        "condition": "no_reply",
        "ab": False,
        "b_subject": "",
        "b_body": "",
    }


def _blank_form() -> dict[str, Any]:
    return {
        "name": "",
        "description": "",
        "grade": [],
        "stage": "",
        "tag": "",
        "min_score": "",
        "lead_ids": "",
        "window_on": False,
        "timezone": "",
        "days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
        "jitter_seconds": "600",
        "steps": [_blank_step()],
        "preview_lead": "",
    }


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _texts(form: FormData, key: str) -> list[str]:
    return [v for v in form.getlist(key) if isinstance(v, str)]


def read_form(form: FormData) -> dict[str, Any]:
    """The builder's fields as they were typed (to show them again)."""
    indexes = sorted(
        {int(m.group(1)) for key in form if (m := _STEP_KEY.match(key))},
    )[:MAX_STEPS]
    steps = [
        {
            "channel": _text(form, f"steps-{i}-channel"),
            "fallback": _texts(form, f"steps-{i}-fallback"),
            "delay_hours": _text(form, f"steps-{i}-delay_hours"),
            "delay_business_days": _text(form, f"steps-{i}-delay_business_days"),
            "subject": _text(form, f"steps-{i}-subject"),
            "body": _text(form, f"steps-{i}-body"),
            "condition": _text(form, f"steps-{i}-condition") or "no_reply",
            "ab": _text(form, f"steps-{i}-ab") == "1",
            "b_subject": _text(form, f"steps-{i}-b_subject"),
            "b_body": _text(form, f"steps-{i}-b_body"),
        }
        for i in indexes
    ]
    return {
        "name": _text(form, "name"),
        "description": _text(form, "description"),
        "grade": _texts(form, "grade"),
        "stage": _text(form, "stage"),
        "tag": _text(form, "tag"),
        "min_score": _text(form, "min_score"),
        "lead_ids": _text(form, "lead_ids"),
        "window_on": _text(form, "window_on") == "1",
        "timezone": _text(form, "timezone"),
        "days": _texts(form, "days"),
        "start": _text(form, "start"),
        "end": _text(form, "end"),
        "jitter_seconds": _text(form, "jitter_seconds"),
        "steps": steps,
        "preview_lead": _text(form, "preview_lead"),
    }


def _number(text: str, kind: type[int] | type[float]) -> Any:
    """A number typed in a field; what does not parse goes on as typed, for the service
    to refuse with its own message."""
    text = text.strip()
    try:
        return kind(text)
    except ValueError:
        return text


def _words(text: str) -> list[str]:
    return [w.strip() for w in re.split(r"[,\n]", text) if w.strip()]


def step_document(step: dict[str, Any]) -> dict[str, Any]:
    """One step row as the API's step object."""
    doc: dict[str, Any] = {
        "channel": step["channel"],
        "template": {"body": step["body"]},
        "condition": step["condition"] or "no_reply",
    }
    if step["subject"].strip():
        doc["template"]["subject"] = step["subject"]
    fallback = [c for c in step["fallback"] if c and c != step["channel"]]
    if fallback:
        doc["fallback"] = fallback
    if step["delay_hours"].strip():
        doc["delay_hours"] = _number(step["delay_hours"], float)
    if step["delay_business_days"].strip():
        doc["delay_business_days"] = _number(step["delay_business_days"], int)
    if step.get("ab"):
        # An A/B test of the step's text: A is the step as written (the control), B
        # overrides what is filled in; half the leads each (docs/ab-testing.md).
        b: dict[str, Any] = {"name": "B"}
        if step["b_subject"].strip():
            b["subject"] = step["b_subject"]
        if step["b_body"].strip():
            b["body"] = step["b_body"]
        doc["variants"] = [{"name": "A"}, b]
    return doc


def campaign_document(data: dict[str, Any]) -> dict[str, Any]:
    """The builder's fields as the document ``POST /api/v1/campaigns`` takes."""
    audience: dict[str, Any] = {}
    if data["grade"]:
        audience["grade"] = data["grade"]
    if _words(data["stage"]):
        audience["stage"] = _words(data["stage"])
    if _words(data["tag"]):
        audience["tag"] = _words(data["tag"])
    if data["min_score"].strip():
        audience["min_score"] = _number(data["min_score"], int)
    if _words(data["lead_ids"]):
        audience["lead_ids"] = [_number(w, int) for w in _words(data["lead_ids"])]
    document: dict[str, Any] = {
        "name": data["name"],
        "steps": [step_document(s) for s in data["steps"]],
        "audience": audience,
    }
    if data["description"].strip():
        document["description"] = data["description"]
    if data["window_on"]:
        window: dict[str, Any] = {
            "days": data["days"],
            "start": data["start"].strip() or "09:00",
            "end": data["end"].strip() or "17:00",
        }
        if data["timezone"].strip():
            window["timezone"] = data["timezone"].strip()
        if data["jitter_seconds"].strip():
            window["jitter_seconds"] = _number(data["jitter_seconds"], int)
        document["settings"] = {"window": window}
    return document


def field_key(field: str | None) -> str:
    """The builder input a service's field name points at (``steps[1].template.body`` →
    ``steps-1-body``); ``form`` when it names none of them."""
    if not field:
        return "form"
    step = re.match(r"^steps\[(\d+)\](?:\.(.*))?$", field)
    if step:
        index, rest = step.group(1), step.group(2) or ""
        for name in ("subject", "body"):
            if rest == f"template.{name}" or rest.startswith(f"template.{name}"):
                return f"steps-{index}-{name}"
        head = rest.split(".")[0].split("[")[0]
        if head in ("channel", "fallback", "delay_hours", "delay_business_days", "condition"):
            return f"steps-{index}-{head}"
        if head == "variants":
            return f"steps-{index}-ab"
        return f"steps-{index}"
    if field.startswith("audience"):
        return field.replace(".", "-")
    if field in ("window", "days", "start", "end") or field.startswith("settings"):
        return "window"
    if field in ("name", "description", "steps"):
        return field
    return "form"


def _preview_leads(db: Any, viewer: Viewer) -> list[dict[str, Any]]:
    return find_leads(db, workspace_id=viewer.workspace_id, limit=PREVIEW_LEADS)


def _builder(
    request: Request,
    viewer: Viewer,
    db: Any,
    data: dict[str, Any],
    *,
    errors: dict[str, list[str]] | None = None,
    report: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    leads = _preview_leads(db, viewer)
    if not data["preview_lead"] and leads:
        data["preview_lead"] = str(leads[0]["id"])
    return render(
        request,
        "campaign_builder.html",
        viewer,
        {
            "title": "New campaign",
            "form": data,
            "errors": errors or {},
            "report": report,
            "leads": leads,
            "channels": [str(c) for c in channel_names()],
            "grades": GRADES,
            "days": DAYS,
            "conditions": CONDITIONS,
            "max_steps": MAX_STEPS,
        },
        status_code=status_code,
    )


@router.get("/campaigns/new", response_class=HTMLResponse)
def builder_page(request: Request, viewer: SignedIn, db: DB) -> HTMLResponse:
    viewer.require(Role.OPERATOR)
    return _builder(request, viewer, db, _blank_form())


@router.post("/campaigns/new", response_class=HTMLResponse, response_model=None)
async def builder_submit(request: Request, viewer: SignedIn, db: DB) -> Response:
    """Add or remove a step row, validate, or create: what the button pressed says."""
    viewer.require(Role.OPERATOR)
    form = await request.form()
    # The services wait on the database: in a worker thread, not on the event loop.
    return await run_in_threadpool(_builder_submit, request, viewer, db, form)


def _builder_submit(request: Request, viewer: Viewer, db: Session, form: FormData) -> Response:
    data = read_form(form)
    action = _text(form, "action")
    if action == "add_step":
        if len(data["steps"]) < MAX_STEPS:
            data["steps"].append(_blank_step())
        return _builder(request, viewer, db, data)
    if action.startswith("remove_step:"):
        index = _number(action.partition(":")[2], int)
        if isinstance(index, int) and 0 <= index < len(data["steps"]) and len(data["steps"]) > 1:
            del data["steps"][index]
        return _builder(request, viewer, db, data)
    document = campaign_document(data)
    try:
        if action == "create":
            created = campaign_service.create_campaign(
                db, workspace_id=viewer.workspace_id, **document
            )
            return see_other(
                f"/campaigns/{created['id']}",
                f"Campaign {created['name']} created as a draft: check it, then start it.",
            )
        report = campaign_service.check_campaign(db, workspace_id=viewer.workspace_id, **document)
    except AicmoError as err:
        db.rollback()
        refused = {field_key(getattr(err, "field", None)): [err.message]}
        return _builder(request, viewer, db, data, errors=refused, status_code=422)
    errors: dict[str, list[str]] = {}
    for problem in report["errors"]:
        errors.setdefault(field_key(problem["field"]), []).append(problem["message"])
    status = 200 if report["ok"] else 422
    return _builder(request, viewer, db, data, errors=errors, report=report, status_code=status)


@router.post("/campaigns/preview", response_class=HTMLResponse)
async def step_preview(request: Request, viewer: SignedIn, db: DB) -> HTMLResponse:
    """One step's template rendered on the chosen lead (an htmx fragment: always 200,
    a template this lead cannot fill is said in it)."""
    form = await request.form()
    return await run_in_threadpool(_step_preview, request, viewer, db, form)


def _step_preview(request: Request, viewer: Viewer, db: Session, form: FormData) -> HTMLResponse:
    data = read_form(form)
    index = _number(_text(form, "preview_step"), int)
    context: dict[str, Any] = {"index": index}
    step = (
        data["steps"][index] if isinstance(index, int) and 0 <= index < len(data["steps"]) else None
    )
    lead_id = _number(data["preview_lead"], int)
    if step is None:
        context["error"] = "This step is no longer in the form."
    elif not isinstance(lead_id, int):
        context["error"] = "There is no lead to preview on yet: import or add a lead first."
    elif not step["body"].strip():
        context["error"] = "Write the body to see it rendered on a lead."
    else:
        try:
            context["preview"] = preview_message(
                db,
                lead_id,
                step["body"],
                step["subject"] if step["subject"].strip() else None,
                channel=step["channel"],
                workspace_id=viewer.workspace_id,
            )
        except AicmoError as err:
            context["error"] = err.message
    return render(request, "campaign_preview.html", viewer, context)


# ----------------------------------------------------------------------- a campaign's page


def _figures(db: Any, viewer: Viewer, campaign_id: int, days: int) -> dict[str, Any]:
    """The funnel, channels and days as tables and as the charts' specs."""
    until = utcnow().date()
    since = until - timedelta(days=days - 1)
    ws = viewer.workspace_id
    funnel = get_step_funnel(db, campaign_id, since, until, workspace_id=ws)["steps"]
    channels = get_channel_metrics(db, campaign_id, days, workspace_id=ws)
    used = get_channel_comparison(db, campaign_id, since, until, workspace_id=ws)["channels"]
    daily = get_daily_rates(db, campaign_id, since, until, workspace_id=ws)["days"]
    labels = [f"Step {s['step'] + 1}" if s["step"] is not None else "Other" for s in funnel]
    funnel_chart = {
        "type": "bar",
        "labels": labels,
        "datasets": [
            {"label": "Sent", "data": [s["sent"] for s in funnel]},
            {"label": "Delivered", "data": [s["delivered"] for s in funnel]},
            {"label": "Replied", "data": [s["replied"] for s in funnel]},
        ],
    }
    channel_chart = {
        "type": "bar",
        "labels": list(channels),
        "datasets": [
            {"label": "Sent", "data": [c["sent"] for c in channels.values()]},
            {"label": "Replied", "data": [c["replied"] for c in channels.values()]},
            {"label": "Bounced", "data": [c["bounced"] for c in channels.values()]},
        ],
    }
    daily_chart = {
        "type": "line",
        "labels": [d["day"].isoformat() for d in daily],
        "datasets": [
            {"label": "Sent", "data": [d["sent"] for d in daily]},
            {"label": "Delivered", "data": [d["delivered"] for d in daily]},
            {"label": "Replied", "data": [d["replied"] for d in daily]},
        ],
    }
    return {
        "funnel": funnel,
        "channels": channels,
        "channels_used": used,
        "daily": daily,
        "funnel_chart": funnel_chart,
        "channel_chart": channel_chart,
        "daily_chart": daily_chart,
        "has_data": any(s["sent"] or s["attempted"] for s in funnel),
    }


def _campaign_page(
    request: Request,
    viewer: Viewer,
    db: Any,
    campaign_id: int,
    *,
    state: str | None = None,
    after: int | None = None,
    days: int = 30,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    ws = viewer.workspace_id
    status = campaign_service.campaign_status(db, campaign_id, workspace_id=ws)
    check = (
        campaign_service.validate_campaign(db, campaign_id, workspace_id=ws, max_lead_problems=20)
        if status["status"] == "DRAFT"
        else None
    )
    steps = find_campaign(db, campaign_id, workspace_id=ws)["steps"]
    enrollments = campaign_lists.list_enrollments_with_leads(
        db,
        campaign_id,
        workspace_id=ws,
        state=state,
        after_id=after,
        limit=ENROLLMENTS_PER_PAGE + 1,
    )
    next_url = None
    if len(enrollments) > ENROLLMENTS_PER_PAGE:
        enrollments = enrollments[:ENROLLMENTS_PER_PAGE]
        query = {
            "after": enrollments[-1]["id"],
            "days": days,
            **({"state": state} if state else {}),
        }
        next_url = f"/campaigns/{campaign_id}?{urlencode(query)}#enrollments"
    return render(
        request,
        "campaign.html",
        viewer,
        {
            "title": status["name"],
            "c": status,
            "check": check,
            "steps": steps,
            "states": STATES,
            "state": state,
            "enrollments": enrollments,
            "next_url": next_url,
            "days": days,
            "error": error,
            "can_edit": viewer.may(Role.OPERATOR),
            **_figures(db, viewer, campaign_id, days),
        },
        status_code=status_code,
    )


@router.get("/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request,
    viewer: SignedIn,
    db: DB,
    campaign_id: Id,
    state: Annotated[str | None, Query(max_length=20)] = None,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> HTMLResponse:
    try:
        return _campaign_page(
            request, viewer, db, campaign_id, state=state or None, after=after, days=days
        )
    except AicmoError as err:
        return error_page(request, viewer, err)


def _change(request: Request, viewer: Viewer, db: Any, campaign_id: int, action: str) -> Response:
    viewer.require(Role.OPERATOR)
    ws = viewer.workspace_id
    try:
        if action == "start":
            started = campaign_service.start_campaign(db, campaign_id, workspace_id=ws)
            flash = f"Campaign started: {started['enrolled']} lead(s) enrolled."
        else:
            wanted = "PAUSED" if action == "pause" else "ACTIVE"
            campaign_service.set_campaign_status(db, campaign_id, wanted, workspace_id=ws)
            flash = "Campaign paused." if wanted == "PAUSED" else "Campaign resumed."
    except AicmoError as err:
        db.rollback()
        return _campaign_page(request, viewer, db, campaign_id, error=err.message, status_code=422)
    return see_other(f"/campaigns/{campaign_id}", flash)


@router.post("/campaigns/{campaign_id}/start", response_model=None)
def start(request: Request, viewer: SignedIn, db: DB, campaign_id: Id) -> Response:
    return _change(request, viewer, db, campaign_id, "start")


@router.post("/campaigns/{campaign_id}/pause", response_model=None)
def pause(request: Request, viewer: SignedIn, db: DB, campaign_id: Id) -> Response:
    return _change(request, viewer, db, campaign_id, "pause")


@router.post("/campaigns/{campaign_id}/resume", response_model=None)
def resume(request: Request, viewer: SignedIn, db: DB, campaign_id: Id) -> Response:
    return _change(request, viewer, db, campaign_id, "resume")


@router.get("/campaigns/{campaign_id}/enrollments/{enrollment_id}", response_class=HTMLResponse)
def why(
    request: Request, viewer: SignedIn, db: DB, campaign_id: Id, enrollment_id: Id
) -> HTMLResponse:
    """Why this enrollment's lead is or is not being contacted: a fragment for htmx, a
    page of its own otherwise."""
    fragment = bool(request.headers.get("hx-request"))
    try:
        campaign = campaign_service.get_campaign(db, campaign_id, workspace_id=viewer.workspace_id)
        answer = explain_enrollment(db, enrollment_id, workspace_id=viewer.workspace_id)
        if answer["campaign_id"] != campaign_id:
            answer = {"reasons": [f"Enrollment #{enrollment_id} is not in this campaign."]}
    except AicmoError as err:
        if not fragment:
            return error_page(request, viewer, err)
        answer = {"reasons": [err.message]}
        campaign = {"id": campaign_id, "name": ""}
    return render(
        request,
        "campaign_why.html",
        viewer,
        {
            "title": f"Enrollment #{enrollment_id}",
            "fragment": fragment,
            "answer": answer,
            "campaign": campaign,
            "enrollment_id": enrollment_id,
        },
    )
