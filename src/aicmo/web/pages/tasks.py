"""Dashboard: the operator's tasks (LinkedIn steps and contact forms done by hand).

Each task shows the text to send (read-only, with a Copy button) and the link to open
(the LinkedIn profile, the form's page); Done and Skip close it in place, and the
sequence that waits on it goes on (:mod:`aicmo.operator_services.channels.tasks`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from aicmo.cam.domain.access import Role
from aicmo.errors import AicmoError
from aicmo.operator_services.channels import tasks as task_service
from aicmo.web.api.deps import DB, Id
from aicmo.web.api.pagination import decode_cursor, page_of
from aicmo.web.pages.base import SignedIn, Viewer, render, see_other

router = APIRouter()

PAGE_SIZE = 100
#: The lists a person can look at: (query value, label); open first.
STATUSES: tuple[tuple[str, str], ...] = (
    ("OPEN", "Open"),
    ("DONE", "Done"),
    ("SKIPPED", "Skipped"),
    ("CANCELLED", "Cancelled"),
)
#: The reason a skip records when the person gave none.
DEFAULT_SKIP_REASON = "skipped from the dashboard (no reason given)"


def _safe_link(url: str | None) -> str | None:
    """A task's link, only when it is a web address (never ``javascript:`` or ``data:``)."""
    if url and url.lower().startswith(("https://", "http://")):
        return url
    return None


def _shown(db: DB, viewer: Viewer, tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Tasks with the text to copy and a link that is safe to open."""
    texts = task_service.task_texts(db, tasks, workspace_id=viewer.workspace_id)
    return [
        {**t, "text": texts.get(t["id"]) or t["body"], "link": _safe_link(t.get("url"))}
        for t in tasks
    ]


@router.get("/tasks", response_class=HTMLResponse)
def tasks(
    request: Request, viewer: SignedIn, db: DB, status: str = "OPEN", cursor: str = ""
) -> HTMLResponse:
    status = status.upper() if status.upper() in dict(STATUSES) else "OPEN"
    after = decode_cursor(cursor or None, (datetime, int))
    rows = task_service.list_tasks(
        db,
        status=status,
        workspace_id=viewer.workspace_id,
        after=(after[0], after[1]) if after else None,
        limit=PAGE_SIZE + 1,
    )
    page = page_of(rows, PAGE_SIZE, lambda t: [t["due_at"], t["id"]])
    next_url = None
    if page["next_cursor"]:
        next_url = "/tasks?" + urlencode({"status": status, "cursor": page["next_cursor"]})
    return render(
        request,
        "tasks.html",
        viewer,
        {
            "title": "Tasks",
            "tasks": _shown(db, viewer, page["items"]),
            "status": status,
            "statuses": STATUSES,
            "next_url": next_url,
            "can_change": viewer.may(Role.OPERATOR),
        },
    )


def _closed(
    request: Request,
    viewer: Viewer,
    db: DB,
    task_id: int,
    close: Any,
) -> Response:
    """Close a task; htmx swaps its row in place, a plain form post comes back to the list."""
    viewer.require(Role.OPERATOR)
    htmx = bool(request.headers.get("hx-request"))
    try:
        task = close()
    except AicmoError as exc:
        if not htmx:
            raise
        # Say why in the row (already done in another tab, say), showing it as it is now.
        task = task_service.get_task(db, task_id, workspace_id=viewer.workspace_id)
        [shown] = _shown(db, viewer, [task])
        context = {"t": shown, "error": exc.message, "can_change": True}
        return render(request, "task_row.html", viewer, context)
    if not htmx:
        return see_other("/tasks", f"Task #{task_id} is {task['status'].lower()}.")
    [shown] = _shown(db, viewer, [task])
    return render(request, "task_row.html", viewer, {"t": shown, "can_change": True})


@router.post("/tasks/{task_id}/done", response_class=HTMLResponse, response_model=None)
def done(request: Request, task_id: Id, viewer: SignedIn, db: DB) -> Response:
    return _closed(
        request,
        viewer,
        db,
        task_id,
        lambda: task_service.complete_task(db, task_id, workspace_id=viewer.workspace_id),
    )


@router.post("/tasks/{task_id}/skip", response_class=HTMLResponse, response_model=None)
def skip(
    request: Request,
    task_id: Id,
    viewer: SignedIn,
    db: DB,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    return _closed(
        request,
        viewer,
        db,
        task_id,
        lambda: task_service.skip_task(
            db,
            task_id,
            reason=reason.strip() or DEFAULT_SKIP_REASON,
            workspace_id=viewer.workspace_id,
        ),
    )
