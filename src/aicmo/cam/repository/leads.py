"""Statements on leads and what hangs off them (tags, notes).

The import's hot path lives here too: key lookups on the unique indexes and the bulk
insert. Index notes are in each docstring.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session

from aicmo.cam.db_models import (
    EnrollmentDB,
    InboundMessageDB,
    LeadDB,
    LeadNoteDB,
    LeadTagDB,
    OutreachMessageDB,
)
from aicmo.cam.domain.lead_fields import IMPORTED_COLUMNS
from aicmo.cam.repository.common import dialect_insert
from aicmo.db.expressions import byte_order
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


#: Past the last code point: ``key < prefix + TOP`` bounds the keys that start with prefix.
_TOP = "\U0010ffff"

#: The searched columns, each with an index on (workspace_id, lower(column)).
SEARCHED_COLUMNS = ("email", "first_name", "last_name", "company")


def _prefix(key: Any, term: str) -> ColumnElement[bool]:
    """``key`` starts with ``term`` (both lower-cased by the database), as a range of an
    index on ``key`` (LIKE 'term%' could use no index on SQLite, and none under
    PostgreSQL's linguistic collations)."""
    return and_(key >= func.lower(term), key < func.lower(term + _TOP))


def _search_key(table: Any, name: str) -> Any:
    return byte_order(func.lower(getattr(table.c, name)))


def _search_terms(search: str | None) -> str:
    return " ".join((search or "").split())


def _search_ranges(term: str, table: Any = LeadDB.__table__) -> list[ColumnElement[bool]]:
    ranges = [_prefix(_search_key(table, name), term) for name in SEARCHED_COLUMNS]
    first, _, rest = term.partition(" ")
    if rest:
        ranges.append(
            and_(
                _search_key(table, "first_name") == func.lower(first),
                _prefix(_search_key(table, "last_name"), rest),
            )
        )
    return ranges


def search_condition(workspace_id: int, search: str | None) -> ColumnElement[bool] | None:
    """Leads whose email, first name, last name or company starts with ``search``,
    ignoring case; a term of two or more words also matches the first name exactly
    followed by the last name's prefix ("jane do" finds Jane Doe). Blank: no condition.

    Written as "the lead's id is among those the index ranges find" (ix_leads_search_*,
    one range each): the same ranges ORed and tested on each lead of a
    best-first read evaluate eight lower()s per lead, and a broad term ("company 42",
    2 % of 100k leads) then cost 6.7 ms in SQLite against 1.6 ms for a probe of the ids.

    Case is folded by the database's lower(): every letter on PostgreSQL, ASCII letters
    on SQLite. ``%`` and ``_`` are plain characters.
    """
    term = _search_terms(search)
    if not term:
        return None
    # An alias: the same table named twice would be correlated to the outer query's row.
    found = LeadDB.__table__.alias("found")
    ids = union_all(
        *(
            select(found.c.id).where(found.c.workspace_id == workspace_id, match)
            for match in _search_ranges(term, found)
        )
    )
    return LeadDB.id.in_(ids)


def _tag_keys(tag: str | Sequence[str] | None) -> list[str]:
    if not tag:
        return []
    return [t.lower() for t in ([tag] if isinstance(tag, str) else tag)]


def _tagged(workspace_id: int, keys: list[str]) -> ColumnElement[bool]:
    return exists().where(
        LeadTagDB.lead_id == LeadDB.id,
        LeadTagDB.workspace_id == workspace_id,
        LeadTagDB.tag_key.in_(keys),
    )


def _enrolled(workspace_id: int, campaign_id: int) -> ColumnElement[bool]:
    """The lead is enrolled in the campaign (uq_enrollments_campaign_lead, one probe)."""
    return exists().where(
        EnrollmentDB.campaign_id == campaign_id,
        EnrollmentDB.lead_id == LeadDB.id,
        EnrollmentDB.workspace_id == workspace_id,
    )


def lead_query(
    workspace_id: int,
    *,
    grade: Sequence[str] | None = None,
    stage: Sequence[str] | None = None,
    tag: str | Sequence[str] | None = None,
    search: str | None = None,
    min_score: int | None = None,
    after: tuple[int | None, int] | None = None,
    ids: Collection[int] | None = None,
    campaign_id: int | None = None,
    columns: Sequence[Any] | None = None,
) -> Select[Any]:
    """Filtered leads, best score first, then by id; several tags mean any of them;
    ``campaign_id``: only leads enrolled in that campaign.

    ``after`` = the (score, id) of the last lead of the previous page (scores sort NULL
    last); ``ids``: only these leads. Each filter alone is a range of an index in this
    order (ix_leads_workspace_grade / _stage / _score), read until the page is full; a
    tag is checked per lead on the primary key of lead_tags (see :func:`lead_page` for
    rare tags and searches). ``columns``: select these instead of the ORM entity.
    """
    stmt = select(*(columns or [LeadDB])).where(LeadDB.workspace_id == workspace_id)
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
    if ids is not None:
        stmt = stmt.where(LeadDB.id.in_(list(ids)))
    if grade:
        stmt = stmt.where(LeadDB.grade.in_(list(grade)))
    if stage:
        stmt = stmt.where(LeadDB.stage.in_(list(stage)))
    if min_score is not None:
        stmt = stmt.where(LeadDB.score >= min_score)
    keys = _tag_keys(tag)
    if keys:
        stmt = stmt.where(_tagged(workspace_id, keys))
    matched = search_condition(workspace_id, search)
    if matched is not None:
        stmt = stmt.where(matched)
    if campaign_id is not None:
        stmt = stmt.where(_enrolled(workspace_id, campaign_id))
    stmt = stmt.order_by(LeadDB.score.desc().nulls_last(), LeadDB.id)
    return stmt


#: A tag or a search matching at most this many leads is answered from their ids.
FEW_MATCHES = 2000


def _few(db: Session, stmts: Sequence[Select[Any]]) -> set[int] | None:
    """The ids the statements select together, or None if there are more than
    FEW_MATCHES. One statement per index range: SQLite, without statistics, plans an OR
    of more than two ranges as a scan of the workspace."""
    conn = db.connection()
    for stmt in stmts:
        # Counted by the database (up to FEW_MATCHES + 1, on the same index range): the
        # common "many" answer then costs one row, not 2,001 ids read into Python.
        capped = select(func.count()).select_from(stmt.limit(FEW_MATCHES + 1).subquery())
        if conn.execute(capped).scalar_one() > FEW_MATCHES:
            return None
    ids: set[int] = set()
    for stmt in stmts:
        ids.update(conn.execute(stmt).scalars())
    return ids if len(ids) <= FEW_MATCHES else None


def lead_page(
    db: Session,
    workspace_id: int,
    *,
    grade: Sequence[str] | None = None,
    stage: Sequence[str] | None = None,
    tag: str | Sequence[str] | None = None,
    search: str | None = None,
    min_score: int | None = None,
    after: tuple[int | None, int] | None = None,
    limit: int = 100,
    campaign_id: int | None = None,
) -> list[tuple[Mapping[str, Any], list[str]]]:
    """One page of :func:`lead_query`: each lead's columns and its tags; ``after`` = the (score, id)
    of the last lead of the previous page; ``campaign_id``: only its enrolled leads (a
    campaign is a set of leads like a tag, and chosen between in the same way).

    A tag or a search may match few leads or most of them, and the best plan differs:
    few, read them by their index (ix_lead_tags_workspace_tag, ix_leads_search_*) and
    sort them; many, read leads best first (ix_leads_workspace_score) and keep those
    that match until the page is full (at least one lead in FEW_MATCHES / workspace
    size matches, so a page of 50 reads at most a few thousand). SQLite has no
    statistics to choose by, so the choice is made here, on both databases: the first
    FEW_MATCHES + 1 matching ids are read from the index (a covering range), and only
    when there are no more than FEW_MATCHES is the page taken from them.
    """
    keys = _tag_keys(tag)
    tag_few = None
    if keys:
        tagged = select(LeadTagDB.lead_id).where(
            LeadTagDB.workspace_id == workspace_id, LeadTagDB.tag_key.in_(keys)
        )
        tag_few = _few(db, [tagged])
    term = _search_terms(search)
    search_few = None
    if term:
        search_few = _few(
            db,
            [
                select(LeadDB.id).where(LeadDB.workspace_id == workspace_id, match)
                for match in _search_ranges(term)
            ],
        )
    campaign_few = None
    if campaign_id is not None:
        campaign_few = _few(
            db,
            [
                select(EnrollmentDB.lead_id).where(
                    EnrollmentDB.campaign_id == campaign_id,
                    EnrollmentDB.workspace_id == workspace_id,
                )
            ],
        )
    ids: set[int] | None = None
    for few in (tag_few, search_few, campaign_few):
        if few is not None:
            ids = few if ids is None else ids & few
    if ids is not None and not ids:
        return []
    stmt = lead_query(
        workspace_id,
        grade=grade,
        stage=stage,
        tag=tag if tag_few is None else None,  # else: the ids are the tagged leads
        search=search if search_few is None else None,
        min_score=min_score,
        ids=ids,
        campaign_id=campaign_id if campaign_few is None else None,
        columns=LEAD_COLUMNS,
    )
    conn = db.connection()
    if after is None:
        rows = list(conn.execute(stmt.limit(limit)).mappings())
    else:
        rows = []
        for part in _after(after):
            rows.extend(conn.execute(stmt.where(part).limit(limit - len(rows))).mappings())
            if len(rows) >= limit:
                break
    tags = tags_for(db, [row["id"] for row in rows])
    return [(cast(Mapping[str, Any], row), tags.get(row["id"], [])) for row in rows]


#: A lead's own columns, for pages read without the ORM: a listing is read far more
#: often than it is changed, and building 50 tracked objects (and their tags through a
#: relationship) was most of a page's time.
LEAD_COLUMNS = tuple(LeadDB.__table__.c)


def _after(after: tuple[int | None, int]) -> list[ColumnElement[bool]]:
    """What follows (score, id) in best-first order, as index ranges read in turn: the
    rest of the score's ties, the lower scores, the ungraded. One OR of the three reads
    the index from its start and filters (a deep page cost 250 ms on PostgreSQL at 100k
    leads); each of these starts where the previous page ended."""
    score, last_id = after
    if score is None:
        return [and_(LeadDB.score.is_(None), LeadDB.id > last_id)]
    return [
        and_(LeadDB.score == score, LeadDB.id > last_id),
        LeadDB.score < score,
        LeadDB.score.is_(None),
    ]


def last_activity(db: Session, workspace_id: int, lead_ids: Sequence[int]) -> dict[int, datetime]:
    """When each lead last had an attempt or an inbound message: a page's worth of
    leads, two grouped reads of index ranges (ix_outreach_messages_lead,
    ix_inbound_messages_lead: the newest per lead is the range's end)."""
    if not lead_ids:
        return {}
    ids = list(lead_ids)
    found: dict[int, datetime] = {}
    for lead_col, at_col, ws_col in (
        (OutreachMessageDB.lead_id, OutreachMessageDB.created_at, OutreachMessageDB.workspace_id),
        (InboundMessageDB.lead_id, InboundMessageDB.received_at, InboundMessageDB.workspace_id),
    ):
        stmt = (
            select(lead_col, func.max(at_col))
            .where(ws_col == workspace_id, lead_col.in_(ids))
            .group_by(lead_col)
        )
        for lead_id, at in db.execute(stmt):
            if lead_id is not None and at is not None:
                found[lead_id] = max(found.get(lead_id, at), at)
    return found


def tags_for(db: Session, lead_ids: Sequence[int]) -> dict[int, list[str]]:
    """Each lead's tags in tag_key order, as LeadDB.tags orders them (the primary key of
    lead_tags, one range a lead)."""
    if not lead_ids:
        return {}
    out: dict[int, list[str]] = {}
    stmt = (
        select(LeadTagDB.lead_id, LeadTagDB.tag)
        .where(LeadTagDB.lead_id.in_(list(lead_ids)))
        .order_by(LeadTagDB.lead_id, LeadTagDB.tag_key)
    )
    for lead_id, tag in db.connection().execute(stmt):
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
