"""The API's route class: a request's blocking work in one trip to a worker thread.

A sync FastAPI route with a sync key check makes three trips to the thread pool: the
check, the route, then the validation of its answer. Each trip is a hand-off of the GIL
between the event loop and a worker, and the loop waits on it with every other request:
on two cores the three trips and the answer's second walk cost more than the listing
they served (docs/performance.md). Here a route's work runs in one trip: the caller is
authenticated and its role checked (:class:`~aicmo.web.api.deps.Caller`), the route
runs in the same session, and its answer is validated against the route's response
model and written to JSON bytes by pydantic-core, all before the thread gives the
request back to the loop.

A route marked :func:`short_read` (a bounded read: a page, a rollup) is run on the event
loop's own thread instead, when the database is a SQLite file (``aicmo.web.loop_reads``
says why and why it is safe).

The caller is checked before the route's code, on every path: a route's principal
parameter holds a ``Caller`` until :func:`_resolved` has turned it into a
``Principal``, and a route built without this class would get the ``Caller`` itself,
which has none of a principal's fields (a test checks that every API route is built
with this class).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session
from starlette.responses import Response

from aicmo.cam.domain.access import Role
from aicmo.errors import AicmoError
from aicmo.web.api.deps import Caller, RequireRole
from aicmo.web.loop_reads import LoopReader, RecordUse

F = TypeVar("F", bound=Callable[..., Any])

_SHORT_READ = "__aicmo_short_read__"


def short_read(endpoint: F) -> F:
    """Mark a sync GET route whose work is a bounded read (at most a page of rows, or
    rollups) and writes nothing: on a SQLite file it runs on the event loop's thread.
    Put it under the router's decorator."""
    setattr(endpoint, _SHORT_READ, True)
    return endpoint


class ServiceRoute(APIRoute):
    """An ``APIRoute`` whose endpoint is wrapped by :func:`one_trip`; ``need`` is the
    role its caller must have (None for a route open to anyone, like signing in)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        answer = _Answer()
        inline = bool(getattr(endpoint, _SHORT_READ, False))
        if inline and (
            inspect.iscoroutinefunction(endpoint)
            or not set(kwargs.get("methods") or ()) <= {"GET", "HEAD"}
        ):
            raise TypeError(f"{path}: only a sync GET route can be a short read")
        super().__init__(path, one_trip(endpoint, answer, short_read=inline), **kwargs)
        self.short_read = inline
        answer.bind(self.response_model, self.status_code, by_alias=self.response_model_by_alias)
        self.need = _need(self.dependant)


def _need(dependant: Dependant) -> Role | None:
    for sub in dependant.dependencies:
        if isinstance(sub.call, RequireRole):
            return sub.call.need
        found = _need(sub)
        if found is not None:
            return found
    return None


def install(app: FastAPI) -> None:
    """Keep the order a client sees: a request with a bad key or the wrong role gets
    401 or 403 even when its parameters are not valid too, as it would if the key
    were checked before the parameters are read. Only invalid requests pay for it."""
    answer_invalid = app.exception_handlers[RequestValidationError]
    answer_error = app.exception_handlers[AicmoError]

    async def invalid(request: Request, exc: Exception) -> Response:
        need = getattr(request.scope.get("route"), "need", None)
        if isinstance(need, Role):
            try:
                await run_in_threadpool(Caller(request, need).resolve, None)
            except AicmoError as err:
                return await _answer(answer_error, request, err)
        return await _answer(answer_invalid, request, exc)

    app.add_exception_handler(RequestValidationError, invalid)


async def _answer(handler: Callable[..., Any], request: Request, exc: Exception) -> Response:
    response = handler(request, exc)
    answered: Response = await response if inspect.isawaitable(response) else response
    return answered


class _Answer:
    """How a route's return value becomes its response: known once the route is built."""

    adapter: TypeAdapter[Any] | None = None
    status_code: int = 200
    by_alias: bool = True

    def bind(self, response_model: Any, status_code: int | None, *, by_alias: bool) -> None:
        self.adapter = None if response_model is None else TypeAdapter(response_model)
        self.status_code = status_code or 200
        self.by_alias = by_alias

    def response(self, content: Any, values: Mapping[str, Any]) -> Response:
        if isinstance(content, Response):
            return content
        if self.adapter is None:
            raise TypeError("a route without a response model must return a Response")
        try:
            value = self.adapter.validate_python(content, from_attributes=True)
        except PydanticValidationError as err:
            # As FastAPI does: an answer that breaks its own schema is a server error.
            raise ResponseValidationError(errors=err.errors(include_url=False)) from err
        response = Response(
            self.adapter.dump_json(value, by_alias=self.by_alias),
            self.status_code,
            media_type="application/json",
        )
        for given in values.values():
            if isinstance(given, Response):  # the route's `response: Response` parameter
                response.headers.raw.extend(given.headers.raw)
                if given.status_code:
                    response.status_code = given.status_code
        return response


def one_trip(
    endpoint: Callable[..., Any], answer: _Answer, *, short_read: bool = False
) -> Callable[..., Any]:
    """``endpoint`` as an async function with the same signature (FastAPI reads the
    parameters through ``__wrapped__``) that checks the caller, runs the route and
    serialises its answer: in one worker-thread trip for a sync route, or on the event
    loop for a ``short_read`` one when the app has a loop reader."""
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def run_async(**values: Any) -> Response:
            if any(isinstance(v, Caller) for v in values.values()):
                values = await run_in_threadpool(_resolved, values)
            return answer.response(await endpoint(**values), values)

        return run_async

    def work(values: dict[str, Any], record_use: RecordUse | None = None) -> Response:
        values = _resolved(values, record_use)
        return answer.response(endpoint(**values), values)

    @functools.wraps(endpoint)
    async def run_sync(**values: Any) -> Response:
        reader = _loop_reader(values) if short_read else None
        if reader is not None:
            answered = reader.run(work, values)
            if answered is not None:
                return answered
        return await run_in_threadpool(work, values)

    return run_sync


def _loop_reader(values: dict[str, Any]) -> LoopReader | None:
    caller = next((v for v in values.values() if isinstance(v, Caller)), None)
    if caller is None:
        return None
    reader = getattr(caller.request.app.state, "loop_reader", None)
    return reader if isinstance(reader, LoopReader) else None


def _resolved(values: dict[str, Any], record_use: RecordUse | None = None) -> dict[str, Any]:
    """``values`` with each ``Caller`` checked and replaced by its principal, using the
    route's own session when it has one (one connection for the key and the work)."""
    callers = [name for name, value in values.items() if isinstance(value, Caller)]
    if not callers:
        return values
    db = next((v for v in values.values() if isinstance(v, Session)), None)
    out = dict(values)
    for name in callers:
        out[name] = values[name].resolve(db, record_use=record_use)
    return out
