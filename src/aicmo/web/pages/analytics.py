"""Dashboard: a campaign's analytics (A/B verdicts, attribution and ROI per channel) and
its report as HTML, PDF or CSV.

The page picks a campaign, an attribution model and a period with a plain GET form (a
link to the page keeps what was chosen). The numbers are those of ``aicmo campaign ab``,
``aicmo attribution`` and ``aicmo report``: the same services. The report downloads use
the signed-in session (the REST route wants an API key or the API's session) and are
served as attachments with the strict policy of the machine routes (inline styles for
the report's own page, no script at all), never as a dashboard page.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from aicmo.cam.domain.abstats import METRICS
from aicmo.cam.domain.attribution import AttributionModel
from aicmo.errors import AicmoError, ValidationError
from aicmo.operator_services.analytics.campaign_view import (
    campaign_choices,
    get_campaign_analytics,
)
from aicmo.operator_services.analytics.performance import report_period
from aicmo.operator_services.analytics.render import FORMATS
from aicmo.operator_services.uow import utcnow
from aicmo.web.api.deps import DB, Id
from aicmo.web.api.problems import status_of
from aicmo.web.api.reports import report_response
from aicmo.web.headers import HEADERS
from aicmo.web.pages.base import SignedIn, render, templates

router = APIRouter()

#: The models a person picks from, with their names on the page.
MODELS: tuple[tuple[str, str], ...] = (
    (AttributionModel.LINEAR.value, "Linear (equal shares)"),
    (AttributionModel.FIRST_TOUCH.value, "First touch"),
    (AttributionModel.LAST_TOUCH.value, "Last touch"),
    (AttributionModel.POSITION_BASED.value, "Position-based (40/20/40)"),
)
#: What a download carries: the machine routes' policy (the report's HTML has inline
#: styles and SVG, and no script; nothing may load from elsewhere).
DOWNLOAD_CSP = dict(HEADERS)[b"content-security-policy"].decode()
_TESTS = {"fisher": "Fisher's exact test", "z": "two-proportion z-test"}


def _credit(value: Decimal | float | int | None) -> str:
    """A credited count as a person reads it: ``0.6667``, ``1``, ``0``."""
    if value is None:
        return "–"
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


templates.env.filters["credit"] = _credit


def _day(value: str | None, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValidationError(
            f"{value!r} is not a date: use the form YYYY-MM-DD, e.g. 2026-11-30", field=field
        ) from None


def _attribution_chart(by_channel: list[dict[str, Any]], model: str) -> dict[str, Any]:
    return {
        "type": "bar",
        "labels": [c["channel"] for c in by_channel],
        "datasets": [
            {"label": "Replies", "data": [float(c["replies"]) for c in by_channel]},
            {
                "label": "Positive replies",
                "data": [float(c["positive_replies"]) for c in by_channel],
            },
            {"label": "Meetings", "data": [float(c["meetings"]) for c in by_channel]},
            {"label": "Won deals", "data": [float(c["won_deals"]) for c in by_channel]},
        ],
        "options": {"scales": {"y": {"beginAtZero": True}}},
    }


def _variant_chart(step: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "bar",
        "labels": [v["name"] for v in step["variants"]],
        "datasets": [
            {"label": "Rate (%)", "data": [round(100 * v["rate"], 2) for v in step["variants"]]}
        ],
        "options": {"scales": {"y": {"beginAtZero": True}}},
    }


@router.get("/analytics", response_class=HTMLResponse)
def analytics(
    request: Request,
    viewer: SignedIn,
    db: DB,
    campaign: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    model: Annotated[str, Query(max_length=40)] = AttributionModel.LINEAR.value,
    metric: Annotated[str, Query(max_length=40)] = "",
    since: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> HTMLResponse:
    choices = campaign_choices(db, viewer.workspace_id)
    chosen = campaign if campaign is not None else (choices[0]["id"] if choices else None)
    context: dict[str, Any] = {
        "title": "Analytics",
        "choices": choices,
        "chosen": chosen,
        "models": MODELS,
        "metrics": METRICS,
        "form": {"model": model, "metric": metric, "from": since or "", "to": until or ""},
        "data": None,
        "error": None,
        "formats": FORMATS,
        "tests": _TESTS,
    }
    status = 200
    if chosen is not None:
        try:
            start, end = report_period(
                _day(since, "from"), _day(until, "to"), today=utcnow().date()
            )
            data = get_campaign_analytics(
                db,
                viewer.workspace_id,
                chosen,
                since=start,
                until=end,
                model=model,
                metric=metric or None,
            )
        except AicmoError as exc:
            status = status_of(exc)[0]
            context["error"] = exc.message
        else:
            context["data"] = data
            context["form"].update({"from": start.isoformat(), "to": end.isoformat()})
            context["attribution_chart"] = _attribution_chart(data["by_channel"], data["model"])
            context["variant_charts"] = {s["step"]: _variant_chart(s) for s in data["ab"]["steps"]}
            context["download"] = (
                f"/analytics/campaigns/{chosen}/report?model={data['model']}"
                f"&from={start.isoformat()}&to={end.isoformat()}"
            )
    db.rollback()  # a read: give the connection back before the page renders
    return render(request, "analytics.html", viewer, context, status_code=status)


@router.get("/analytics/campaigns/{campaign_id}/report", response_class=Response)
def report_download(
    campaign_id: Id,
    viewer: SignedIn,
    db: DB,
    fmt: Annotated[Literal["html", "pdf", "csv"], Query(alias="format")] = "pdf",
    model: AttributionModel = AttributionModel.LINEAR,
    since: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    until: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    """The campaign's report as a file to save (``aicmo report``'s document)."""
    return report_response(
        db,
        campaign_id,
        _day(since, "from"),
        _day(until, "to"),
        fmt,
        workspace_id=viewer.workspace_id,
        model=model,
        inline=False,
        headers={"Content-Security-Policy": DOWNLOAD_CSP, "X-Content-Type-Options": "nosniff"},
    )
