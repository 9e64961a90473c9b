"""What every route depends on: a session, the caller, the caller's role, idempotency.

The caller is found from ``Authorization: Bearer aicmo_…`` (or ``X-API-Key``), else
from the browser's session cookie. The principal carries one workspace, and routes pass
only its ``workspace_id`` to the services, so no route can be asked for another
workspace's rows. A cookie is sent by the browser on its own, so with a cookie every
change must also carry the session's CSRF token (``X-CSRF-Token``): another site can
make the browser send the cookie, never read the token.

``Viewer``, ``Operator`` and ``Admin`` give a route a :class:`Caller` that the API's
route class (``aicmo.web.api.route``) checks in the thread that runs the route.
"""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from aicmo.cam.domain.access import SESSION_LIFETIME, Principal, Role
from aicmo.errors import AuthenticationError, PermissionDeniedError
from aicmo.operator_services.accounts import authenticate_key, session_principal
from aicmo.operator_services.ops import idempotency


async def get_db(request: Request) -> AsyncIterator[Session]:
    """A session for the request, closed on the event loop.

    Async on purpose: the session takes its connection lazily (in the route's worker
    thread), and an async dependency's clean-up runs on the event loop. A sync one's
    clean-up waits for a free worker thread, so under load every thread could be
    waiting for a pooled connection that only a queued clean-up would give back: the
    requests then fail after the pool's timeout (200 concurrent clients did exactly that).
    """
    db = request.app.state.session_factory()
    try:
        yield db
    finally:
        db.close()


def _credential(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.headers.get("x-api-key")


SESSION_COOKIE = "aicmo_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """The session cookie: HttpOnly (no script reads it), SameSite=Lax (not sent on
    another site's form posts), Secure when the request came over HTTPS."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="lax",
        path="/",
    )


def authenticate(
    request: Request, db: Session, *, record_use: Callable[[int, datetime], None] | None = None
) -> Principal:
    """The request's principal, from its API key or its session cookie (for a change by
    cookie, only with the session's CSRF token). ``record_use``: see
    :func:`~aicmo.operator_services.accounts.authenticate_key`."""
    raw = _credential(request)
    if raw:
        return authenticate_key(db, raw, record_use=record_use)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        principal, csrf = session_principal(db, cookie)
        if request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), csrf.encode()):
                raise PermissionDeniedError(
                    "this change needs the session's CSRF token in the X-CSRF-Token header"
                )
        return principal
    raise _no_credential()


def _no_credential() -> AuthenticationError:
    return AuthenticationError(
        "this needs an API key (`Authorization: Bearer aicmo_…`, made with "
        "`aicmo apikey create`) or a signed-in session"
    )


@dataclass(frozen=True, slots=True)
class Caller:
    """A request that presents a credential, not yet checked, and the role its route
    needs. The API's route class (``aicmo.web.api.route``) checks it in the worker
    thread that then runs the route, with the route's session: one trip and one
    connection for the key and the work. It has none of a principal's fields, so a
    route that skipped the check could not use it as one."""

    request: Request
    need: Role

    def resolve(
        self,
        db: Session | None,
        *,
        record_use: Callable[[int, datetime], None] | None = None,
    ) -> Principal:
        if db is None:
            with self.request.app.state.session_factory() as own:
                return self.resolve(own, record_use=record_use)
        principal = authenticate(self.request, db, record_use=record_use)
        if not principal.may(self.need):
            raise PermissionDeniedError(
                f"a {principal.role.value} key cannot do this; it needs the {self.need.value} role"
            )
        return principal


class RequireRole:
    """The dependency behind ``Viewer``, ``Operator`` and ``Admin``: async and without
    I/O, so a request with no credential at all gets its 401 before its parameters are
    read. The key itself is checked in the route's thread (``aicmo.web.api.route``),
    and, for a request whose parameters are not valid, before the 422 is answered."""

    def __init__(self, need: Role) -> None:
        self.need = need

    async def __call__(self, request: Request) -> Caller:
        if not _credential(request) and not request.cookies.get(SESSION_COOKIE):
            raise _no_credential()
        return Caller(request, self.need)


#: Row ids are 32-bit integers on every database we support: a larger number names no
#: row, and would overflow the driver before the query could say so.
MAX_ID = 2**31 - 1
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
IdQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]

DB = Annotated[Session, Depends(get_db)]
Viewer = Annotated[Principal, Depends(RequireRole(Role.VIEWER))]
Operator = Annotated[Principal, Depends(RequireRole(Role.OPERATOR))]
Admin = Annotated[Principal, Depends(RequireRole(Role.ADMIN))]


def respond(
    request: Request,
    db: Session,
    principal: Principal,
    payload: Any,
    run: Callable[[], Any],
    model: type[BaseModel],
    *,
    status_code: int = 200,
) -> JSONResponse:
    """Run a POST that creates or sends, honouring an ``Idempotency-Key`` if one is sent."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return JSONResponse(model.model_validate(run()).model_dump(mode="json"), status_code)
    digest = idempotency.request_digest(request.method, request.url.path, payload)
    answer = idempotency.claim(db, principal.workspace_id, key, digest)
    if answer is not None:
        return JSONResponse(
            answer.body, answer.status_code, headers={"Idempotent-Replayed": "true"}
        )
    try:
        body = model.model_validate(run()).model_dump(mode="json")
    except BaseException:
        idempotency.release(db, principal.workspace_id, key)
        raise
    idempotency.remember(
        db, principal.workspace_id, key, idempotency.Answer(status_code=status_code, body=body)
    )
    return JSONResponse(body, status_code)
