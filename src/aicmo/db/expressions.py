"""SQL expressions written once and rendered for each database, so that an index and
the queries meant to use it say exactly the same thing on SQLite and PostgreSQL.

- :class:`byte_order`: text compared by code point (UTF-8 byte order). A prefix search
  is a range ``key >= 'abc' AND key < 'abc' || U+10FFFF``, and only under byte order is
  every string that starts with ``abc`` inside that range. SQLite compares text that way
  already; PostgreSQL compares under the database's collation (often a linguistic one,
  ``en_US.UTF-8``) unless told ``COLLATE "C"``.
- :class:`desc_nulls_last`: a descending index column whose NULLs come last, the order
  of "best score first". SQLite puts NULLs last in a descending order by itself (and
  refuses ``NULLS LAST`` in an index); PostgreSQL puts them first unless told.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class byte_order(FunctionElement[str]):
    """``expr`` compared and indexed in code point order."""

    name = "byte_order"
    type = String()
    inherit_cache = True


@compiles(byte_order)
def _byte_order(element: byte_order, compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(byte_order, "postgresql")
def _byte_order_pg(element: byte_order, compiler: SQLCompiler, **kw: Any) -> str:
    return f'{compiler.process(element.clauses, **kw)} COLLATE "C"'


class desc_nulls_last(FunctionElement[Any]):
    """An index column in ``ORDER BY expr DESC NULLS LAST`` order."""

    name = "desc_nulls_last"
    inherit_cache = True


@compiles(desc_nulls_last)
def _desc_nulls_last(element: desc_nulls_last, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.clauses, **kw)} DESC"


@compiles(desc_nulls_last, "postgresql")
def _desc_nulls_last_pg(element: desc_nulls_last, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{compiler.process(element.clauses, **kw)} DESC NULLS LAST"
