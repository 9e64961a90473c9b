"""Alembic environment: runs against the engine handed in by aicmo.db.migrate."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from aicmo.cam.db_models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        raise RuntimeError("run migrations through `aicmo db upgrade`, which supplies the engine")
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite rebuilds a table to alter it (copy, drop, rename). With foreign keys
            # on, dropping the old table would fire ON DELETE actions on every row that
            # points at it (and trip the events table's append-only triggers). The
            # pragma only works outside a transaction.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            connection.commit()
            connection.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
            if problems:
                raise RuntimeError(f"the migration left broken references: {problems[:5]}")


run_migrations_online()
