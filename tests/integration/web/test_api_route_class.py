"""The API's route class over real HTTP: the key check, the route and its answer take
one worker-thread trip; a bad key or the wrong role still answers before a bad
parameter; the answer keeps to its model; and no API route is built without it."""

from __future__ import annotations

import importlib
import pkgutil
import threading
from collections.abc import Callable, Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI, Query, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from sqlalchemy import Engine

import aicmo.web.api as api_package
from aicmo.cam.domain.access import Principal
from aicmo.db.connect import session_factory
from aicmo.operator_services import accounts
from aicmo.operator_services.accounts import authenticate_key
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults
from aicmo.web.api import deps, problems, route
from aicmo.web.api.deps import DB, Admin, Viewer
from aicmo.web.api.route import ServiceRoute
from tests.http_server import serve


class Probe(BaseModel):
    workspace_id: int
    n: int


class ProbeIn(BaseModel):
    name: str = Field(min_length=1)


def _probe_app(engine: Engine, seen: dict[str, Any]) -> FastAPI:
    app = FastAPI()
    app.state.session_factory = session_factory(engine)
    problems.install(app)
    route.install(app)
    router = APIRouter(route_class=ServiceRoute)

    @router.get("/probe", response_model=Probe)
    def probe(
        db: DB, principal: Viewer, response: Response, n: Annotated[int, Query(ge=1)] = 1
    ) -> dict[str, Any]:
        seen["principal"] = principal
        seen["route_thread"] = threading.get_ident()
        response.headers["X-Probe"] = "seen"
        # More than the model holds: the answer keeps to the model.
        return {"workspace_id": principal.workspace_id, "n": n, "secret": "not-sent"}

    @router.post("/admin-only", response_model=Probe, status_code=201)
    def admin_only(db: DB, principal: Admin, body: ProbeIn) -> Probe:
        return Probe(workspace_id=principal.workspace_id, n=len(body.name))

    plain = APIRouter()  # the framework's own route class: no check of the caller

    @plain.get("/unchecked")
    def unchecked(principal: Viewer) -> dict[str, str]:
        return {"got": type(principal).__name__}

    app.include_router(router)
    app.include_router(plain)
    return app


@pytest.fixture
def probe_api(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, dict[str, str], dict[str, Any]]]:
    with session_factory(engine)() as db:
        ensure_workspace_defaults(db)
        keys = {
            role: str(accounts.create_api_key(db, workspace_id=1, name=role, role=role)["key"])
            for role in ("viewer", "admin")
        }
        db.commit()
    seen: dict[str, Any] = {"trips": 0}
    check = authenticate_key

    def counted_check(*args: Any, **kwargs: Any) -> Principal:
        seen["check_thread"] = threading.get_ident()
        return check(*args, **kwargs)

    trip = run_in_threadpool

    async def counted_trip(fn: Callable[..., Any], *args: Any) -> Any:
        seen["trips"] += 1
        return await trip(fn, *args)

    monkeypatch.setattr(f"{deps.__name__}.authenticate_key", counted_check)
    monkeypatch.setattr(f"{route.__name__}.run_in_threadpool", counted_trip)
    with serve(_probe_app(engine, seen)) as base:
        yield base, keys, seen


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_the_key_check_and_the_route_share_one_thread_trip(
    probe_api: tuple[str, dict[str, str], dict[str, Any]],
) -> None:
    base, keys, seen = probe_api
    answer = httpx.get(f"{base}/probe", params={"n": 3}, headers=_bearer(keys["viewer"]))
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"workspace_id": 1, "n": 3}
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["x-probe"] == "seen"
    assert seen["trips"] == 1
    assert seen["check_thread"] == seen["route_thread"] != threading.get_ident()
    assert isinstance(seen["principal"], Principal)

    made = httpx.post(f"{base}/admin-only", json={"name": "abcd"}, headers=_bearer(keys["admin"]))
    assert (made.status_code, made.json()) == (201, {"workspace_id": 1, "n": 4})


def test_a_bad_key_or_role_answers_before_a_bad_parameter(
    probe_api: tuple[str, dict[str, str], dict[str, Any]],
) -> None:
    base, keys, _ = probe_api
    assert httpx.get(f"{base}/probe", params={"n": 0}).status_code == 401
    bad_key = _bearer("aicmo_AbCdEf123456_" + "s" * 43)
    assert httpx.get(f"{base}/probe", params={"n": 0}, headers=bad_key).status_code == 401
    viewer = _bearer(keys["viewer"])
    denied = httpx.post(f"{base}/admin-only", json={"name": ""}, headers=viewer)
    assert denied.status_code == 403, denied.text
    invalid = httpx.post(f"{base}/admin-only", json={"name": ""}, headers=_bearer(keys["admin"]))
    assert invalid.status_code == 422 and invalid.json()["field"] == "name"
    assert httpx.get(f"{base}/probe", params={"n": 0}, headers=viewer).status_code == 422


def test_a_route_built_without_the_class_never_gets_a_principal(
    probe_api: tuple[str, dict[str, str], dict[str, Any]],
) -> None:
    base, keys, _ = probe_api
    answer = httpx.get(f"{base}/unchecked", headers=_bearer(keys["viewer"]))
    assert answer.json() == {"got": "Caller"}  # no workspace_id, no role: unusable


def test_every_api_route_is_built_with_the_route_class() -> None:
    routes: list[APIRoute] = []
    for module in pkgutil.iter_modules(api_package.__path__):
        loaded = importlib.import_module(f"{api_package.__name__}.{module.name}")
        router = getattr(loaded, "router", None)
        if isinstance(router, APIRouter):
            routes += [r for r in router.routes if isinstance(r, APIRoute)]
    assert len(routes) > 40
    assert [r.path for r in routes if not isinstance(r, ServiceRoute)] == []
