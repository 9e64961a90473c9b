"""The web dashboard at ``/``: server-rendered pages over the service layer.

One module per area of the navigation (:data:`aicmo.web.pages.base.NAV`); each owns its
routes and templates and calls the same services as the REST API and the CLI. The shared
parts (the signed-in viewer, CSRF, the page policy, the templates) are in ``base``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from aicmo.errors import AicmoError
from aicmo.web import import_jobs
from aicmo.web.pages import (
    analytics,
    auth,
    campaigns,
    imports,
    inbox,
    leads,
    overview,
    settings,
    tasks,
)
from aicmo.web.pages.base import STATIC_DIR, LoginRequired, error_page, message_page

#: Paths whose errors stay problem details (JSON): everything else is a page.
MACHINE_PATHS = ("/api/", "/webhooks/", "/u/", "/healthz", "/docs", "/openapi")

E = TypeVar("E", bound=Exception)
#: An exception handler as the app keeps them (the API's may be a coroutine or not).
Handler = Callable[[Request, Any], Response | Awaitable[Response]]

ROUTERS = (
    auth.router,
    overview.router,
    leads.router,
    imports.router,
    campaigns.router,
    inbox.router,
    tasks.router,
    analytics.router,
    settings.router,
)


def install(app: FastAPI) -> None:
    async def to_login(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        target = auth.login_url(exc.next_path)
        if request.headers.get("hx-request"):
            # The browser would follow a 303 itself and htmx swap the login page into the
            # fragment: answer 200 with HX-Redirect, and htmx loads the whole page. After
            # login, back to the page the person was on (not the fragment's address).
            here = urlsplit(request.headers.get("hx-current-url", ""))
            back = here.path + (f"?{here.query}" if here.query else "")
            target = auth.login_url(back if back.startswith("/") else "/")
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    app.add_exception_handler(LoginRequired, to_login)

    _answer_with_pages(app, AicmoError, _page_error)
    _answer_with_pages(app, RequestValidationError, _page_invalid)
    _answer_with_pages(app, StarletteHTTPException, _page_http_error)
    import_jobs.forget_leftovers()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router, include_in_schema=False)


def _answer_with_pages(app: FastAPI, kind: type[E], page: Callable[[Request, E], Response]) -> None:
    """Errors of ``kind`` answered with a page, but by the API's own handler (problem
    details, as JSON) on the machine paths, where a program reads the answer."""
    machine: Handler | None = app.exception_handlers.get(kind)

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, kind)
        if request.url.path.startswith(MACHINE_PATHS) and machine is not None:
            answer = machine(request, exc)
            return await answer if isinstance(answer, Awaitable) else answer
        return page(request, exc)

    app.add_exception_handler(kind, handle)


def _page_error(request: Request, exc: AicmoError) -> Response:
    return error_page(request, None, exc)


def _page_invalid(request: Request, exc: RequestValidationError) -> Response:
    where = ", ".join(
        f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'value'}: {e.get('msg', '')}"
        for e in exc.errors()[:3]
    )
    return message_page(request, "This address is not valid", f"{where}. Check the link.", 422)


def _page_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 404:
        return message_page(request, "Not found", "There is no page here; use the menu above.", 404)
    return message_page(request, "Error", str(exc.detail), exc.status_code)


__all__ = ["install"]
