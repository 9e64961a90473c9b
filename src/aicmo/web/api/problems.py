"""Errors as RFC 9457 problem details: one shape for every failure the API returns.

The service layer raises the ``aicmo.errors`` tree and knows nothing of HTTP; this module
is the one place that maps it to statuses (as the CLI maps it to exit codes). A
validation error names the field at fault in ``field`` (and every field in ``errors``),
so a client can put the message beside the right input.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from aicmo.errors import (
    AicmoError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitedError,
    SuppressedError,
    ValidationError,
)
from aicmo.operator_services.uow import utcnow

MEDIA_TYPE = "application/problem+json"

#: Most specific first: the first class an error is an instance of gives its status.
STATUS: tuple[tuple[type[AicmoError], int, str], ...] = (
    (AuthenticationError, 401, "Not authenticated"),
    (PermissionDeniedError, 403, "Forbidden"),
    (NotFoundError, 404, "Not found"),
    (ConflictError, 409, "Conflict"),
    (SuppressedError, 409, "Suppressed"),
    (PayloadTooLargeError, 413, "Payload too large"),
    (ValidationError, 422, "Invalid input"),
    (RateLimitedError, 429, "Rate limited"),
    (ConfigurationError, 503, "Not configured"),
)


class FieldProblem(BaseModel):
    field: str
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details, with the field at fault where there is one."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    field: str | None = None
    errors: list[FieldProblem] | None = None


def _response(problem: Problem, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        problem.model_dump(exclude_none=True),
        status_code=problem.status,
        media_type=MEDIA_TYPE,
        headers=headers,
    )


def problem_response(
    status: int, title: str, detail: str | None = None, *, field: str | None = None
) -> JSONResponse:
    return _response(Problem(title=title, status=status, detail=detail, field=field))


def status_of(error: AicmoError) -> tuple[int, str]:
    for cls, status, title in STATUS:
        if isinstance(error, cls):
            return status, title
    # A database that did not answer, a lock not granted: try again later.
    return 503, "Service unavailable"


def _loc(loc: tuple[int | str, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:] or parts
    return ".".join(parts)


def install(app: FastAPI) -> None:
    """Answer every error of the app, ours and the framework's, as problem details."""

    async def aicmo_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AicmoError)
        status, title = status_of(exc)
        field = getattr(exc, "field", None)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        retry_at = getattr(exc, "retry_at", None)
        if status == 429 and retry_at is not None:
            wait = max(1, int((retry_at - utcnow()).total_seconds()))
            headers = {"Retry-After": str(wait)}
        problem = Problem(title=title, status=status, detail=exc.message, field=field)
        return _response(problem, headers)

    async def request_invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = [
            FieldProblem(field=_loc(tuple(e.get("loc", ()))), message=str(e.get("msg", "")))
            for e in exc.errors()
        ]
        first = errors[0] if errors else None
        problem = Problem(
            title="Invalid input",
            status=422,
            detail=f"{first.field}: {first.message}" if first else None,
            field=first.field if first else None,
            errors=errors,
        )
        return _response(problem)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        detail: Any = exc.detail
        problem = Problem(
            title=str(detail) if isinstance(detail, str) else "Error",
            status=exc.status_code,
            detail=str(detail) if isinstance(detail, str) else None,
        )
        return _response(problem, dict(exc.headers) if exc.headers else None)

    async def database_busy(request: Request, exc: Exception) -> JSONResponse:
        problem = Problem(
            title="Service busy",
            status=503,
            detail="the database is busy or out of reach; retry in a moment",
        )
        return _response(problem, {"Retry-After": "1"})

    app.add_exception_handler(SQLAlchemyError, database_busy)
    app.add_exception_handler(AicmoError, aicmo_error)
    app.add_exception_handler(RequestValidationError, request_invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)


#: For the OpenAPI schema: what each route may answer besides its success.
def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Malformed request",
        401: "No valid API key",
        403: "The key's role does not allow this",
        404: "No such record in this workspace",
        409: "Conflicts with an existing record, or a retry still in progress",
        413: "The body is too large",
        422: "A field is not valid (named in `field`)",
        429: "A rate limit is reached",
        503: "The database is busy or out of reach; retry (see Retry-After)",
    }
    return {
        s: {"model": Problem, "description": described[s], "content": {MEDIA_TYPE: {}}}
        for s in statuses
    }
