"""Cursors: the sort key of the last row a page returned, opaque to the client.

Keyset pagination reads on from where the last page ended (see
``repository.common.keyset_after``): no page skips or repeats a row while others are
added, and page 1,000 costs what page 1 does. The cursor is base64url JSON of the key's
values; it is not a secret (every value in it was in the page), only checked for shape.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query

from aicmo.errors import ValidationError

MAX_LIMIT = 500
#: Longest cursor read: the largest sort key this API pages by encodes well under it.
MAX_CURSOR = 512

#: ``?limit=`` and ``?cursor=`` of every paged list, declared once so their bounds agree
#: everywhere (each route sets its own default limit).
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=MAX_CURSOR)]


def encode_cursor(values: Sequence[Any]) -> str:
    packed = [{"t": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(packed, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str | None, shape: Sequence[type]) -> tuple[Any, ...] | None:
    """The values of a cursor, each of the type ``shape`` names (None where allowed)."""
    if not text:
        return None
    bad = ValidationError("the cursor is not valid; start again without one", field="cursor")
    if len(text) > MAX_CURSOR:
        raise bad
    try:
        values = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(values, list) or len(values) != len(shape):
        raise bad
    out: list[Any] = []
    for value, kind in zip(values, shape, strict=True):
        if kind is datetime:
            if not (isinstance(value, dict) and isinstance(value.get("t"), str)):
                raise bad
            try:
                out.append(datetime.fromisoformat(value["t"]))
            except ValueError:
                raise bad from None
        elif value is None or (kind is int and type(value) is int):
            out.append(value)
        else:
            raise bad
    return tuple(out)


def page_of(
    rows: list[dict[str, Any]], limit: int, key: Callable[[dict[str, Any]], Sequence[Any]]
) -> dict[str, Any]:
    """A page from ``limit + 1`` rows fetched: the extra row only says there is more, and
    ``key`` gives the sort key of the page's last row, which the next page starts after."""
    items = rows[:limit]
    more = len(rows) > limit and bool(items)
    return {"items": items, "next_cursor": encode_cursor(key(items[-1])) if more else None}
