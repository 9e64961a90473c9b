"""What every dashboard page shares: the signed-in person, CSRF, templates, the page policy.

The pages are server-rendered Jinja2 with autoescaping on, so everything a lead, a reply
or a provider supplies is text wherever it lands. They are served with their own Content
Security Policy (scripts and styles from ``/static`` only, nothing inline, nothing from
elsewhere): even markup that slipped through could not run. Scripts are our own
``app.js`` and the vendored htmx and Chart.js, so the pages work offline.

A page is reached with the browser session of ``/api/v1/session`` (the same cookie and
rows); a visitor without one is sent to the login page. Every change is a form POST
carrying the session's CSRF token (a hidden field, or the ``X-CSRF-Token`` header htmx
sends), checked before the route runs.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, unquote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from aicmo.cam.domain.access import Principal, Role
from aicmo.errors import AicmoError, AuthenticationError, PermissionDeniedError, ValidationError
from aicmo.operator_services.accounts import session_principal, whoami
from aicmo.web.api.deps import CSRF_HEADER, SAFE_METHODS, SESSION_COOKIE, get_db
from aicmo.web.api.problems import status_of

T = TypeVar("T")

HERE = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

#: The pages' policy: only our own scripts, styles and images; data: for the charts'
#: downloads; no framing; forms post only to us.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'"
)
CSRF_FIELD = "csrf_token"
#: The one-line message shown once on the page a change redirects to.
FLASH_COOKIE = "aicmo_flash"

#: The navigation, in the order a person works: (path, label).
NAV: tuple[tuple[str, str], ...] = (
    ("/", "Overview"),
    ("/leads", "Leads"),
    ("/import", "Import"),
    ("/campaigns", "Campaigns"),
    ("/inbox", "Inbox"),
    ("/tasks", "Tasks"),
    ("/analytics", "Analytics"),
    ("/settings", "Settings"),
)


class LoginRequired(Exception):
    """Raised by a page's dependency: the app answers with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Viewer:
    """The signed-in person on a page: their principal, workspace and CSRF token."""

    principal: Principal
    csrf_token: str
    email: str
    workspace: str

    @property
    def workspace_id(self) -> int:
        return self.principal.workspace_id

    def may(self, role: Role) -> bool:
        return self.principal.may(role)

    def require(self, role: Role) -> None:
        if not self.may(role):
            raise PermissionDeniedError(
                f"your role ({self.principal.role.value}) cannot do this; "
                f"it needs {role.value}: ask an admin of the workspace"
            )


def _session_of(db: Session, cookie: str) -> tuple[Principal, str, dict[str, Any]]:
    try:
        principal, csrf = session_principal(db, cookie)
        return principal, csrf, whoami(db, principal)
    finally:
        db.rollback()  # give the connection back before the route runs


async def signed_in(request: Request, db: Annotated[Session, Depends(get_db)]) -> Viewer:
    """The page's viewer; a redirect to the login page without a valid session; a 403
    page for a change without the session's CSRF token."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise LoginRequired(here)
    try:
        # In a worker thread: a database wait on the event loop would stall every request.
        principal, csrf, who = await run_in_threadpool(_session_of, db, cookie)
    except AuthenticationError:
        raise LoginRequired(here) from None
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER, "")
        if not sent:
            form = await request.form()
            value = form.get(CSRF_FIELD)
            sent = value if isinstance(value, str) else ""
        if not hmac.compare_digest(sent.encode(), csrf.encode()):
            raise PermissionDeniedError(
                "this form is out of date (its security token does not match your "
                "session); reload the page and try again"
            )
    return Viewer(
        principal=principal,
        csrf_token=csrf,
        email=who["email"],
        workspace=who["workspace"],
    )


SignedIn = Annotated[Viewer, Depends(signed_in)]


def _when(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as a person reads it (UTC, to the minute); '—' for none."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(fmt)


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["when"] = _when
templates.env.filters["pct"] = _pct
templates.env.globals["NAV"] = NAV
templates.env.globals["CSRF_FIELD"] = CSRF_FIELD


def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """A page with the policy header; ``viewer`` None for the pages before login."""
    flash = request.cookies.get(FLASH_COOKIE)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer,
            "path": request.url.path,
            "flash": unquote(flash)[:300] if flash else None,
            **(context or {}),
        },
        status_code=status_code,
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    response.headers["content-security-policy"] = PAGE_CSP
    response.headers["cache-control"] = "no-store"
    return response


def error_page(request: Request, viewer: Viewer | None, exc: AicmoError) -> HTMLResponse:
    """An error said on a page of its own (a form re-renders with its message instead)."""
    status, title = status_of(exc)
    return message_page(request, title, exc.message, status)


def message_page(request: Request, title: str, message: str, status: int) -> HTMLResponse:
    return render(
        request, "error.html", None, {"title": title, "message": message}, status_code=status
    )


def see_other(path: str, flash: str | None = None) -> RedirectResponse:
    """After a successful POST: a 303 to the page to look at, with a one-line message.

    The message travels in a short-lived cookie, never in the address: a link cannot put
    words on our pages, and addresses in messages stay out of URLs and access logs.
    """
    response = RedirectResponse(path, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE,
            quote(flash[:300]),
            max_age=60,
            httponly=True,
            samesite="strict",
            path="/",
        )
    return response


def safe_next(value: str | None) -> str:
    """A local path to go to after login: never another site (``//evil``, ``/\\evil``)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    return value


def change(
    viewer: Viewer,
    role: Role,
    run: Callable[[], T],
    *,
    done: Callable[[T], Response],
    failed: Callable[[AicmoError], Response],
) -> Response:
    """The shape of every form that changes something: the role first, then the service
    call; on success ``done`` (a redirect to look at), on the service's refusal ``failed``
    (the form again, with the service's own message)."""
    viewer.require(role)
    try:
        result = run()
    except AicmoError as exc:
        return failed(exc)
    return done(result)


def whole_number(
    field: str, text: str, *, low: int | None = None, high: int | None = None
) -> int | None:
    """A whole number typed in a form field: None for an empty field, else the number,
    or a ValidationError that names the field (and the range, when there is one)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        raise ValidationError(
            f"{field} must be a whole number, not {text[:40]!r}", field=field
        ) from None
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValidationError(f"{field} must be between {low} and {high}", field=field)
    return value


def no_content() -> Response:
    return Response(status_code=204)
