"""Many-row INSERTs and UPDATEs run straight on the driver's cursor, for the engine's hot
path (thousands of rows a second).

SQLAlchemy spends more time per row turning parameters into driver values than the
database spends storing them; here the SQL text is compiled once per table, columns and
dialect, each value goes through its column type's own bind processor (so the stored
form is exactly what SQLAlchemy would store), and values shared by all rows are processed
once.

On PostgreSQL a statement covers every row: the rows go as one array per column, which
``unnest`` turns back into rows (``INSERT … SELECT … FROM unnest(…)``, ``UPDATE … FROM
unnest(…)``), so the server plans and runs one statement instead of one per row, and the
driver sends a few arrays instead of a round of messages per row. Elsewhere (SQLite, in
process) ``executemany`` gets plain tuples.

No Python-side column defaults or ``onupdate`` values are applied: a column with one that
a statement leaves out is an error when the statement is compiled, not a silently
missing or stale value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ARRAY, ColumnElement, String, Table, Text, any_, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

_Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    processors: tuple[_Processor, ...]


def _placeholder(dialect: Dialect) -> str:
    style = dialect.paramstyle
    if style == "qmark":
        return "?"
    if style in ("format", "pyformat"):
        return "%s"
    raise NotImplementedError(f"bulk statements do not support the {style!r} paramstyle")


def _processor(table: Table, column: str, dialect: Dialect) -> _Processor:
    return table.c[column].type._cached_bind_processor(dialect)


def _check_defaults(table: Table, given: set[str], *, update: bool = False) -> None:
    missing = [
        c.name
        for c in table.columns
        if (c.onupdate if update else c.default) is not None
        and not c.primary_key
        and c.name not in given
    ]
    if missing:
        what = "update of" if update else "insert into"
        raise ValueError(f"bulk {what} {table.name} must give {', '.join(missing)}")


@functools.lru_cache(maxsize=64)
def _insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Compiled:
    _check_defaults(table, set(columns))
    mark = _placeholder(dialect)
    quote = dialect.identifier_preparer.quote
    # Only names from our own Table metadata, quoted by the dialect; values are
    # always parameters.
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(mark for _ in columns)})"
    )
    return _Compiled(sql, tuple(_processor(table, c, dialect) for c in columns))


@functools.lru_cache(maxsize=256)
def _insert_returning(
    table: Table, columns: tuple[str, ...], rows: int, returning: tuple[str, ...], dialect: Dialect
) -> _Compiled:
    """One multi-row INSERT … RETURNING: one statement for the server to run, and the new
    rows' keys without a second query."""
    single = _insert(table, columns, dialect)
    mark = _placeholder(dialect)
    quote = dialect.identifier_preparer.quote
    one = f"({', '.join(mark for _ in columns)})"
    head = single.sql.rpartition(" VALUES ")[0]
    sql = (
        f"{head} VALUES {', '.join(one for _ in range(rows))} "
        f"RETURNING {', '.join(quote(c) for c in returning)}"
    )
    return _Compiled(sql, single.processors)


@dataclass(frozen=True)
class _Arrays:
    """A PostgreSQL statement over arrays: ``scalars`` are the shared values' columns in
    the order their placeholders come, then one array per column of ``arrays``, then one
    per ``guards`` (its value repeated)."""

    sql: str
    scalars: tuple[tuple[str, _Processor], ...]
    arrays: tuple[tuple[str, _Processor], ...]
    guards: tuple[tuple[str, _Processor], ...] = ()


def _pg_type(table: Table, column: str, dialect: Dialect) -> str:
    """The column's type for an array cast, strings without a length: an explicit cast to
    ``VARCHAR(n)`` cuts a longer value short, where storing it must fail as it does for a
    plain INSERT."""
    type_ = table.c[column].type
    if isinstance(getattr(type_, "impl", type_), String):
        return "TEXT"
    return str(type_.compile(dialect=dialect))


@functools.lru_cache(maxsize=64)
def _pg_insert(
    table: Table,
    columns: tuple[str, ...],
    shared: frozenset[str],
    returning: tuple[str, ...],
    dialect: Dialect,
) -> _Arrays:
    _check_defaults(table, set(columns))
    quote = dialect.identifier_preparer.quote
    own = [c for c in columns if c not in shared]
    picked = ", ".join(
        f"%s::{_pg_type(table, c, dialect)}" if c in shared else f"_rows.{quote(c)}"
        for c in columns
    )
    # Only names from our own Table metadata, quoted by the dialect; values are
    # always parameters.
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"SELECT {picked} FROM unnest("
        f"{', '.join(f'%s::{_pg_type(table, c, dialect)}[]' for c in own)}"
        f") AS _rows({', '.join(quote(c) for c in own)})"
    )
    if returning:
        sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
    return _Arrays(
        sql,
        tuple((c, _processor(table, c, dialect)) for c in columns if c in shared),
        tuple((c, _processor(table, c, dialect)) for c in own),
    )


