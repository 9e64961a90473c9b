"""The suppression list: the one check every channel makes before every send."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, LeadDB, SuppressionDB
from aicmo.cam.domain import leads as L
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.domain.suppression import (
    SuppressionKind,
    SuppressionReason,
    match_pairs,
    parse_entry,
)
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services.uow import unit_of_work, utcnow

_HASH_KINDS = {SuppressionKind.EMAIL_HASH.value, SuppressionKind.LINKEDIN_HASH.value}


def suppression_to_dict(row: SuppressionDB) -> dict[str, Any]:
    hashed = row.kind in _HASH_KINDS
    return {
        "id": row.id,
        "kind": row.kind,
        "value": "(erased person)" if hashed else row.value,
        "reason": row.reason,
        "source": row.source,
        "note": row.note,
        "created_at": row.created_at,
    }


def _reason(reason: str | SuppressionReason) -> SuppressionReason:
    try:
        return SuppressionReason(str(reason).upper())
    except ValueError:
        names = ", ".join(r.value for r in SuppressionReason)
        raise ValidationError(
            f"unknown reason {reason!r}; one of {names}", field="reason"
        ) from None


def add_entry(
    db: Session,
    workspace_id: int,
    kind: SuppressionKind,
    value: str,
    reason: SuppressionReason,
    *,
    source: str | None,
    note: str | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> tuple[SuppressionDB, bool]:
    """Add inside the caller's transaction; (row, created). Used by bounces, complaints,
    unsubscribes and erasure as well as by operators."""
    now = now or utcnow()
    existing = repo.find_suppression_entry(db, workspace_id, kind.value, value)
    if existing is not None:
        return existing, False
    row = SuppressionDB(
        workspace_id=workspace_id,
        kind=kind.value,
        value=value,
        reason=reason.value,
        source=source,
        note=note,
        created_at=now,
    )
    db.add(row)
    db.flush()
    hashed = kind.value in _HASH_KINDS
    repo.add_event(
        db,
        workspace_id,
        OutreachEvent(
            type=EventType.SUPPRESSION_ADDED,
            occurred_at=now,
            source=source or "aicmo",
            recipient=None if hashed else value,
            reason=reason.value,
            detail={"kind": kind.value, "suppression_id": row.id},
        ),
        actor=actor,
    )
    return row, True


def add_suppression(
    db: Session,
    value: str,
    *,
    kind: str | None = None,
    reason: str | SuppressionReason = SuppressionReason.MANUAL,
    source: str = "operator",
    note: str | None = None,
    actor: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """Never contact this address, domain or LinkedIn profile again, in any campaign.

    Idempotent: adding what is already there changes nothing (``created`` is False).
    """
    k, normalized = parse_entry(value, kind)
    r = _reason(reason)
    if note is not None:
        L.check_text("note", note, max_len=2000)
    with unit_of_work(db):
        row, created = add_entry(
            db, workspace_id, k, normalized, r, source=source, note=note, actor=actor
        )
    return {**suppression_to_dict(row), "created": created}


def remove_suppression(
    db: Session,
    value: str,
    *,
    kind: str | None = None,
    actor: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any]:
    """Lift a suppression (on the audit trail). Entries of erased people cannot be lifted.

    Raises:
        NotFoundError: nothing suppressed under this value.
    """
    k, normalized = parse_entry(value, kind)
    with unit_of_work(db):
        row = repo.find_suppression_entry(db, workspace_id, k.value, normalized)
        if row is None:
            raise NotFoundError(f"{normalized} is not on the suppression list")
        out = suppression_to_dict(row)
        db.delete(row)
        repo.add_event(
            db,
            workspace_id,
            OutreachEvent(
                type=EventType.SUPPRESSION_REMOVED,
                occurred_at=utcnow(),
                recipient=normalized,
                reason=row.reason,
                detail={"kind": k.value},
            ),
            actor=actor,
        )
    return out


def list_suppressions(
    db: Session,
    *,
    kind: str | None = None,
    reason: str | None = None,
    limit: int = 100,
    offset: int = 0,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    after: tuple[datetime, int] | None = None,
    search: str | None = None,
) -> list[dict[str, Any]]:
    """Entries newest first; ``after``: the (created_at, id) the previous page ended with;
    ``search``: only values containing this text (case as stored: addresses and domains
    are stored in lower case)."""
    if not 1 <= limit <= 10_000:
        raise ValidationError("limit must be between 1 and 10000", field="limit")
    rows = repo.suppression_page(
        db,
        workspace_id,
        kind=kind.upper() if kind else None,
        reason=_reason(reason).value if reason else None,
        limit=limit,
        offset=offset,
        after=after,
        search=search.strip().lower() if search and search.strip() else None,
    )
    return [suppression_to_dict(r) for r in rows]


def count_suppressions(db: Session, *, workspace_id: int = DEFAULT_WORKSPACE_ID) -> int:
    return repo.count_suppressions(db, workspace_id)


def find_suppression(
    db: Session,
    *,
    email_key: str | None = None,
    linkedin_key: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any] | None:
    """The entry that forbids contacting these keys, or None (the check before every send)."""
    ws = repo.get_workspace(db, workspace_id)
    if ws is None:
        raise NotFoundError(f"workspace {workspace_id} does not exist")
    pairs = match_pairs(ws.hash_salt, email_key=email_key, linkedin_key=linkedin_key)
    hits = repo.suppression_hits(db, workspace_id, pairs=pairs)
    return suppression_to_dict(hits[0]) if hits else None


#: Reasons that say an email address does not work, not that the person said stop: they
#: keep email away from the address and leave LinkedIn and the contact form open.
ADDRESS_ONLY = frozenset(
    {SuppressionReason.HARD_BOUNCE.value, SuppressionReason.SOFT_BOUNCES.value}
)


def find_suppressions(
    db: Session,
    *,
    email_key: str | None = None,
    linkedin_key: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> list[dict[str, Any]]:
    """Every entry that matches these keys (the channel decides which of them apply)."""
    ws = repo.get_workspace(db, workspace_id)
    if ws is None:
        raise NotFoundError(f"workspace {workspace_id} does not exist")
    pairs = match_pairs(ws.hash_salt, email_key=email_key, linkedin_key=linkedin_key)
    return [suppression_to_dict(h) for h in repo.suppression_hits(db, workspace_id, pairs=pairs)]


def site_domain(lead: LeadDB) -> str | None:
    """The host of the lead's form page or website (``www.`` dropped), or None."""
    raw = (lead.form_url or lead.website or "").strip()
    if not raw:
        return None
    try:
        host = httpx.URL(raw if "://" in raw else f"https://{raw}").host
    except (httpx.InvalidURL, ValueError):
        return None
    return host.lower().rstrip(".").removeprefix("www.") or None


