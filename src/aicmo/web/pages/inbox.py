"""Dashboard: the unified inbox, one reply's page, and answering it.

Replies from every mailbox and LinkedIn account in one list, newest first, each with the
category the rules gave it and the rule that fired; a person corrects a category with one
click (the row re-renders in place). A reply's page shows its full text and sends an
answer in the same conversation (:mod:`aicmo.operator_services.crm.answers`).
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from aicmo.cam.domain.access import Role
from aicmo.cam.domain.reply_categories import ReplyCategory
from aicmo.cam.inbound.categories import NO_RULE, OPERATOR, RULES
from aicmo.errors import AicmoError
from aicmo.operator_services.campaigns import list_campaigns
from aicmo.operator_services.channels.linkedin_accounts import list_linkedin_accounts
from aicmo.operator_services.channels.mailboxes import list_mailboxes
from aicmo.operator_services.crm import answers
from aicmo.operator_services.crm import replies as reply_service
from aicmo.web.api.deps import DB, Id
from aicmo.web.api.leads import actor
from aicmo.web.api.pagination import decode_cursor, page_of
from aicmo.web.pages.base import SignedIn, Viewer, render, see_other

router = APIRouter()

PAGE_SIZE = 50
#: The categories in the order the correction buttons show them, with short labels.
CATEGORIES: tuple[tuple[str, str], ...] = (
    (ReplyCategory.INTERESTED.value, "Interested"),
    (ReplyCategory.MEETING_BOOKED.value, "Meeting"),
    (ReplyCategory.NOT_INTERESTED.value, "Not interested"),
    (ReplyCategory.OUT_OF_OFFICE.value, "Out of office"),
    (ReplyCategory.WRONG_PERSON.value, "Wrong person"),
    (ReplyCategory.OTHER.value, "Other"),
    (ReplyCategory.UNSUBSCRIBE.value, "Unsubscribe"),
)
#: What each rule id means, for the badge's title (the rule table's own descriptions).
RULE_TITLES: dict[str, str] = {
    **{rule.id: rule.meaning for rule in RULES},
    OPERATOR: "set by a person",
    NO_RULE: "no rule recognised it",
}


def _sources(db: DB, viewer: Viewer) -> dict[str, dict[int, str]]:
    """Names of the workspace's mailboxes and LinkedIn accounts, by id."""
    ws = viewer.workspace_id
    return {
        "mailboxes": {m["id"]: m["name"] for m in list_mailboxes(db, workspace_id=ws)},
        "accounts": {a["id"]: a["name"] for a in list_linkedin_accounts(db, workspace_id=ws)},
    }


def _row_context(viewer: Viewer, sources: dict[str, dict[int, str]]) -> dict[str, Any]:
    return {
        "categories": CATEGORIES,
        "rule_titles": RULE_TITLES,
        "sources": sources,
        "can_change": viewer.may(Role.OPERATOR),
    }


@router.get("/inbox", response_class=HTMLResponse)
def inbox(
    request: Request,
    viewer: SignedIn,
    db: DB,
    category: str = "",
    channel: str = "",
    campaign: str = "",
    cursor: str = "",
) -> HTMLResponse:
    campaign_id = int(campaign) if re.fullmatch(r"[0-9]{1,9}", campaign) else None
    after = decode_cursor(cursor or None, (datetime, int))
    rows = reply_service.list_replies(
        db,
        workspace_id=viewer.workspace_id,
        category=category or None,
        channel=channel or None,
        campaign_id=campaign_id,
        after=(after[0], after[1]) if after else None,
        limit=PAGE_SIZE + 1,
    )
    page = page_of(rows, PAGE_SIZE, lambda r: [r["received_at"], r["id"]])
    filters = {"category": category, "channel": channel, "campaign": campaign}
    next_url = None
    if page["next_cursor"]:
        kept = {k: v for k, v in filters.items() if v}
        next_url = "/inbox?" + urlencode({**kept, "cursor": page["next_cursor"]})
    campaigns = list_campaigns(db, workspace_id=viewer.workspace_id, limit=500)
    return render(
        request,
        "inbox.html",
        viewer,
        {
            "title": "Inbox",
            "replies": page["items"],
            "filters": filters,
            "campaigns": campaigns,
            "campaign_names": {c["id"]: c["name"] for c in campaigns},
            "next_url": next_url,
            "first_page": not cursor,
            **_row_context(viewer, _sources(db, viewer)),
        },
    )


