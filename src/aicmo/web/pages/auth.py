"""The dashboard's door: the login page, signing in with a form, signing out.

The same sessions as ``/api/v1/session`` (one table, one cookie). A login form has no
session to take a CSRF token from, so a sign-in posted from another site (which would
sign the visitor into the attacker's account) is refused by its ``Origin`` header.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from aicmo.errors import AuthenticationError, RateLimitedError
from aicmo.operator_services import accounts
from aicmo.web.api.deps import DB, SESSION_COOKIE, set_session_cookie
from aicmo.web.pages.base import SignedIn, render, safe_next

router = APIRouter()


def login_url(next_path: str) -> str:
    return "/login" if next_path in ("", "/") else f"/login?next={quote(next_path, safe='')}"


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


#: The login page's referrer policy. Not the app's no-referrer: under it, Chromium sends
#: ``Origin: null`` with the form's post, and the post checks the origin. Nothing goes to
#: other sites either way.
LOGIN_REFERRER_POLICY = "same-origin"


def _login_form(request: Request, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    page = render(request, "login.html", None, context, status_code=status)
    page.headers["referrer-policy"] = LOGIN_REFERRER_POLICY
    return page


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> HTMLResponse:
    return _login_form(request, {"next": safe_next(next), "email": ""})


@router.post("/login", response_class=HTMLResponse, response_model=None)
def login(
    request: Request,
    db: DB,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    workspace: Annotated[str, Form(max_length=64)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    target = safe_next(next)
    context = {"next": target, "email": email, "workspace": workspace}
    if not _same_origin(request):
        refused = "This sign-in came from another site and was refused."
        return _login_form(request, {**context, "error": refused}, 403)
    client = request.client.host if request.client else "unknown"
    try:
        session = accounts.sign_in(
            db, email, password, client=client, workspace=workspace.strip() or None
        )
    except (AuthenticationError, RateLimitedError) as exc:
        status = 429 if isinstance(exc, RateLimitedError) else 401
        return _login_form(request, {**context, "error": exc.message}, status)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, session.token)
    return response


@router.post("/logout")
def logout(request: Request, viewer: SignedIn, db: DB) -> RedirectResponse:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.sign_out(db, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
