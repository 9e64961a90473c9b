"""Statements on leads and what hangs off them (tags, notes).

The import's hot path lives here too: key lookups on the unique indexes and the bulk
insert. Index notes are in each docstring.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Select, Table, and_, func, insert, or_, select, text
from sqlalchemy.orm import Session, selectinload

from aicmo.cam.db_models import LeadDB, LeadNoteDB, LeadTagDB
from aicmo.cam.domain.lead_fields import IMPORTED_COLUMNS
from aicmo.cam.repository.common import dialect_insert
from aicmo.db.types import UTCDateTime

#: Columns the import reads back to decide what changed.
LEAD_IMPORT_COLUMNS = ("id", *IMPORTED_COLUMNS)


def leads_by_keys(
    db: Session, workspace_id: int, email_keys: Iterable[str], linkedin_keys: Iterable[str]
) -> list[dict[str, Any]]:
    """Existing leads matching any key.

    Two queries, not one with OR: each uses its unique index (uq_leads_workspace_email,
    uq_leads_workspace_linkedin); SQLite plans an OR of two INs as a workspace scan,
    which made every import batch cost as much as the table is big.
    """
    cols = [getattr(LeadDB, c) for c in LEAD_IMPORT_COLUMNS]
    found: dict[int, dict[str, Any]] = {}
    for column, keys in ((LeadDB.email_key, email_keys), (LeadDB.linkedin_key, linkedin_keys)):
        wanted = list(set(keys))
        for start in range(0, len(wanted), 10_000):
            stmt = select(*cols).where(
                LeadDB.workspace_id == workspace_id, column.in_(wanted[start : start + 10_000])
            )
            for row in db.execute(stmt).mappings():
                found[row["id"]] = dict(row)
    return list(found.values())


_LEAD_INSERT_DEFAULTS: dict[str, Any] = {"stage": "NEW", "custom_fields": {}, "grade_reasons": []}


@lru_cache(maxsize=16)
def _sqlite_datetime(value: datetime) -> str:
    # The text form SQLAlchemy's SQLite DATETIME reads back (naive UTC); one import
    # stamps every row with the same instant, hence the cache.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _none_or(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else fn(v)


def insert_leads(db: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many new leads (the import's hot path).

    On SQLite, through the driver's executemany with values converted here exactly as
    the column types would (UTC datetimes as text, JSON, money): SQLAlchemy's per-row
    bind processing costs more than the insert itself there.
    """
    if not rows:
        return
    sqlite_db = db.get_bind().dialect.name == "sqlite"
    if not sqlite_db:
        # psycopg: SQLAlchemy's insertmanyvalues batches rows into multi-row INSERTs,
        # several times faster than the driver's executemany here.
        table = cast(Table, LeadDB.__table__)
        columns = [c.name for c in table.columns if c.name != "id"]
        defaults = _LEAD_INSERT_DEFAULTS
        db.execute(
            insert(table), [{n: row.get(n, defaults.get(n)) for n in columns} for row in rows]
        )
        return
    # Only the columns some row sets (or that need a default): the rest stay NULL.
    present = set(_LEAD_INSERT_DEFAULTS).union(*(row.keys() for row in rows))
    getters: list[tuple[str, Any, Callable[[Any], Any] | None]] = []
    for col in LeadDB.__table__.columns:
        if col.name == "id" or col.name not in present:
            continue
        conv: Callable[[Any], Any] | None = None
        if isinstance(col.type, UTCDateTime):
            conv = _none_or(_sqlite_datetime)
        elif col.name in {"custom_fields", "grade_reasons"}:
            conv = json.dumps
        elif col.name == "deal_value":
            conv = _none_or(str)
        getters.append((col.name, _LEAD_INSERT_DEFAULTS.get(col.name), conv))
    mark = "?"
    names = ", ".join(name for name, _, _ in getters)
    # Column names come from the model, values are bound: nothing user-given is spliced.
    sql = f"INSERT INTO leads ({names}) VALUES ({', '.join(mark for _ in getters)})"  # noqa: S608
    params = []
    for row in rows:
        get = row.get
        params.append(tuple([get(n, d) if f is None else f(get(n, d)) for n, d, f in getters]))
    db.connection().exec_driver_sql(sql, params)


def refresh_lead_stats(db: Session) -> None:
    """Refresh PostgreSQL's statistics on leads after a bulk load.

    A table that grew from empty inside one import still looks empty to the planner,
    which then answers the dedupe lookups with a scan of the workspace instead of the
    unique indexes: quadratic in the file size. SQLite plans these without statistics.
    """
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ANALYZE leads"))


