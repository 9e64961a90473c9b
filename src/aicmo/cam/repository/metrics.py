"""The daily rollups (metrics_daily): bumped as events land, summed for reports, and
rebuilt from the events table on request.

Every statement here goes by the table's primary key (workspace, day, campaign, step,
variant, mailbox, channel); only the rebuild's :func:`counted_events` reads the events
table, one range of days at a time.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Row, Select, Table, bindparam, delete, func, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aicmo.cam.db_models import EventDB, MetricsDailyDB, WorkspaceDB
from aicmo.cam.domain.rollups import COUNTED_TYPES, COUNTERS

#: A rollup row's key: workspace, day, campaign, step, variant, mailbox, channel (the
#: ``*_key`` columns' "none" values: 0, -1, '', 0).
RollupKey = tuple[int, date, int, int, str, int, str]
_KEY_COLUMNS = (
    "workspace_id",
    "day",
    "campaign_key",
    "step_key",
    "variant_key",
    "mailbox_key",
    "channel",
)


def rollup_key(
    workspace_id: int,
    day: date,
    channel: str,
    campaign_id: int | None,
    step_index: int | None,
    variant: str | None,
    mailbox_id: int | None,
) -> RollupKey:
    """The primary key of the row an event counts in (as :func:`bump_metric` writes it)."""
    return (
        workspace_id,
        day,
        campaign_id or 0,
        step_index if step_index is not None else -1,
        variant or "",
        mailbox_id or 0,
        channel,
    )


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
    key = rollup_key(workspace_id, day, channel, campaign_id, step_index, variant, mailbox_id)
    db.execute(
        _metric_upsert(db.get_bind().dialect.name, column),
        {**dict(zip(_KEY_COLUMNS, key, strict=True)), "by": by},
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


def _totals_statement(per_campaign: bool) -> Select[Any]:
    table = cast(Table, MetricsDailyDB.__table__)
    sums = [func.coalesce(func.sum(table.c[c]), 0).label(c) for c in COUNTERS]
    stmt = select(table.c.channel, *sums).where(
        table.c.workspace_id == bindparam("workspace_id"), table.c.day >= bindparam("since")
    )
    if per_campaign:
        stmt = stmt.where(table.c.campaign_key == bindparam("campaign_id"))
    return stmt.group_by(table.c.channel)


#: Built once: the metrics read on every dashboard view and API call, and building this
#: statement of 13 sums (and its cache key) cost more than running it.
_TOTALS = {per_campaign: _totals_statement(per_campaign) for per_campaign in (False, True)}


def metric_totals(
    db: Session, workspace_id: int, *, since: date, campaign_id: int | None
) -> dict[str, dict[str, int]]:
    """Counter sums per channel since a day (primary-key range scan)."""
    params = {"workspace_id": workspace_id, "since": since, "campaign_id": campaign_id}
    rows = db.connection().execute(_TOTALS[campaign_id is not None], params).mappings()
    return {row["channel"]: {c: int(row[c]) for c in COUNTERS} for row in rows}


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


def step_totals(
    db: Session, workspace_id: int, *, since: date, campaign_id: int
) -> list[dict[str, Any]]:
    """Counter sums per (step, channel) of one campaign since a day (primary-key range:
    workspace, then the day range; the campaign filtered on those rows)."""
    table = cast(Table, MetricsDailyDB.__table__)
    sums = [func.coalesce(func.sum(table.c[c]), 0).label(c) for c in COUNTERS]
    stmt = (
        select(table.c.step_key, table.c.channel, *sums)
        .where(
            table.c.workspace_id == workspace_id,
            table.c.day >= since,
            table.c.campaign_key == campaign_id,
        )
        .group_by(table.c.step_key, table.c.channel)
        .order_by(table.c.step_key, table.c.channel)
    )
    return [
        {
            "step_key": int(r["step_key"]),
            "channel": r["channel"],
            **{c: int(r[c]) for c in COUNTERS},
        }
        for r in db.execute(stmt).mappings()
    ]


# -- the rebuild ---------------------------------------------------------------------


def lock_rollups(db: Session) -> None:
    """Hold off every writer of the rollups until the caller's transaction ends.

    PostgreSQL: ``SHARE ROW EXCLUSIVE`` on metrics_daily conflicts with the ``ROW
    EXCLUSIVE`` lock that every bump (an upsert) takes, and with itself, so no event that
    counts can be committed while the lock is held (its bump waits). SQLite: nothing to
    do, the caller's transaction already holds the database's write lock (BEGIN
    IMMEDIATE).
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("LOCK TABLE metrics_daily IN SHARE ROW EXCLUSIVE MODE"))


