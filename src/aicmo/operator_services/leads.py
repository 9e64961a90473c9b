"""The mini-CRM: create, update, find, tag, note, stage, grade and export leads."""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import IO, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, LeadDB, LeadNoteDB
from aicmo.cam.domain import leads as L
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.grading import ICP, Engagement, GradeResult, LeadProfile, grade_lead
from aicmo.cam.domain.lead_fields import EXPORT_COLUMNS, RECORD_KEYS
from aicmo.cam.domain.messages import LeadStage
from aicmo.errors import ConflictError, NotFoundError, ValidationError
from aicmo.operator_services.crm.workspace import get_icp
from aicmo.operator_services.uow import utcnow, write_unit


def lead_record(values: Mapping[str, Any], tags: list[str]) -> dict[str, Any]:
    """The lead as a dict, from its column values (an ORM row's attributes or a Core
    row's mapping) and its tags: one definition for the API, exports and templates."""
    data: dict[str, Any] = {}
    for key in RECORD_KEYS:
        if key == "tags":
            data[key] = tags
        elif key == "custom_fields":
            data[key] = dict(values[key] or {})
        elif key == "grade_reasons":
            data[key] = list(values[key] or [])
        else:
            data[key] = values[key]
    return data


def lead_to_dict(lead: LeadDB, *, with_notes: bool = False) -> dict[str, Any]:
    values = {key: getattr(lead, key) for key in RECORD_KEYS if key != "tags"}
    data = lead_record(values, lead.tags)
    if with_notes:
        data["notes"] = [
            {"id": n.id, "body": n.body, "author": n.author, "created_at": n.created_at}
            for n in lead.note_rows
        ]
    return data


def profile_of(values: dict[str, Any] | LeadDB) -> LeadProfile:
    get = values.get if isinstance(values, dict) else lambda k: getattr(values, k)
    return LeadProfile(
        title=get("title"),
        seniority=get("seniority"),
        industry=get("industry"),
        company_size=get("company_size"),
        country=get("country"),
        has_email=bool(get("email")),
        has_linkedin=bool(get("linkedin_url")),
    )


def grade_values(
    icp: ICP, values: dict[str, Any], engagement: Engagement, now: datetime
) -> dict[str, Any]:
    """The grading columns of a lead given as column values (a row about to be written)."""
    result = grade_lead(icp, profile_of(values), engagement)
    return {
        "grade": result.grade,
        "score": result.score,
        "grade_reasons": list(result.reasons),
        "graded_at": now,
    }


def lead_event(
    db: Session,
    lead: LeadDB,
    event_type: EventType,
    now: datetime,
    *,
    detail: dict[str, Any] | None = None,
    recipient: str | None = None,
    actor: str | None = None,
) -> None:
    """Put one change to a lead (created, updated, stage, note) on its audit trail,
    inside the caller's transaction."""
    repo.add_event(
        db,
        lead.workspace_id,
        OutreachEvent(type=event_type, occurred_at=now, recipient=recipient, detail=detail or {}),
        lead_id=lead.id,
        actor=actor,
    )


def _regrade(
    db: Session, lead: LeadDB, icp: ICP, engagement: Engagement, now: datetime
) -> tuple[GradeResult, bool]:
    """Grade one lead; records LEAD_GRADED when its grade or score changes."""
    result = grade_lead(icp, profile_of(lead), engagement)
    old = (lead.grade, lead.score)
    changed = old != (result.grade, result.score)
    lead.grade, lead.score = result.grade, result.score
    lead.grade_reasons = list(result.reasons)
    lead.graded_at = now
    if changed:
        detail = {
            "from": list(old),
            "to": [result.grade, result.score],
            "reasons": list(result.reasons),
        }
        lead_event(db, lead, EventType.LEAD_GRADED, now, detail=detail)
    return result, changed


def regrade_lead(
    db: Session, lead: LeadDB, *, icp: ICP | None = None, now: datetime | None = None
) -> GradeResult:
    """Grade one lead from its fields and engagement; records LEAD_GRADED on change.

    Runs inside the caller's transaction (does not commit).
    """
    now = now or utcnow()
    icp = icp or get_icp(db, lead.workspace_id)
    engagement = repo.engagement_for(db, lead.workspace_id, [lead.id]).get(lead.id, Engagement())
    return _regrade(db, lead, icp, engagement, now)[0]


