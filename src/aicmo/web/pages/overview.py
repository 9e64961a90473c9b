"""Dashboard: the overview (the first page after login)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from aicmo.web.pages.base import SignedIn, render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, viewer: SignedIn) -> HTMLResponse:
    return render(request, "overview.html", viewer, {"title": "Overview"})
