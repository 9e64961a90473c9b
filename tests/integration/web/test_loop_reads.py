"""Short reads served on the event loop (SQLite file): over real HTTP, each marked route
is answered there and writes nothing; a held write lock holds up neither the read nor
its answer (the key's use is written later, in a thread); a marked route that writes
after all is run again in a thread; PostgreSQL and in-memory databases keep threads."""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
import time
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import Engine, insert, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

import aicmo.web.api as api_package
from aicmo.cam.db_models import ApiKeyDB, WorkspaceDB
from aicmo.config import get_settings
from aicmo.db.connect import make_engine, session_factory, sqlite_reader
from aicmo.operator_services import accounts
from aicmo.web.api.deps import DB, Viewer
from aicmo.web.api.route import ServiceRoute, short_read
from aicmo.web.app import create_app
from aicmo.web.loop_reads import LoopReader
from tests.http_server import serve
from tests.integration.web.test_api import API, Tenant, _tenant


@pytest.fixture
def app(db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    get_settings.cache_clear()
    return create_app()


def _reader(app: FastAPI) -> LoopReader:
    reader = app.state.loop_reader
    assert isinstance(reader, LoopReader)
    return reader


def _short_reads() -> list[str]:
    """The path of every API route marked as a short read."""
    paths = []
    for module in pkgutil.iter_modules(api_package.__path__):
        router = getattr(
            importlib.import_module(f"{api_package.__name__}.{module.name}"), "router", None
        )
        for route in getattr(router, "routes", []):
            if isinstance(route, ServiceRoute) and route.short_read:
                paths.append(API + route.path)
    return paths


def _sqlite_only(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        pytest.skip("reads on the event loop are for SQLite files")


def test_each_short_read_is_answered_on_the_loop_and_writes_nothing(
    app: FastAPI, db: Session, engine: Engine
) -> None:
    _sqlite_only(engine)
    tenant: Tenant = _tenant(db, "acme", "ann@lead-a.example")
    db.commit()
    routes = _short_reads()
    assert len(routes) >= 10, routes
    reader = _reader(app)
    with serve(app) as base, httpx.Client(base_url=base, timeout=20) as client:
        for route in routes:
            path = route.format(lead_id=tenant.lead_id, campaign_id=tenant.campaign_id)
            answer = client.get(path, headers=tenant.auth("admin"))
            assert answer.status_code == 200, (path, answer.text)
        assert (reader.served, reader.refused) == (len(routes), 0)
        # What the loop served is what a worker thread serves: the lead, by the other path.
        listed = client.get(f"{API}/leads", headers=tenant.auth("viewer")).json()
        assert [lead["email"] for lead in listed["items"]] == ["ann@lead-a.example"]
        # A change is not a short read: it goes to a worker thread as before.
        made = client.post(
            f"{API}/leads", json={"email": "bo@lead-a.example"}, headers=tenant.auth()
        )
        assert made.status_code == 201, made.text
        assert reader.served == len(routes) + 1


def test_a_held_write_lock_holds_up_neither_the_read_nor_its_answer(
    app: FastAPI, db: Session, engine: Engine
) -> None:
    """The key was never used, so its use must be written: that write waits for the
    lock in a worker thread, after the answer, instead of on the loop before it."""
    _sqlite_only(engine)
    key = accounts.create_api_key(db, workspace_id=1, name="fresh", role="viewer")
    db.commit()
    holder = sqlite3.connect(str(engine.url.database), isolation_level=None, timeout=1)
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE workspaces SET name = name")
        with serve(app) as base:
            answer = httpx.get(
                f"{base}{API}/leads",
                headers={"Authorization": f"Bearer {key['key']}"},
                timeout=20,
            )
            assert answer.status_code == 200, answer.text
            assert _last_used(engine, key["id"]) is None  # not written yet: the lock is held
            holder.execute("ROLLBACK")
            deadline = time.monotonic() + 20
            while _last_used(engine, key["id"]) is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _last_used(engine, key["id"]) is not None
    finally:
        holder.close()
    assert _reader(app).served == 1


def _last_used(engine: Engine, key_id: int) -> Any:
    with session_factory(engine)() as fresh:
        return fresh.scalar(select(ApiKeyDB.last_used_at).where(ApiKeyDB.id == key_id))


@pytest.fixture
def writing_app(app: FastAPI) -> FastAPI:
    router = APIRouter(route_class=ServiceRoute)

    @router.get("/probe-write", response_model=dict[str, str])
    @short_read
    def probe_write(db: DB, principal: Viewer) -> dict[str, str]:
        db.execute(insert(WorkspaceDB).values(slug="written", name="written"))
        db.commit()
        return {"done": "yes"}

    app.include_router(router)
    return app


def test_a_short_read_that_writes_is_run_again_in_a_thread(
    writing_app: FastAPI, db: Session, engine: Engine
) -> None:
    _sqlite_only(engine)
    key = accounts.create_api_key(db, workspace_id=1, name="k", role="viewer")["key"]
    db.commit()
    with serve(writing_app) as base:
        answer = httpx.get(f"{base}/probe-write", headers={"Authorization": f"Bearer {key}"})
    assert answer.json() == {"done": "yes"}
    reader = _reader(writing_app)
    assert (reader.served, reader.refused, reader.refused_writes) == (0, 1, 1)
    with session_factory(engine)() as fresh:
        slugs = fresh.scalars(select(WorkspaceDB.slug).where(WorkspaceDB.slug == "written"))
        assert list(slugs) == ["written"]  # written once, by the worker thread


def test_postgresql_keeps_its_reads_in_worker_threads(app: FastAPI, engine: Engine) -> None:
    if engine.dialect.name == "sqlite":
        assert isinstance(app.state.loop_reader, LoopReader)
    else:
        assert app.state.loop_reader is None


def test_only_a_sync_get_route_can_be_a_short_read() -> None:
    router = APIRouter(route_class=ServiceRoute)

    def change(principal: Viewer) -> dict[str, str]:
        return {}

    with pytest.raises(TypeError, match="only a sync GET route"):
        router.add_api_route("/x", short_read(change), methods=["POST"])

    async def read(principal: Viewer) -> dict[str, str]:
        return {}

    with pytest.raises(TypeError, match="only a sync GET route"):
        router.add_api_route("/y", short_read(read), methods=["GET"])


def test_the_reader_connection_refuses_writes_and_memory_gets_none(engine: Engine) -> None:
    assert sqlite_reader(make_engine("sqlite://")) is None
    reader = sqlite_reader(engine)
    if engine.dialect.name != "sqlite":
        assert reader is None
        return
    assert reader is not None
    try:
        with reader.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM workspaces")).scalar_one() >= 1
            with pytest.raises(OperationalError, match="readonly"):
                conn.execute(text("UPDATE workspaces SET name = name"))
    finally:
        reader.dispose()