def _require(db: Session, workspace_id: int, lead_id: int) -> LeadDB:
    if isinstance(lead_id, bool) or not isinstance(lead_id, int):
        raise ValidationError(f"lead_id must be a whole number, got {lead_id!r}", field="lead_id")
    lead = repo.get_lead(db, workspace_id, lead_id)
    if lead is None:
        raise NotFoundError(f"no lead with id {lead_id}")
    return lead


def resolve_lead(
    db: Session, ref: str | int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> LeadDB:
    """A lead by id, email or LinkedIn URL (the CLI's way of naming one person)."""
    if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
        return _require(db, workspace_id, int(ref))
    text = str(ref).strip()
    lead: LeadDB | None
    if "@" in text:
        lead = repo.find_lead(db, workspace_id, email_key=text.lower())
    else:
        try:
            _, key = L.normalize_linkedin_url(text)
        except ValidationError:
            raise NotFoundError(
                f"no lead {text!r}: give an id, an email or a LinkedIn URL"
            ) from None
        lead = repo.find_lead(db, workspace_id, linkedin_key=key)
    if lead is None:
        raise NotFoundError(f"no lead {text!r}")
    return lead


def get_lead(
    db: Session, lead_ref: str | int, *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[str, Any]:
    return lead_to_dict(resolve_lead(db, lead_ref, workspace_id=workspace_id), with_notes=True)


def create_lead(
    db: Session,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    tags: Sequence[str] = (),
    actor: str | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """Create a lead (graded at once).

    Raises:
        ValidationError: a bad field, or neither email nor LinkedIn URL.
        ConflictError: a lead with the same email or LinkedIn URL exists.
    """
    now = now or utcnow()
    clean = L.normalize_lead_fields(fields)
    if not clean.get("email_key") and not clean.get("linkedin_key"):
        raise ValidationError("a lead needs an email or a LinkedIn URL", field="email")
    tag_list = _clean_tags(tags)
    with write_unit(db):
        existing = repo.find_lead(
            db,
            workspace_id,
            email_key=clean.get("email_key"),  # type: ignore[arg-type]
            linkedin_key=clean.get("linkedin_key"),  # type: ignore[arg-type]
        )
        if existing is not None:
            raise ConflictError(f"lead #{existing.id} already has this email or LinkedIn URL")
        lead = LeadDB(workspace_id=workspace_id, created_at=now, updated_at=now, **clean)
        db.add(lead)
        db.flush()
        repo.add_tags(db, workspace_id, [(lead.id, t) for t in tag_list])
        lead_event(db, lead, EventType.LEAD_CREATED, now, recipient=lead.email, actor=actor)
        regrade_lead(db, lead, now=now)
        db.flush()
        db.refresh(lead)
    return lead_to_dict(lead)


def update_lead(
    db: Session,
    lead_id: int,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    actor: str | None = None,
    now: datetime | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """Change fields of a lead; it is regraded and the change is on the audit trail.

    Raises:
        NotFoundError: no such lead. ValidationError: bad field or value.
        ConflictError: the new email or LinkedIn URL belongs to another lead.
    """
    now = now or utcnow()
    clean = L.normalize_lead_fields(changes)
    with write_unit(db):
        lead = _require(db, workspace_id, lead_id)
        for key in ("email_key", "linkedin_key"):
            value = clean.get(key)
            if value:
                other = repo.find_lead(db, workspace_id, **{key: value})  # type: ignore[arg-type]
                if other is not None and other.id != lead.id:
                    raise ConflictError(
                        f"lead #{other.id} already has this {key.removesuffix('_key')}"
                    )
        after_email = clean.get("email_key", lead.email_key)
        after_link = clean.get("linkedin_key", lead.linkedin_key)
        if not after_email and not after_link:
            raise ValidationError("a lead must keep an email or a LinkedIn URL", field="email")
        diff: dict[str, Any] = {}
        for name, value in clean.items():
            old = getattr(lead, name)
            if old != value:
                diff[name] = {"from": _jsonable(old), "to": _jsonable(value)}
                setattr(lead, name, value)
        if diff:
            lead.updated_at = now
            stage_change = diff.pop("stage", None)
            if diff:
                lead_event(
                    db, lead, EventType.LEAD_UPDATED, now, detail={"changes": diff}, actor=actor
                )
            if stage_change:
                lead_event(
                    db, lead, EventType.LEAD_STAGE_CHANGED, now, detail=stage_change, actor=actor
                )
            regrade_lead(db, lead, now=now)
    return lead_to_dict(lead)


def set_stage(
    db: Session,
    lead_id: int,
    stage: str | LeadStage,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    actor: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    return update_lead(
        db, lead_id, workspace_id=workspace_id, actor=actor, now=now, stage=str(stage)
    )


def _clean_tags(tags: Sequence[str]) -> list[str]:
    out: list[str] = []
    for tag in tags:
        out.extend(L.split_tags(tag))
    return out


def add_tags(
    db: Session,
    lead_id: int,
    tags: Sequence[str],
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    actor: str | None = None,
) -> dict[str, Any]:
    tag_list = _clean_tags(tags)
    if not tag_list:
        raise ValidationError("no tag given", field="tags")
    with write_unit(db):
        lead = _require(db, workspace_id, lead_id)
        repo.add_tags(db, workspace_id, [(lead.id, t) for t in tag_list])
        lead_event(
            db, lead, EventType.LEAD_UPDATED, utcnow(), detail={"tags_added": tag_list}, actor=actor
        )
        db.flush()
        db.refresh(lead)
    return lead_to_dict(lead)


def remove_tags(
    db: Session,
    lead_id: int,
    tags: Sequence[str],
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    actor: str | None = None,
) -> dict[str, Any]:
    keys = [t.lower() for t in _clean_tags(tags)]
    with write_unit(db):
        lead = _require(db, workspace_id, lead_id)
        lead.tag_rows = [t for t in lead.tag_rows if t.tag_key not in keys]
        lead_event(
            db, lead, EventType.LEAD_UPDATED, utcnow(), detail={"tags_removed": keys}, actor=actor
        )
    return lead_to_dict(lead)


def add_note(
    db: Session,
    lead_id: int,
    body: str,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    author: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    text = L.check_text("note", (body or "").strip())
    if not text:
        raise ValidationError("the note is empty", field="body")
    now = now or utcnow()
    with write_unit(db):
        lead = _require(db, workspace_id, lead_id)
        note = LeadNoteDB(
            workspace_id=workspace_id, lead_id=lead.id, body=text, author=author, created_at=now
        )
        db.add(note)
        db.flush()
        lead_event(
            db, lead, EventType.LEAD_NOTE_ADDED, now, detail={"note_id": note.id}, actor=author
        )
    return {
        "id": note.id,
        "lead_id": lead.id,
        "body": note.body,
        "author": author,
        "created_at": now,
    }


def find_leads(
    db: Session,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    grade: Sequence[str] | None = None,
    stage: Sequence[str] | None = None,
    tag: str | None = None,
    search: str | None = None,
    min_score: int | None = None,
    limit: int = 100,
    after: tuple[int | None, int] | None = None,
    campaign_id: int | None = None,
) -> list[dict[str, Any]]:
    """Leads matching every filter given, best score first; ``after``: the (score, id) the
    previous page ended with. ``search``: leads whose email, first name, last name or
    company starts with it, ignoring case (see repository.leads.search_condition).
    ``campaign_id``: only leads enrolled in that campaign."""
    if limit < 1 or limit > 10_000:
        raise ValidationError("limit must be between 1 and 10000", field="limit")
    stages = [L.parse_stage(s).value for s in stage] if stage else None
    grades = [g.strip().upper() for g in grade] if grade else None
    rows = repo.lead_page(
        db,
        workspace_id,
        grade=grades,
        stage=stages,
        tag=tag,
        search=search,
        min_score=min_score,
        after=after,
        limit=limit,
        campaign_id=campaign_id,
    )
    return [lead_record(values, tags) for values, tags in rows]


def last_activity(
    db: Session, lead_ids: Sequence[int], *, workspace_id: int = DEFAULT_WORKSPACE_ID
) -> dict[int, datetime]:
    """When each of these leads (a listed page) was last written to or heard from."""
    return repo.last_activity(db, workspace_id, lead_ids)


def count_leads(db: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> int:
    return int(
        db.scalar(
            select(func.count()).select_from(LeadDB).where(LeadDB.workspace_id == workspace_id)
        )
        or 0
    )


def grade_leads(
    db: Session,
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    lead_ids: Sequence[int] | None = None,
    batch_size: int = 1000,
    now: datetime | None = None,
    on_progress: Any = None,
) -> dict[str, Any]:
    """Regrade leads (all of the workspace by default), in batches; returns the grade counts."""
    now = now or utcnow()
    icp = get_icp(db, workspace_id)
    base = select(LeadDB.id).where(LeadDB.workspace_id == workspace_id).order_by(LeadDB.id)
    if lead_ids is not None:
        base = base.where(LeadDB.id.in_(list(lead_ids)))
    ids = list(db.scalars(base))
    counts = {"A": 0, "B": 0, "C": 0, "D": 0}
    changed = 0
    for start in range(0, len(ids), batch_size):
        chunk = ids[start : start + batch_size]
        with write_unit(db):
            leads = list(db.scalars(select(LeadDB).where(LeadDB.id.in_(chunk))))
            engagement = repo.engagement_for(db, workspace_id, chunk)
            for lead in leads:
                result, was_changed = _regrade(
                    db, lead, icp, engagement.get(lead.id, Engagement()), now
                )
                changed += was_changed
                counts[result.grade] += 1
        if on_progress is not None:
            on_progress(len(chunk))
    return {"graded": len(ids), "changed": changed, "grades": counts}


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula (CSV injection)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _iter_export_rows(
    db: Session,
    workspace_id: int,
    grade: Sequence[str] | None,
    stage: Sequence[str] | None,
    tag: str | None,
    batch: int = 2000,
) -> Iterator[list[LeadDB]]:
    stages = [L.parse_stage(s).value for s in stage] if stage else None
    grades = [g.strip().upper() for g in grade] if grade else None
    stmt = repo.lead_query(workspace_id, grade=grades, stage=stages, tag=tag)
    last_id = 0
    stmt = stmt.order_by(None).order_by(LeadDB.id)
    while True:
        rows = list(db.scalars(stmt.where(LeadDB.id > last_id).limit(batch)))
        if not rows:
            return
        yield rows
        last_id = rows[-1].id


def export_leads_csv(
    db: Session,
    out: IO[str],
    *,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    grade: Sequence[str] | None = None,
    stage: Sequence[str] | None = None,
    tag: str | None = None,
) -> int:
    """Write leads as CSV (UTF-8; custom fields as ``custom:NAME`` columns); returns the count.

    Cells that a spreadsheet would run as formulas are prefixed with ``'``; the import
    strips that prefix again, so an export re-imports to the same leads.
    """
    custom_keys: set[str] = set()
    for rows in _iter_export_rows(db, workspace_id, grade, stage, tag):
        for r in rows:
            custom_keys.update((r.custom_fields or {}).keys())
    customs = sorted(custom_keys)
    writer = csv.writer(out)
    writer.writerow([*EXPORT_COLUMNS, *[f"custom:{k}" for k in customs]])
    count = 0
    for rows in _iter_export_rows(db, workspace_id, grade, stage, tag):
        tag_map = repo.tags_for(db, [r.id for r in rows])
        for r in rows:
            values = []
            for col in EXPORT_COLUMNS:
                if col == "tags":
                    values.append(_cell("; ".join(tag_map.get(r.id, []))))
                else:
                    values.append(_cell(getattr(r, col)))
            custom = r.custom_fields or {}
            values.extend(_cell(custom.get(k)) for k in customs)
            writer.writerow(values)
            count += 1
        db.expunge_all()
    return count


__all__ = [
    "EXPORT_COLUMNS",
    "add_note",
    "add_tags",
    "count_leads",
    "create_lead",
    "export_leads_csv",
    "find_leads",
    "get_lead",
    "grade_leads",
    "grade_values",
    "last_activity",
    "lead_to_dict",
    "regrade_lead",
    "remove_tags",
    "resolve_lead",
    "set_stage",
    "update_lead",
]