def blocking_suppression(
    db: Session,
    *,
    email_key: str | None,
    linkedin_key: str | None,
    channel: str | None = None,
    site_domain: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any] | None:
    """The entry that forbids contacting this person on ``channel`` (None: any channel).

    An unsubscribe, a complaint, a manual entry or an erasure stops every channel; a
    bounced address (hard, or soft past the limit) only stops email to that address.
    ``site_domain`` (a contact form's site) is matched against suppressed domains too.
    """
    hits = find_suppressions(
        db, email_key=email_key, linkedin_key=linkedin_key, workspace_id=workspace_id
    )
    if site_domain:
        pairs = [(SuppressionKind.DOMAIN.value, site_domain.lower().removeprefix("www."))]
        hits += [
            suppression_to_dict(h) for h in repo.suppression_hits(db, workspace_id, pairs=pairs)
        ]
    for hit in hits:
        address_only = hit["reason"] in ADDRESS_ONLY and hit["kind"] == "EMAIL"
        if address_only and channel is not None and channel != ChannelType.EMAIL:
            continue
        return hit
    return None


def check_suppression(
    db: Session,
    *,
    email: str | None = None,
    linkedin_url: str | None = None,
    workspace_id: int = DEFAULT_WORKSPACE_ID,
) -> dict[str, Any] | None:
    """Is this address or profile suppressed? The entry, or None."""
    email_key = L.normalize_email(email)[1] if email else None
    linkedin_key = L.normalize_linkedin_url(linkedin_url)[1] if linkedin_url else None
    return find_suppression(
        db, email_key=email_key, linkedin_key=linkedin_key, workspace_id=workspace_id
    )
