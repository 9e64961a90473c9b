"""The served dashboard on a fresh SQLite database with an admin (see tests/dashboard.py)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from aicmo.config import get_settings
from aicmo.db.connect import make_engine, session_factory
from aicmo.operator_services import accounts
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults
from aicmo.web.app import create_app
from tests.dashboard import ADMIN_EMAIL, ADMIN_PASSWORD, Site
from tests.http_server import serve


@pytest.fixture
def site(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    path = tmp_path / "dashboard.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("AICMO_DATABASE_URL", url)
    monkeypatch.setenv("AICMO_OUTBOX_DIR", str(tmp_path / "outbox"))
    get_settings.cache_clear()
    engine = make_engine(url)
    sessions = session_factory(engine)
    with sessions() as db:
        ensure_workspace_defaults(db)
        accounts.add_user(db, ADMIN_EMAIL, ADMIN_PASSWORD, role="admin", workspace_id=1)
    try:
        with serve(create_app()) as base:
            yield Site(base=base, sessions=sessions)
    finally:
        engine.dispose()
