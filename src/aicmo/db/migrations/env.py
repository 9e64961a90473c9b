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
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
