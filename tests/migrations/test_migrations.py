"""Migrations: upgrade from empty, downgrade, upgrade again; and they equal the models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DatabaseError

from aicmo.cam.db_models import Base
from aicmo.db import migrate
from aicmo.db.connect import make_engine
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


#: Indexes on ``expr COLLATE "C"``: SQLAlchemy reflects their expressions without the
#: collation, so the comparison would always see a difference; they are checked below.
BYTE_ORDER_INDEXES = {
    f"ix_leads_search_{c}" for c in ("email", "first_name", "last_name", "company")
}


def _compared(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    return not (type_ == "index" and name in BYTE_ORDER_INDEXES)


def test_migrations_equal_the_models(empty_engine: Engine) -> None:
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _compared}
            ),
            Base.metadata,
        )
    assert diff == []


def test_search_indexes_are_in_byte_order(empty_engine: Engine) -> None:
    """The search indexes are on lower(column), in code point order on PostgreSQL (the
    prefix ranges of repository.leads.search_condition are only exact in that order)."""
    migrate.upgrade(empty_engine)
    pg = empty_engine.dialect.name == "postgresql"
    sql = (
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'leads'"
        if pg
        else "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'leads'"
    )
    with empty_engine.connect() as conn:
        found = {name: ddl for name, ddl in conn.execute(text(sql)) if name in BYTE_ORDER_INDEXES}
    assert set(found) == BYTE_ORDER_INDEXES
    for name, ddl in found.items():
        column = name.removeprefix("ix_leads_search_")
        if pg:
            assert f'lower(({column})::text) COLLATE "C"' in ddl, ddl
        else:
            assert f"lower({column})" in ddl, ddl


def test_rebuilding_a_table_keeps_the_rows_that_point_at_it(empty_engine: Engine) -> None:
    """0004 rebuilds outreach_messages on SQLite; events and inbound mail keep their links."""
    migrate.upgrade(empty_engine, "0003")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO leads (id, workspace_id, email, email_key, stage, source,"
                " custom_fields, grade_reasons, created_at, updated_at)"
                " VALUES (1, 1, 'a@b.example', 'a@b.example', 'NEW', 'test', '{}', '[]',"
                " '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO outreach_messages (id, workspace_id, lead_id, channel,"
                " message_type, status, idempotency_key, retry_count, created_at, updated_at)"
                " VALUES (7, 1, 1, 'EMAIL', 'cold_outreach', 'SENT', 'k1', 0,"
                " '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO inbound_messages (workspace_id, message_key, kind, received_at,"
                " attempt_id, lead_id) VALUES (1, '<m@x>', 'REPLY',"
                " '2026-01-02 00:00:00+00:00', 7, 1)"
            )
        )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT attempt_id FROM inbound_messages")).scalar_one() == 7
        assert conn.execute(text("SELECT status FROM outreach_messages")).scalar_one() == "SENT"


def test_events_take_their_attempts_rollup_keys_and_the_keys_are_immutable(
    empty_engine: Engine,
) -> None:
    """0011: an event of an attempt gets the attempt's step and mailbox (where the
    incremental path counted it), then the keys join the append-only trigger."""
    migrate.upgrade(empty_engine, "0009")
    with empty_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO outreach_messages (id, workspace_id, channel, step_index,"
                " message_type, status, idempotency_key, retry_count, created_at, updated_at)"
                " VALUES (7, 1, 'EMAIL', 2, 'cold_outreach', 'SENT', 'k1', 0,"
                " '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00')"
            )
        )
        for event_id, message_id in ((1, 7), (2, None)):
            conn.execute(
                text(
                    "INSERT INTO events (id, workspace_id, type, occurred_at, recorded_at,"
                    " channel, source, message_id, detail) VALUES (:id, 1, 'MESSAGE_SENT',"
                    " '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00', 'EMAIL',"
                    " 'smtp', :m, '{}')"
                ),
                {"id": event_id, "m": message_id},
            )
    migrate.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        rows = conn.execute(text("SELECT id, step_index FROM events ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [(1, 2), (2, None)]
    with pytest.raises(DatabaseError, match="append-only"), empty_engine.begin() as conn:
        conn.execute(text("UPDATE events SET step_index = 5 WHERE id = 1"))
