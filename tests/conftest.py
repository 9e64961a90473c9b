"""Database fixtures: every service test runs on SQLite, and on PostgreSQL when
AICMO_TEST_DATABASE_URL is set (a set but unreachable URL fails the run)."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from aicmo.cam.db_models import Base
from aicmo.config import get_settings
from aicmo.db import migrate
from aicmo.db.connect import dispose_engines, make_engine, session_factory
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults
from tests.browser import launch_chromium

PG_ENV = "AICMO_TEST_DATABASE_URL"
PG_SKIP = f"PostgreSQL tests need {PG_ENV} (e.g. postgresql://postgres@127.0.0.1:5432/test)"


def pg_base_url() -> str | None:
    return os.environ.get(PG_ENV) or None


@pytest.fixture(autouse=True)
def _no_carried_pace(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test's first batch times its first chunk (none inherits another's pace)."""
    from aicmo.operator_services.engine import pipeline

    monkeypatch.setattr(pipeline, "_pace", None)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads or writes the user's real data dir or database."""
    for name in list(os.environ):
        if name.startswith("AICMO_") and name != PG_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("AICMO_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("AICMO_SECRET_KEY", "test-only-secret-key-not-for-production-use")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
    dispose_engines()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (migrating once is faster)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    """A fresh schema on the PostgreSQL server, migrated once, dropped at the end."""
    base = pg_base_url()
    if base is None:
        pytest.skip(PG_SKIP)
    schema = f"aicmo_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:  # fails loudly when the server is unreachable
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _reset_pg(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        conn.execute(
            text(
                "INSERT INTO workspaces (id, slug, name, hash_salt, created_at) "
                "VALUES (1, 'default', 'Default workspace', md5(random()::text), now())"
            )
        )
        conn.execute(text("SELECT setval(pg_get_serial_sequence('workspaces', 'id'), 1)"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated, empty database with the default workspace (SQLite and PostgreSQL)."""
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "aicmo.db"
        shutil.copy(template, path)
        eng = make_engine(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("pg_schema_url")
        eng = make_engine(url)
        _reset_pg(eng)
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def db(engine: Engine) -> Iterator[Session]:
    """A session on a database with the workspace defaults (channels, sequence, ICP)."""
    with session_factory(engine)() as session:
        ensure_workspace_defaults(session)
        yield session


@pytest.fixture
def db_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the whole session (skips or fails as tests/browser.py says)."""
    with launch_chromium() as chromium:
        yield chromium
