"""A throwaway PostgreSQL schema for one benchmark case (created, then dropped)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from aicmo.db.connect import make_engine


@contextmanager
def pg_schema(base: str, prefix: str = "aicmo_bench") -> Iterator[str]:
    """Yield a URL whose connections use a fresh schema on the server at ``base``."""
    schema = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    try:
        yield f"{base}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
