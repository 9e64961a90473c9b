"""A campaign's audience (leads, lead_tags, enrollments): the leads its filters select,
counted, checked for reachability and enrolled, without ever holding the audience.

An audience can be a million leads. Everything here is a count or a check that the
database answers in one statement, or a walk in keyset chunks, so memory follows the
chunk, not the audience:

- :func:`count_audience` and :func:`unreachable_leads` are single statements (an
  aggregate, and the first few problems in the audience's order);
- :func:`unenrolled_chunks` reads the leads not yet enrolled in the campaign, best
  first: one score at a time (ix_leads_workspace_score), by id within a score, so each
  chunk starts where the last one ended and no statement sorts the audience, and drops
  those enrolled already with one index probe per lead;
- :func:`insert_enrollments` writes a chunk, skipping any lead enrolled meanwhile
  (uq_enrollments_campaign_lead: a start run twice, or again after a crash, never
  enrolls a lead twice).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    String,
    Table,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from aicmo.cam.db_models import EnrollmentDB, LeadDB, LeadTagDB
from aicmo.db import bulk

#: What Python's ``str.strip()`` removes (``str.isspace``): a value made of these only is
#: no address, here exactly as in ``aicmo.cam.domain.channels.address_of``.
WHITESPACE = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def audience_conditions(
    db: Session, workspace_id: int, audience: Mapping[str, Any]
) -> list[ColumnElement[bool]]:
    """The WHERE of an audience in its checked shape (grade, stage, tag, min_score,
    lead_ids; each list means any of its values), as ``lead_query`` filters leads."""
    conds: list[ColumnElement[bool]] = [LeadDB.workspace_id == workspace_id]
    if audience.get("grade"):
        conds.append(LeadDB.grade.in_(list(audience["grade"])))
    if audience.get("stage"):
        conds.append(LeadDB.stage.in_(list(audience["stage"])))
    if audience.get("min_score") is not None:
        conds.append(LeadDB.score >= audience["min_score"])
    if audience.get("tag"):
        tags = [t.lower() for t in audience["tag"]]
        conds.append(
            LeadDB.id.in_(
                select(LeadTagDB.lead_id).where(
                    LeadTagDB.workspace_id == workspace_id, LeadTagDB.tag_key.in_(tags)
                )
            )
        )
    if audience.get("lead_ids"):
        conds.append(bulk.among(LeadDB.id, audience["lead_ids"], db.get_bind().dialect))
    return conds


def count_audience(db: Session, workspace_id: int, audience: Mapping[str, Any]) -> int:
    """How many leads the audience selects (ix_leads_workspace_grade or _stage when it
    filters on them: a count of index entries)."""
    conds = audience_conditions(db, workspace_id, audience)
    return int(db.scalar(select(func.count()).select_from(LeadDB).where(*conds)) or 0)


def _blank(db: Session, field: str) -> ColumnElement[bool]:
    """The lead has no address in ``field``: NULL or only whitespace. A field that is not
    a text column of leads never holds one (as ``address_of`` reads it: not a string)."""
    table = cast(Table, LeadDB.__table__)
    column = table.c.get(field)
    if column is None or not isinstance(column.type, String):
        return true()
    # btrim on PostgreSQL; SQLite's trim(X, Y) strips the characters of Y likewise.
    trim = func.btrim if db.get_bind().dialect.name == "postgresql" else func.trim
    return or_(column.is_(None), trim(column, literal(WHITESPACE)) == "")


def unreachable_leads(
    db: Session,
    workspace_id: int,
    audience: Mapping[str, Any],
    steps: Sequence[Sequence[str]],
    *,
    limit: int,
) -> list[tuple[int, str | None, int]]:
    """(lead id, email, number of the first step that cannot reach it) for the first
    ``limit`` leads of the audience, best first (score, then id), that some step cannot
    reach: ``steps`` gives, step by step, every lead field that holds an address on one
    of the step's channels.

    One statement: the audience's rows (through its index, or the table), each tested
    once, and a top-``limit`` sort of those that fail.
    """
    if limit <= 0 or not steps:
        return []
    gaps = [and_(*(_blank(db, f) for f in fields)) if fields else true() for fields in steps]
    first = case(*((gap, number) for number, gap in enumerate(gaps, start=1)), else_=0)
    stmt = (
        select(LeadDB.id, LeadDB.email, first)
        .where(*audience_conditions(db, workspace_id, audience), or_(false(), *gaps))
        .order_by(LeadDB.score.desc().nulls_last(), LeadDB.id)
        .limit(limit)
    )
    return [(int(i), email, int(n)) for i, email, n in db.execute(stmt)]


def _scores(db: Session, conds: Sequence[ColumnElement[bool]]) -> list[int | None]:
    """The audience's distinct scores, best first, no score last: one pass over the
    audience's rows, or its index entries where an index holds its filter and the score
    (ix_leads_workspace_grade for an audience by grade).

    ``score + 0`` keeps SQLite from walking ix_leads_workspace_score for the DISTINCT's
    order (a table row per lead to test the filter: 15 times slower at 200k leads).
    """
    found = list(db.scalars(select(LeadDB.score + 0).where(*conds).distinct()))
    return sorted((s for s in found if s is not None), reverse=True) + (
        [None] if None in found else []
    )


def enrolled_among(db: Session, campaign_id: int, lead_ids: Sequence[int]) -> set[int]:
    """Which of these leads the campaign has enrolled already: one probe of
    uq_enrollments_campaign_lead per lead (``campaign_id = c AND lead_id = ANY(ids)``)."""
    if not lead_ids:
        return set()
    dialect = db.get_bind().dialect
    stmt = select(EnrollmentDB.lead_id).where(
        EnrollmentDB.campaign_id == campaign_id,
        bulk.among(EnrollmentDB.lead_id, lead_ids, dialect),
    )
    return set(db.scalars(stmt))


def unenrolled_chunks(
    db: Session,
    workspace_id: int,
    campaign_id: int,
    audience: Mapping[str, Any],
    *,
    size: int,
) -> Iterator[list[int]]:
    """Lead ids of the audience not enrolled in the campaign, best first, in chunks of
    at most ``size``.

    The audience is walked ``size`` leads at a time, each walk one statement on
    ix_leads_workspace_score (``score = s AND id > last`` in id order, stopping after
    ``size`` rows). When the campaign has enrollments already, those leads are dropped
    by a probe of uq_enrollments_campaign_lead per lead: inside the statement on SQLite
    (``NOT EXISTS``, which it always plans as that probe), by :func:`enrolled_among` per
    chunk on PostgreSQL, whose planner, with the statistics of a table that grew during
    this very start, turned ``NOT EXISTS`` into a merge anti-join reading and sorting
    every enrollment of the campaign for each chunk. A campaign's first start (the big
    one) probes nothing: a lead enrolled meanwhile by another start is still skipped by
    :func:`insert_enrollments`.

    Leads added meanwhile with a score still to come are enrolled in this walk, the
    others by the next start. Each chunk is read when asked for, so the caller can write
    and commit between chunks.
    """
    conds = audience_conditions(db, workspace_id, audience)
    probe = has_enrollments(db, campaign_id)
    in_statement = db.get_bind().dialect.name == "sqlite"
    if probe and in_statement:
        conds.append(
            ~exists().where(
                EnrollmentDB.campaign_id == campaign_id, EnrollmentDB.lead_id == LeadDB.id
            )
        )
    for score in _scores(db, conds):
        band = LeadDB.score.is_(None) if score is None else LeadDB.score == score
        after = 0
        while True:
            stmt = (
                select(LeadDB.id)
                .where(*conds, band, LeadDB.id > after)
                .order_by(LeadDB.id)
                .limit(size)
            )
            ids = list(db.scalars(stmt))
            if probe and not in_statement:
                have = enrolled_among(db, campaign_id, ids)
                new = [i for i in ids if i not in have]
            else:
                new = ids
            if new:
                yield new
            if len(ids) < size:
                break
            after = ids[-1]


def insert_enrollments(
    db: Session, rows: Sequence[Mapping[str, Any]], *, shared: Mapping[str, Any]
) -> int:
    """Write new enrollments (each row's own values plus the ``shared`` ones); a lead
    already in the campaign is skipped (uq_enrollments_campaign_lead). Returns how many
    were written."""
    return bulk.insert_new_rows(
        db,
        cast(Table, EnrollmentDB.__table__),
        rows,
        unique=("campaign_id", "lead_id"),
        shared=shared,
    )


def has_enrollments(db: Session, campaign_id: int) -> bool:
    """Whether the campaign has any enrollment (uq_enrollments_campaign_lead, the first
    entry of its range)."""
    return bool(db.scalar(select(exists().where(EnrollmentDB.campaign_id == campaign_id))))


def has_open_enrollments(db: Session, campaign_id: int) -> bool:
    """Whether any enrollment of the campaign is still to run or to decide (ACTIVE or
    WAITING): the campaign's range of uq_enrollments_campaign_lead, up to the first."""
    stmt = select(
        exists().where(
            EnrollmentDB.campaign_id == campaign_id,
            EnrollmentDB.state.in_(("ACTIVE", "WAITING")),
        )
    )
    return bool(db.scalar(stmt))
