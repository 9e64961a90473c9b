"""Dashboard: the overview, the first page after login.

Today's sends, replies, bounces and complaints, what waits for a person (tasks, attempts
whose outcome is unknown, paused accounts, disabled mailboxes), the worker's liveness and
the last 14 days' sends and replies: one service call
(:func:`aicmo.operator_services.analytics.overview.get_overview`).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from aicmo.operator_services.analytics.overview import CHART_DAYS, get_overview
from aicmo.operator_services.uow import utcnow
from aicmo.web.api.deps import DB
from aicmo.web.pages.base import SignedIn, render

router = APIRouter()


def _chart(daily: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "type": "bar",
        "labels": [d["day"].strftime("%m-%d") for d in daily],
        "datasets": [
            {"label": "Sent", "data": [d["sent"] for d in daily]},
            {"label": "Replies", "data": [d["replied"] for d in daily]},
        ],
        "options": {"scales": {"y": {"beginAtZero": True, "ticks": {"precision": 0}}}},
    }


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, viewer: SignedIn, db: DB) -> HTMLResponse:
    data = get_overview(db, viewer.workspace_id, utcnow())
    db.rollback()  # a read: give the connection back before the page renders
    return render(
        request,
        "overview.html",
        viewer,
        {"title": "Overview", "o": data, "chart": _chart(data["daily"]), "days": CHART_DAYS},
    )