@functools.lru_cache(maxsize=64)
def _pg_update(
    table: Table,
    columns: tuple[str, ...],
    shared: frozenset[str],
    key: str,
    guards: tuple[str, ...],
    dialect: Dialect,
) -> _Arrays:
    _check_defaults(table, set(columns), update=True)
    quote = dialect.identifier_preparer.quote
    own = [key, *(c for c in columns if c not in shared)]
    sets = ", ".join(
        f"{quote(c)} = %s::{_pg_type(table, c, dialect)}"
        if c in shared
        else f"{quote(c)} = _rows.{quote(c)}"
        for c in columns
    )
    name = quote(table.name)
    # A guard is compared with a column of the unnested rows too, not with a constant: a
    # constant would let the planner scan an index on the guarded column (all of a fresh
    # import's leads are NEW, which stale statistics do not know) instead of looking each
    # row up by its key.
    checks = [(g, quote(f"_only_{g}")) for g in guards]
    where = " AND ".join(
        [
            f"{name}.{quote(key)} = _rows.{quote(key)}",
            *(f"{name}.{quote(g)} = _rows.{alias}" for g, alias in checks),
        ]
    )
    types = [_pg_type(table, c, dialect) for c in (*own, *guards)]
    sql = (
        f"UPDATE {name} SET {sets} FROM unnest("  # noqa: S608
        f"{', '.join(f'%s::{t}[]' for t in types)}"
        f") AS _rows({', '.join([*(quote(c) for c in own), *(a for _, a in checks)])}) "
        f"WHERE {where}"
    )
    return _Arrays(
        sql,
        tuple((c, _processor(table, c, dialect)) for c in columns if c in shared),
        tuple((c, _processor(table, c, dialect)) for c in own),
        tuple((g, _processor(table, g, dialect)) for g in guards),
    )


def _pg_params(
    compiled: _Arrays,
    shared: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    guards: Mapping[str, Any],
) -> list[Any]:
    def one(proc: _Processor, value: Any) -> Any:
        return proc(value) if proc is not None else value

    params: list[Any] = [one(proc, shared[name]) for name, proc in compiled.scalars]
    for name, proc in compiled.arrays:
        # None too: a JSON column stores it as JSON null, as SQLAlchemy does.
        if proc is None:
            params.append([row[name] for row in rows])
        else:
            params.append([proc(row[name]) for row in rows])
    params += [[one(proc, guards[name])] * len(rows) for name, proc in compiled.guards]
    return params


#: Bound values per statement at most (PostgreSQL allows 65,535, SQLite 32,766).
_MAX_PARAMS = 30_000


@functools.lru_cache(maxsize=64)
def _update(
    table: Table, columns: tuple[str, ...], key: str, guards: tuple[str, ...], dialect: Dialect
) -> _Compiled:
    _check_defaults(table, set(columns), update=True)
    mark = _placeholder(dialect)
    quote = dialect.identifier_preparer.quote
    sets = ", ".join(f"{quote(c)} = {mark}" for c in columns)
    where = " AND ".join(f"{quote(c)} = {mark}" for c in (key, *guards))
    sql = f"UPDATE {quote(table.name)} SET {sets} WHERE {where}"  # noqa: S608
    # The guards' values are the same for every row: bound by the caller, after these.
    return _Compiled(sql, tuple(_processor(table, c, dialect) for c in (*columns, key)))


def _rows(
    compiled: _Compiled,
    names: Sequence[str],
    shared: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
) -> list[tuple[Any, ...]]:
    # Shared values are processed once; each row's own values through their processor.
    fixed = {
        name: (proc(shared[name]) if proc else shared[name])
        for name, proc in zip(names, compiled.processors, strict=True)
        if name in shared
    }
    # Each row starts as a copy of the shared values; only its own are filled in (a
    # row with one value of its own among ten costs one step, not ten).
    template = [fixed.get(name) for name in names]
    own = [
        (i, name, proc)
        for i, (name, proc) in enumerate(zip(names, compiled.processors, strict=True))
        if name not in fixed
    ]
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = template.copy()
        for i, name, proc in own:
            raw = row[name]
            # None too: a JSON column stores it as JSON null, as SQLAlchemy does.
            values[i] = proc(raw) if proc is not None else raw
        out.append(tuple(values))
    return out