def delete_rollups(db: Session, *, first: date, last: date, workspace_id: int | None) -> int:
    """Delete the rollup rows of the days ``first``..``last`` (primary key: workspace, day;
    without a workspace, a scan of the table's day column per workspace prefix)."""
    table = cast(Table, MetricsDailyDB.__table__)
    stmt = delete(table).where(table.c.day >= first, table.c.day <= last)
    if workspace_id is not None:
        stmt = stmt.where(table.c.workspace_id == workspace_id)
    else:
        stmt = stmt.where(table.c.workspace_id.in_(select(WorkspaceDB.id)))
    return int(getattr(db.execute(stmt), "rowcount", 0) or 0)


def counted_events(
    db: Session,
    *,
    start: datetime,
    end: datetime,
    workspace_id: int | None,
    chunk: int = 5000,
) -> Iterator[Row[Any]]:
    """The events that can change a counter, with ``start <= occurred_at < end``, streamed
    ``chunk`` rows at a time (a server-side cursor on PostgreSQL), never all in memory.

    One range of ix_events_workspace_occurred per workspace (the IN list keeps the index
    usable); type and channel are filtered on those rows. Each row: workspace_id,
    occurred_at, type, channel, campaign_id, step_index, variant, mailbox_id, detail.
    """
    stmt = select(
        EventDB.workspace_id,
        EventDB.occurred_at,
        EventDB.type,
        EventDB.channel,
        EventDB.campaign_id,
        EventDB.step_index,
        EventDB.variant,
        EventDB.mailbox_id,
        EventDB.detail,
    ).where(
        EventDB.occurred_at >= start,
        EventDB.occurred_at < end,
        EventDB.type.in_(sorted(COUNTED_TYPES)),
        EventDB.channel.is_not(None),
    )
    if workspace_id is not None:
        stmt = stmt.where(EventDB.workspace_id == workspace_id)
    else:
        stmt = stmt.where(EventDB.workspace_id.in_(select(WorkspaceDB.id)))
    yield from db.execute(stmt.execution_options(yield_per=chunk))


def insert_rollups(db: Session, rows: Mapping[RollupKey, Mapping[str, int]]) -> int:
    """Insert recomputed rollup rows (after :func:`delete_rollups` of their days), in
    batches of one multi-row INSERT; how many."""
    table = cast(Table, MetricsDailyDB.__table__)
    payload = [
        {
            **dict(zip(_KEY_COLUMNS, key, strict=True)),
            **{c: int(counts.get(c, 0)) for c in COUNTERS},
        }
        for key, counts in rows.items()
    ]
    for i in range(0, len(payload), 1000):
        db.execute(insert(table), payload[i : i + 1000])
    return len(payload)


def first_event_time(db: Session, workspace_id: int | None) -> datetime | None:
    """When the oldest event happened (ix_events_workspace_occurred: one index probe per
    workspace)."""
    stmt = select(func.min(EventDB.occurred_at))
    if workspace_id is not None:
        stmt = stmt.where(EventDB.workspace_id == workspace_id)
    else:
        stmt = stmt.where(EventDB.workspace_id.in_(select(WorkspaceDB.id)))
    return cast(datetime | None, db.scalar(stmt))


def rollup_rows(
    db: Session, *, first: date, last: date, workspace_id: int | None
) -> dict[RollupKey, dict[str, int]]:
    """Every rollup row of the days ``first``..``last`` with its non-zero counters, rows
    whose counters are all zero left out (primary-key range), for comparing two
    computations row for row."""
    table = cast(Table, MetricsDailyDB.__table__)
    stmt = select(table).where(table.c.day >= first, table.c.day <= last)
    if workspace_id is not None:
        stmt = stmt.where(table.c.workspace_id == workspace_id)
    out: dict[RollupKey, dict[str, int]] = {}
    for r in db.execute(stmt).mappings():
        key = cast(RollupKey, tuple(r[k] for k in _KEY_COLUMNS))
        counts = {c: int(r[c]) for c in COUNTERS if r[c]}
        if counts:
            out[key] = counts
    return out
