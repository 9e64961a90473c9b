"""Composition root: settings → engine → migrated database → sessions.

Entry points (CLI, worker, web) and the seed's no-argument constructors get their
database here, created and migrated on first use.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aicmo.config import Settings, get_settings
from aicmo.db import migrate
from aicmo.db.connect import get_engine, session_factory
from aicmo.errors import ConfigurationError
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults


def engine_for(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    return get_engine(settings.resolved_database_url)


def initialize(settings: Settings | None = None, engine: Engine | None = None) -> dict[str, Any]:
    """Create the data dir and key, migrate to head, create workspace defaults."""
    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key_path = settings.ensure_secret_key()
    engine = engine or engine_for(settings)
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    with session_factory(engine)() as db:
        created = ensure_workspace_defaults(db)
    return {
        "database_url": engine.url.render_as_string(hide_password=True),
        "revision_before": before,
        "revision": migrate.current_revision(engine),
        "secret_key_written": str(key_path) if key_path else None,
        "created": created,
    }


def ensure_ready(engine: Engine, settings: Settings | None = None) -> None:
    """Initialise a brand-new database; refuse to run on an outdated schema."""
    current = migrate.current_revision(engine)
    if current is None:
        initialize(settings, engine)
        return
    head = migrate.head_revision()
    if current != head:
        raise ConfigurationError(
            f"the database schema is at revision {current} but this aicmo expects {head}: "
            "run `aicmo db upgrade` (back up the database first)"
        )


@contextmanager
def open_session(settings: Settings | None = None) -> Iterator[Session]:
    """A session on the configured database, initialised on first use."""
    engine = engine_for(settings)
    ensure_ready(engine, settings)
    with session_factory(engine)() as db:
        yield db
