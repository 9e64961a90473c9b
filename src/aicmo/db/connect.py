"""Engines and sessions for the embedded default (SQLite, WAL) and PostgreSQL.

The engine is made on first use, never at import. SQLite gets WAL, foreign keys and a
busy timeout, and its transactions are started by us (``BEGIN``) so that SQLAlchemy's
transaction boundaries are real ones.

SQLite also gets ``secure_delete``: what a statement deletes or overwrites is zeroed in
the page, not left in the file's free space, so an erased person is gone from the pages
that are written. Those pages reach the database file at a checkpoint; until then the
WAL holds the older versions too, which is why an erasure ends with
:func:`truncate_wal`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from aicmo.errors import ConfigurationError

_lock = threading.Lock()
_engines: dict[str, Engine] = {}


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` (driven by psycopg 3) and ``sqlite:///path``."""
    try:
        parsed = make_url(url)
    except Exception as err:
        raise ConfigurationError(f"AICMO_DATABASE_URL is not a database URL: {err}") from err
    backend = parsed.get_backend_name()
    if backend in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif backend != "sqlite":
        raise ConfigurationError(
            f"unsupported database {backend!r}: use sqlite:///PATH or postgresql://…"
        )
    return parsed.render_as_string(hide_password=False)


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, open transactions (pysqlite's implicit BEGIN
        # skips SELECTs, which breaks repeatable claims).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA cache_size=-65536")
        cur.execute("PRAGMA secure_delete=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "")
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


#: What SQLite keeps beside a database file (each made with the database file's mode).
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def _create_private(path: Path) -> None:
    """Create a missing SQLite file (and its folder) for the owner only: 0600 (0700).

    SQLite would create it 0644 (less the umask), readable by every local user, and
    gives its WAL and shared-memory files the database file's mode: made 0600 here, all
    three stay private. An existing file keeps its mode (see :func:`make_private`).
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.close(fd)


def make_private(url: str) -> list[Path]:
    """Make an existing SQLite database and its side files owner-only (0600); the files
    changed. Nothing to do for PostgreSQL or an in-memory database."""
    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return []
    base = Path(str(parsed.database)).expanduser()
    changed: list[Path] = []
    for path in (base, *(base.with_name(base.name + side) for side in SQLITE_SIDE_FILES)):
        try:
            mode = path.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(path, mode & 0o700)
            changed.append(path)
    return changed


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A new engine for the URL (SQLite file's folder created when missing)."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _create_private(Path(parsed.database).expanduser())
        engine = create_engine(url, **kwargs)
        _sqlite_setup(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    engine = create_engine(url, **kwargs)
    _postgresql_setup(engine)
    return engine


def _postgresql_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Plan every statement for the values it is given. The driver prepares statements
        # it runs often, and after five runs the server may switch to one generic plan:
        # for "id = ANY($1)" over a batch's 500 ids that was a sequential scan, once the
        # table had grown (a batch's planning went from 10 ms to 400).
        with dbapi_conn.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
        dbapi_conn.commit()


def truncate_wal(engine: Engine) -> bool | None:
    """Copy SQLite's WAL into the database file and cut the WAL to zero bytes.

    After an erasure, the WAL still holds earlier versions of the pages it rewrote (and
    the database file holds them until a checkpoint): ``PRAGMA wal_checkpoint(TRUNCATE)``
    waits for readers (up to the busy timeout), writes the current pages back and
    empties the WAL. While ``serve`` or ``worker`` keep the database open, nobody's last
    close does this on our behalf.

    Returns:
        ``True`` when the WAL was emptied, ``False`` when a reader kept it busy for the
        whole busy timeout, ``None`` on databases without a WAL file (PostgreSQL).
    """
    if engine.dialect.name != "sqlite":
        return None
    # The driver's own connection: a checkpoint inside a transaction could not finish.
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        try:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            row = cursor.fetchone()
        finally:
            cursor.close()
    finally:
        raw.close()
    return row is not None and row[0] == 0


def sqlite_reader(engine: Engine, *, busy_timeout_ms: int = 100) -> Engine | None:
    """One read-only connection to the same SQLite file as ``engine``, for reads that
    must never wait for a lock; None for PostgreSQL or an in-memory database.

    ``query_only`` makes SQLite refuse a write at once (SQLITE_READONLY) instead of
    taking, or waiting for, the write lock. In WAL mode a read does not wait for the
    writer; the short busy timeout covers the rare moments it would (the recovery of a
    WAL after a crash), and the caller then does the read elsewhere.
    """
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    reader = make_engine(
        engine.url.render_as_string(hide_password=False),
        poolclass=StaticPool,
        connect_args={"check_same_thread": False},
    )

    @event.listens_for(reader, "connect")
    def _read_only(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA query_only=ON")
        cur.close()

    return reader


def get_engine(url: str) -> Engine:
    """The process-wide engine for this URL."""
    key = normalize_url(url)
    with _lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = make_engine(key)
        return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A session that is closed on exit; services commit, errors roll back."""
    session = session_factory(engine)()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
