"""Idempotency keys for POSTs that create or send (Stripe's semantics).

A client that lost the answer to a request retries it with the same ``Idempotency-Key``.
The first request claims the key (a unique row) before it runs; the retry then gets the
first answer again instead of a second lead, campaign or send. The same key with a
different body is the client's bug and is refused; a retry while the first is still
running gets a conflict, never a second run. A request that fails releases its key, so
a corrected retry can go through. Keys are kept for a day.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import IdempotencyKeyDB
from aicmo.errors import ConflictError, ValidationError
from aicmo.operator_services.uow import unit_of_work, utcnow

KEEP_FOR = timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    body: Any


def request_digest(method: str, path: str, payload: Any) -> str:
    """What makes two requests "the same": method, path and the parsed body."""
    canonical = json.dumps([method, path, payload], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(
    db: Session, workspace_id: int, key: str, digest: str, *, now: datetime | None = None
) -> Answer | None:
    """Claim the key for this request, or return the answer it already has.

    Raises:
        ValidationError: the key was used with another request.
        ConflictError: the first request with this key is still running.
    """
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise ValidationError(
            f"an Idempotency-Key is 1-{MAX_KEY_LENGTH} printable characters",
            field="Idempotency-Key",
        )
    now = now or utcnow()
    row = repo.idempotent_answer(db, workspace_id, key)
    if row is not None and row.created_at < now - KEEP_FOR:
        with unit_of_work(db):
            db.delete(row)
        row = None
    if row is None:
        try:
            with unit_of_work(db):
                db.add(
                    IdempotencyKeyDB(
                        workspace_id=workspace_id, key=key, request_digest=digest, created_at=now
                    )
                )
            return None
        except ConflictError:
            # Another request claimed it between our read and our write.
            row = repo.idempotent_answer(db, workspace_id, key)
            if row is None:
                raise
    if row.request_digest != digest:
        raise ValidationError(
            "this Idempotency-Key was used with a different request; use a new key",
            field="Idempotency-Key",
        )
    if row.status_code is None:
        raise ConflictError("a request with this Idempotency-Key is still running; retry later")
    return Answer(status_code=row.status_code, body=(row.response or {}).get("body"))


def remember(db: Session, workspace_id: int, key: str, answer: Answer) -> None:
    with unit_of_work(db):
        row = repo.idempotent_answer(db, workspace_id, key)
        if row is not None:
            row.status_code = answer.status_code
            row.response = {"body": answer.body}


def release(db: Session, workspace_id: int, key: str) -> None:
    """Forget a claim whose request failed, so that a corrected retry can run."""
    db.rollback()
    with unit_of_work(db):
        row = repo.idempotent_answer(db, workspace_id, key)
        if row is not None and row.status_code is None:
            db.delete(row)


def prune(db: Session, *, now: datetime | None = None) -> int:
    with unit_of_work(db):
        return repo.prune_idempotency_keys(db, (now or utcnow()) - KEEP_FOR)
