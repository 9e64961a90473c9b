"""``/api/v1/session``: sign in and out from a browser (the dashboard's door).

The cookie is HttpOnly (no script reads it), SameSite=Lax (not sent on other sites'
form posts), and Secure when the request came over HTTPS. The answer carries the CSRF
token the page sends back with every change.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from aicmo.cam import repository as repo
from aicmo.operator_services import accounts
from aicmo.web.api.deps import DB, SESSION_COOKIE, authenticate, set_session_cookie
from aicmo.web.api.problems import responses
from aicmo.web.api.route import ServiceRoute

router = APIRouter(prefix="/session", tags=["session"], route_class=ServiceRoute)


class SignIn(BaseModel):
    email: str = Field(min_length=3, max_length=320)
    password: str = Field(min_length=1, max_length=1024)
    workspace: Annotated[str | None, Field(max_length=64)] = None


class SessionInfo(BaseModel):
    workspace_id: int
    workspace: str
    role: str
    user_id: int
    csrf_token: str


@router.post(
    "",
    response_model=SessionInfo,
    summary="Sign in with email and password; sets the session cookie",
    responses=responses(401, 422, 429),
)
def sign_in(body: SignIn, request: Request, db: DB) -> JSONResponse:
    client = request.client.host if request.client else "unknown"
    session = accounts.sign_in(
        db, body.email, body.password, client=client, workspace=body.workspace
    )
    ws = repo.get_workspace(db, session.principal.workspace_id)
    assert session.principal.user_id is not None
    response = JSONResponse(
        SessionInfo(
            workspace_id=session.principal.workspace_id,
            workspace=ws.slug if ws else "",
            role=session.principal.role.value,
            user_id=session.principal.user_id,
            csrf_token=session.csrf_token,
        ).model_dump()
    )
    set_session_cookie(response, request, session.token)
    return response


@router.delete(
    "", status_code=204, summary="Sign out: the session ends now", responses=responses(401)
)
def sign_out(request: Request, db: DB) -> Response:
    authenticate(request, db)  # a CSRF-checked change like any other
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        accounts.sign_out(db, token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