def lead_ids_by_keys(
    db: Session, workspace_id: int, email_keys: Iterable[str], linkedin_keys: Iterable[str]
) -> tuple[dict[str, int], dict[str, int]]:
    """(email_key → id, linkedin_key → id) for leads just written (unique indexes)."""
    by_email: dict[str, int] = {}
    by_link: dict[str, int] = {}
    for row in leads_by_keys(db, workspace_id, email_keys, linkedin_keys):
        if row["email_key"]:
            by_email[row["email_key"]] = row["id"]
        if row["linkedin_key"]:
            by_link[row["linkedin_key"]] = row["id"]
    return by_email, by_link


def find_lead(
    db: Session, workspace_id: int, *, email_key: str | None = None, linkedin_key: str | None = None
) -> LeadDB | None:
    """The lead with this email key, else with this LinkedIn key (one unique index each)."""
    for column, key in ((LeadDB.email_key, email_key), (LeadDB.linkedin_key, linkedin_key)):
        if key:
            lead = db.scalar(
                select(LeadDB).where(LeadDB.workspace_id == workspace_id, column == key)
            )
            if lead is not None:
                return lead
    return None


def get_lead(db: Session, workspace_id: int, lead_id: int) -> LeadDB | None:
    lead = db.get(LeadDB, lead_id)
    if lead is None or lead.workspace_id != workspace_id:
        return None
    return lead


def lead_query(
    workspace_id: int,
    *,
    grade: Sequence[str] | None = None,
    stage: Sequence[str] | None = None,
    tag: str | Sequence[str] | None = None,
    search: str | None = None,
    min_score: int | None = None,
    after: tuple[int | None, int] | None = None,
    with_tags: bool = False,
) -> Select[LeadDB]:
    """Filtered leads, best first (ix_leads_workspace_grade); several tags mean any of them;
    ``after`` = the (score, id) of the last lead of the previous page (scores sort NULL
    last)."""
    stmt = select(LeadDB).where(LeadDB.workspace_id == workspace_id)
    if after is not None:
        score, last_id = after
        if score is None:
            stmt = stmt.where(LeadDB.score.is_(None), LeadDB.id > last_id)
        else:
            stmt = stmt.where(
                or_(
                    LeadDB.score < score,
                    and_(LeadDB.score == score, LeadDB.id > last_id),
                    LeadDB.score.is_(None),
                )
            )
    if grade:
        stmt = stmt.where(LeadDB.grade.in_(list(grade)))
    if stage:
        stmt = stmt.where(LeadDB.stage.in_(list(stage)))
    if min_score is not None:
        stmt = stmt.where(LeadDB.score >= min_score)
    if tag:
        stmt = stmt.where(
            LeadDB.id.in_(
                select(LeadTagDB.lead_id).where(
                    LeadTagDB.workspace_id == workspace_id,
                    LeadTagDB.tag_key.in_(
                        [t.lower() for t in ([tag] if isinstance(tag, str) else tag)]
                    ),
                )
            )
        )
    if search:
        like = f"%{search.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(LeadDB.email).like(like),
                func.lower(LeadDB.first_name).like(like),
                func.lower(LeadDB.last_name).like(like),
                func.lower(LeadDB.company).like(like),
            )
        )
    stmt = stmt.order_by(LeadDB.score.desc().nulls_last(), LeadDB.id)
    if with_tags:
        # The tags of the whole page in one more query (a lazy load per lead was 50
        # queries for a page of 50, nine tenths of a listing's time).
        stmt = stmt.options(selectinload(LeadDB.tag_rows))
    return stmt


def tags_for(db: Session, lead_ids: Sequence[int]) -> dict[int, list[str]]:
    if not lead_ids:
        return {}
    out: dict[int, list[str]] = {}
    stmt = (
        select(LeadTagDB.lead_id, LeadTagDB.tag)
        .where(LeadTagDB.lead_id.in_(list(lead_ids)))
        .order_by(LeadTagDB.lead_id, LeadTagDB.tag_key)
    )
    for lead_id, tag in db.execute(stmt):
        out.setdefault(int(lead_id), []).append(tag)
    return out


def add_tags(db: Session, workspace_id: int, rows: Sequence[tuple[int, str]]) -> None:
    """Tag leads; a tag already there is left alone (ON CONFLICT DO NOTHING)."""
    if not rows:
        return
    values = [
        {"lead_id": lead_id, "tag_key": tag.lower(), "tag": tag, "workspace_id": workspace_id}
        for lead_id, tag in rows
    ]
    stmt = dialect_insert(db, LeadTagDB.__table__).on_conflict_do_nothing()
    db.execute(stmt, values)


def existing_notes(db: Session, lead_ids: Sequence[int]) -> set[tuple[int, str]]:
    if not lead_ids:
        return set()
    stmt = select(LeadNoteDB.lead_id, LeadNoteDB.body).where(LeadNoteDB.lead_id.in_(list(lead_ids)))
    return {(int(a), b) for a, b in db.execute(stmt)}