def among(column: Any, values: Iterable[Any], dialect: Dialect) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:values)``: one array parameter
    instead of one parameter per value, each of which SQLAlchemy would render and cast
    and the driver parse again for every batch (most of a batch's planning time)."""
    values = list(values)
    if dialect.name == "postgresql":
        # Strings as TEXT[]: a cast to VARCHAR(n)[] would cut longer values short, and a
        # value that does not fit the column would match on its prefix.
        item = Text() if isinstance(column.type, String) else column.type
        return cast(ColumnElement[bool], column == any_(bindparam(None, values, ARRAY(item))))
    return cast(ColumnElement[bool], column.in_(values))


def insert_rows(
    db: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    shared: Mapping[str, Any] | None = None,
) -> None:
    """INSERT ``rows`` (all with the same keys), plus the ``shared`` values in each."""
    if not rows:
        return
    shared = shared or {}
    columns = tuple(sorted({*rows[0], *shared}))
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        arrays = _pg_insert(table, columns, frozenset(shared), (), conn.dialect)
        conn.exec_driver_sql(arrays.sql, tuple(_pg_params(arrays, shared, rows, {})))
        return
    compiled = _insert(table, columns, conn.dialect)
    conn.exec_driver_sql(compiled.sql, _rows(compiled, columns, shared, rows))


def insert_new_rows(
    db: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    unique: Sequence[str],
    shared: Mapping[str, Any] | None = None,
) -> int:
    """:func:`insert_rows`, skipping each row whose ``unique`` columns (a unique
    constraint's) match a stored row (``ON CONFLICT (…) DO NOTHING``); returns how many
    rows were written. Run again after a crash, it writes only what is missing."""
    if not rows:
        return 0
    shared = shared or {}
    columns = tuple(sorted({*rows[0], *shared}))
    conn = db.connection()
    quote = conn.dialect.identifier_preparer.quote
    skip = f" ON CONFLICT ({', '.join(quote(c) for c in unique)}) DO NOTHING"
    if conn.dialect.name == "postgresql":
        arrays = _pg_insert(table, columns, frozenset(shared), (), conn.dialect)
        result = conn.exec_driver_sql(
            arrays.sql + skip, tuple(_pg_params(arrays, shared, rows, {}))
        )
    else:
        compiled = _insert(table, columns, conn.dialect)
        result = conn.exec_driver_sql(compiled.sql + skip, _rows(compiled, columns, shared, rows))
    # Rows skipped on a conflict are not counted (SQLite sums the changes of each row's
    # statement; PostgreSQL counts the rows its one statement inserted).
    return int(result.rowcount)


def insert_returning(
    db: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    returning: Sequence[str],
    *,
    shared: Mapping[str, Any] | None = None,
) -> list[tuple[Any, ...]]:
    """:func:`insert_rows`, giving back the ``returning`` columns of the new rows (in no
    promised order: return a unique column to match them up). Needs INSERT … RETURNING
    (PostgreSQL; SQLite 3.35 and later)."""
    if not rows:
        return []
    shared = shared or {}
    columns = tuple(sorted({*rows[0], *shared}))
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        arrays = _pg_insert(table, columns, frozenset(shared), tuple(returning), conn.dialect)
        params = tuple(_pg_params(arrays, shared, rows, {}))
        return [tuple(r) for r in conn.exec_driver_sql(arrays.sql, params)]
    if not conn.dialect.insert_returning:
        raise NotImplementedError("this database has no INSERT … RETURNING")
    per = max(1, _MAX_PARAMS // len(columns))
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), per):
        part = rows[start : start + per]
        compiled = _insert_returning(table, columns, len(part), tuple(returning), conn.dialect)
        flat = [v for row in _rows(compiled, columns, shared, part) for v in row]
        out.extend(tuple(r) for r in conn.exec_driver_sql(compiled.sql, tuple(flat)))
    return out


def update_rows(
    db: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    key: str = "id",
    shared: Mapping[str, Any] | None = None,
    only_if: Mapping[str, Any] | None = None,
) -> None:
    """UPDATE one row per entry of ``rows``, found by ``key`` (each at most once), and
    only where every column of ``only_if`` has that value: each entry's other values and
    the ``shared`` ones are set."""
    if not rows:
        return
    shared = shared or {}
    only_if = only_if or {}
    keys = [row[key] for row in rows]
    if len(set(keys)) != len(keys):
        raise ValueError(f"bulk update of {table.name}: a {key} appears twice")
    columns = tuple(sorted({*rows[0], *shared} - {key}))
    guards = tuple(sorted(only_if))
    conn = db.connection()
    if conn.dialect.name == "postgresql":
        arrays = _pg_update(table, columns, frozenset(shared), key, guards, conn.dialect)
        conn.exec_driver_sql(arrays.sql, tuple(_pg_params(arrays, shared, rows, only_if)))
        return
    compiled = _update(table, columns, key, guards, conn.dialect)
    tail = tuple(
        proc(only_if[g]) if (proc := _processor(table, g, conn.dialect)) else only_if[g]
        for g in guards
    )
    params = [values + tail for values in _rows(compiled, (*columns, key), shared, rows)]
    conn.exec_driver_sql(compiled.sql, params)


__all__ = ["among", "insert_new_rows", "insert_returning", "insert_rows", "update_rows"]