@router.post("/inbox/{reply_id}/category", response_class=HTMLResponse, response_model=None)
def correct_category(
    request: Request,
    reply_id: Id,
    viewer: SignedIn,
    db: DB,
    category: Annotated[str, Form(max_length=40)] = "",
    back: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """One click: the reply gets the category; htmx swaps the row (or the reply's header)
    in place, a plain form post comes back to the page it came from."""
    viewer.require(Role.OPERATOR)
    fragment = "inbox_reply_head.html" if back == "reply" else "inbox_row.html"
    error = None
    try:
        reply = reply_service.set_reply_category(
            db,
            reply_id,
            category,
            workspace_id=viewer.workspace_id,
            user_id=viewer.principal.user_id,
            actor=actor(viewer.principal),
        )
    except AicmoError as exc:
        if not request.headers.get("hx-request"):
            raise
        error = exc.message
        reply = answers.get_reply(db, reply_id, workspace_id=viewer.workspace_id)
    if not request.headers.get("hx-request"):
        path = f"/inbox/{reply_id}" if back == "reply" else "/inbox"
        return see_other(path, f"Category set to {reply['category'].replace('_', ' ')}.")
    return render(
        request,
        fragment,
        viewer,
        {"r": reply, "error": error, **_row_context(viewer, _sources(db, viewer))},
    )


def _reply_page(
    request: Request,
    viewer: Viewer,
    db: DB,
    reply_id: int,
    *,
    body: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    reply = answers.get_reply(db, reply_id, workspace_id=viewer.workspace_id)
    return render(
        request,
        "inbox_reply.html",
        viewer,
        {
            "title": f"Reply #{reply_id}",
            "r": reply,
            "plan": reply["answer"],
            "body": body,
            "error": error,
            "form_key": uuid.uuid4().hex,
            **_row_context(viewer, _sources(db, viewer)),
        },
        status_code=status_code,
    )


@router.get("/inbox/{reply_id}", response_class=HTMLResponse)
def reply_page(request: Request, reply_id: Id, viewer: SignedIn, db: DB) -> HTMLResponse:
    return _reply_page(request, viewer, db, reply_id)


@router.post("/inbox/{reply_id}/answer", response_class=HTMLResponse, response_model=None)
def answer(
    request: Request,
    reply_id: Id,
    viewer: SignedIn,
    db: DB,
    body: Annotated[str, Form(max_length=200_000)] = "",
    form_key: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Send the answer (once per form: its key makes a second submission a no-op) and
    say what became of it."""
    viewer.require(Role.OPERATOR)
    try:
        result = answers.answer_reply(
            db,
            reply_id,
            body,
            workspace_id=viewer.workspace_id,
            idempotency_key=form_key or None,
        )
    except AicmoError as exc:
        return _reply_page(
            request, viewer, db, reply_id, body=body, error=exc.message, status_code=422
        )
    return see_other(f"/inbox/{reply_id}", _said(result))


def _said(result: dict[str, Any]) -> str:
    """What became of an answer, in one line (never a delivery that did not happen)."""
    if result.get("outcome") == "TASK":
        return (
            f"No LinkedIn provider account: task #{result.get('task_id')} holds the answer; "
            "send it by hand from Tasks."
        )
    if result["success"] and result.get("transport") == "outbox":
        return (
            "Answer written to the local outbox (no mailbox is configured): it was not "
            "delivered to the lead."
        )
    if result["success"]:
        return f"Answer sent through {result['via']}."
    if result["status"] == "UNKNOWN":
        return f"The answer may or may not have gone ({result['error']}); it will not be resent."
    return f"Answer not sent: {result['error']}"
