"""The daily rollups (metrics_daily): bumped as events land, summed for reports.

Every statement here goes by the table's primary key (workspace, day, campaign, step,
variant, mailbox, channel); nothing scans the events table.
"""

from __future__ import annotations

import functools
from datetime import date
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aicmo.cam.db_models import METRIC_COLUMNS, MetricsDailyDB


def bump_metric(
    db: Session,
    *,
    workspace_id: int,
    day: date,
    channel: str,
    column: str,
    campaign_id: int | None,
    step_index: int | None,
    variant: str | None,
    mailbox_id: int | None,
    by: int = 1,
) -> None:
    """Upsert one rollup row: primary key lookup, row lock on PostgreSQL."""
    db.execute(
        _metric_upsert(db.get_bind().dialect.name, column),
        {
            "workspace_id": workspace_id,
            "day": day,
            "campaign_key": campaign_id or 0,
            "step_key": step_index if step_index is not None else -1,
            "variant_key": variant or "",
            "mailbox_key": mailbox_id or 0,
            "channel": channel,
            "by": by,
        },
    )


@functools.lru_cache(maxsize=64)
def _metric_upsert(dialect: str, column: str) -> Any:
    """The upsert for one counter, built once (it runs for every group of sends)."""
    table = cast(Table, MetricsDailyDB.__table__)
    keys = ("workspace_id", "day", "campaign_key", "step_key", "variant_key", "mailbox_key")
    values: dict[str, Any] = {key: bindparam(key) for key in (*keys, "channel")}
    values[column] = bindparam("by")
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table).values(**values)
    return stmt.on_conflict_do_update(
        index_elements=[*keys, "channel"],
        set_={column: getattr(table.c, column) + bindparam("by")},
    )


def variant_daily_counts(
    db: Session,
    workspace_id: int,
    campaign_id: int,
    *,
    since: date,
    columns: tuple[str, ...],
) -> list[tuple[date, int, str, dict[str, int]]]:
    """A campaign's counters per (day, step, variant), all channels and mailboxes summed,
    from ``since`` on (the campaign's start): a primary-key range scan on (workspace_id,
    day), the other campaigns' rows filtered out on the way.

    Returns ``(day, step_key, variant_key, {column: sum})`` ordered by day, step, variant.
    """
    table = cast(Table, MetricsDailyDB.__table__)
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"no rollup counter {unknown}")
    sums = [func.coalesce(func.sum(table.c[c]), 0).label(c) for c in columns]
    keys = (table.c.day, table.c.step_key, table.c.variant_key)
    stmt = (
        select(*keys, *sums)
        .where(
            table.c.workspace_id == workspace_id,
            table.c.day >= since,
            table.c.campaign_key == campaign_id,
        )
        .group_by(*keys)
        .order_by(*keys)
    )
    return [
        (m["day"], int(m["step_key"]), str(m["variant_key"]), {c: int(m[c]) for c in columns})
        for m in db.execute(stmt).mappings()
    ]


def metric_totals(
    db: Session, workspace_id: int, *, since: date, campaign_id: int | None
) -> dict[str, dict[str, int]]:
    """Counter sums per channel since a day (primary-key range scan)."""
    cols = sorted(set(METRIC_COLUMNS.values()))
    table = cast(Table, MetricsDailyDB.__table__)
    stmt = select(table.c.channel, *[func.coalesce(func.sum(table.c[c]), 0).label(c) for c in cols])
    stmt = stmt.where(table.c.workspace_id == workspace_id, table.c.day >= since)
    if campaign_id is not None:
        stmt = stmt.where(table.c.campaign_key == campaign_id)
    stmt = stmt.group_by(table.c.channel)
    out: dict[str, dict[str, int]] = {}
    for row in db.execute(stmt).mappings():
        out[row["channel"]] = {c: int(row[c]) for c in cols}
    return out


#: The key columns a breakdown may group by (a report's rows: per day, step, channel...).
BREAKDOWN_KEYS = ("day", "campaign_key", "step_key", "variant_key", "mailbox_key", "channel")


def metric_breakdown(
    db: Session,
    workspace_id: int,
    *,
    since: date,
    until: date,
    campaign_id: int | None,
    by: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Counter sums between two days (both included), one row per combination of the
    ``by`` key columns, in key order.

    A range of the primary key (workspace, day), the campaign filtered on the rows of the
    range: a report reads a few weeks of one workspace.

    Raises:
        ValueError: a ``by`` column that is not a key column (a programming error).
    """
    unknown = [key for key in by if key not in BREAKDOWN_KEYS]
    if unknown:
        raise ValueError(f"not a metrics_daily key column: {unknown}")
    table = cast(Table, MetricsDailyDB.__table__)
    cols = counter_columns()
    keys = [table.c[key] for key in by]
    stmt = select(*keys, *[func.coalesce(func.sum(table.c[c]), 0).label(c) for c in cols]).where(
        table.c.workspace_id == workspace_id, table.c.day >= since, table.c.day <= until
    )
    if campaign_id is not None:
        stmt = stmt.where(table.c.campaign_key == campaign_id)
    if keys:
        stmt = stmt.group_by(*keys).order_by(*keys)
    out: list[dict[str, Any]] = []
    for row in db.execute(stmt).mappings():
        if not keys and not any(row[c] for c in cols):
            continue  # an aggregate over no rows: nothing to report
        out.append({**{key: row[key] for key in by}, **{c: int(row[c]) for c in cols}})
    return out


def counter_columns() -> list[str]:
    """Every counter of metrics_daily (all its columns but the key), in table order."""
    table = cast(Table, MetricsDailyDB.__table__)
    return [c.name for c in table.c if c.name not in ("workspace_id", *BREAKDOWN_KEYS)]
