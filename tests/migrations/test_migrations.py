"""Migrations: upgrade from empty, downgrade, upgrade again; and they equal the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from aicmo.cam.db_models import Base
from aicmo.db import migrate
from aicmo.db.engine import make_engine
from tests.conftest import PG_SKIP, pg_base_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
        yield eng
        eng.dispose()
        return
    base = pg_base_url()
    if base is None:
        pytest.skip(PG_SKIP)
    schema = f"aicmo_mig_{uuid.uuid4().hex[:10]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    eng = make_engine(f"{base}{sep}options=-csearch_path%3D{schema}")
    try:
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    assert tables(empty_engine) == set(Base.metadata.tables)
    assert migrate.is_up_to_date(empty_engine)
    migrate.downgrade(empty_engine, "base")
    assert tables(empty_engine) == set()
    migrate.upgrade(empty_engine)
    assert tables(empty_engine) == set(Base.metadata.tables)
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT slug FROM workspaces")).scalar_one() == "default"


def test_migrations_equal_the_models(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )
    assert diff == []
