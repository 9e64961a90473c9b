"""Composition root: settings → engine → migrated database → sessions.

Entry points (CLI, worker, web) and the seed's no-argument constructors get their
database here, created and migrated on first use.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from aicmo.config import Settings, get_settings
from aicmo.db import migrate
from aicmo.db.connect import get_engine, make_private, session_factory
from aicmo.errors import ConfigurationError
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults


def engine_for(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    return get_engine(settings.resolved_database_url)


def initialize(settings: Settings | None = None, engine: Engine | None = None) -> dict[str, Any]:
    """Create the data dir (0700) and key, migrate to head, create workspace defaults;
    an existing SQLite database and its side files are made owner-only (0600)."""
    settings = settings or get_settings()
    data_dir_note = make_data_dir_private(settings.data_dir)
    key_path = settings.ensure_secret_key()
    engine = engine or engine_for(settings)
    tightened = make_private(settings.resolved_database_url)
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
        "made_private": [str(p) for p in tightened],
        "data_dir_note": data_dir_note,
    }


#: What aicmo keeps in its data dir: a folder holding nothing else is ours to tighten.
_OWN_ENTRIES = frozenset(
    {"aicmo.db", "aicmo.db-wal", "aicmo.db-shm", "aicmo.db-journal", "secret.key", "outbox", "demo"}
)


def make_data_dir_private(path: Path) -> str | None:
    """Create the data dir for the owner only (0700), or tighten an existing one that
    holds only aicmo's files. Returns None, or a note saying why a folder other users can
    read was left as it is (AICMO_DATA_DIR may name a folder that holds other things)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777
    if not mode & 0o077:
        return None
    entries = {entry.name for entry in path.iterdir()}
    if path.stat().st_uid != os.getuid() or not entries <= _OWN_ENTRIES:
        return (
            f"the data dir {path} can be read by other users (mode {mode:o}) and holds other "
            f"files, so it was left as it is; `chmod 700 {path}` keeps the leads private"
        )
    os.chmod(path, 0o700)
    return None


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
