"""Users, memberships, API keys and remembered idempotent answers: small tables, read by
their unique keys (uq_users_email, uq_api_keys_public_id, uq_memberships_user,
uq_idempotency_keys_key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from aicmo.cam.db_models import (
    ApiKeyDB,
    IdempotencyKeyDB,
    LoginFailureDB,
    MembershipDB,
    UserDB,
    UserSessionDB,
    WorkspaceDB,
)
from aicmo.cam.repository.common import dialect_insert, rowcount


def user_by_email(db: Session, email: str) -> UserDB | None:
    """The account of this address (uq_users_email; stored lower-cased)."""
    return db.scalar(select(UserDB).where(UserDB.email == email.strip().lower()))


def count_users(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(UserDB)) or 0)


def membership(db: Session, user_id: int, workspace_id: int) -> MembershipDB | None:
    """The user's role row in the workspace (uq_memberships_user)."""
    return db.scalar(
        select(MembershipDB).where(
            MembershipDB.user_id == user_id, MembershipDB.workspace_id == workspace_id
        )
    )


def user_workspaces(db: Session, user_id: int) -> list[tuple[WorkspaceDB, str]]:
    """Each workspace the user belongs to, with the role there (ix_memberships_user_id)."""
    stmt = (
        select(WorkspaceDB, MembershipDB.role)
        .join(MembershipDB, MembershipDB.workspace_id == WorkspaceDB.id)
        .where(MembershipDB.user_id == user_id)
        .order_by(WorkspaceDB.id)
    )
    return [(ws, role) for ws, role in db.execute(stmt).all()]


def workspace_members(db: Session, workspace_id: int) -> list[tuple[UserDB, str]]:
    stmt = (
        select(UserDB, MembershipDB.role)
        .join(MembershipDB, MembershipDB.user_id == UserDB.id)
        .where(MembershipDB.workspace_id == workspace_id)
        .order_by(UserDB.email)
    )
    return [(user, role) for user, role in db.execute(stmt).all()]


def workspace_by_slug(db: Session, slug: str) -> WorkspaceDB | None:
    return db.scalar(select(WorkspaceDB).where(WorkspaceDB.slug == slug))


def all_workspaces(db: Session) -> list[WorkspaceDB]:
    return list(db.scalars(select(WorkspaceDB).order_by(WorkspaceDB.id)))


#: What checking a key needs, read on every API request: built once, as plain row (not
#: an ORM object the session would track).
_KEY_CHECK = select(
    ApiKeyDB.id,
    ApiKeyDB.workspace_id,
    ApiKeyDB.role,
    ApiKeyDB.secret_digest,
    ApiKeyDB.revoked_at,
    ApiKeyDB.last_used_at,
).where(ApiKeyDB.public_id == bindparam("public_id"))


def api_key_by_public_id(
    db: Session, public_id: str
) -> Row[int, int, str, str, datetime | None, datetime | None] | None:
    """The key's id, workspace_id, role, secret_digest, revoked_at and last_used_at
    (uq_api_keys_public_id), revoked or not: the caller decides."""
    return db.connection().execute(_KEY_CHECK, {"public_id": public_id}).first()


def workspace_api_keys(db: Session, workspace_id: int) -> list[ApiKeyDB]:
    stmt = select(ApiKeyDB).where(ApiKeyDB.workspace_id == workspace_id).order_by(ApiKeyDB.id)
    return list(db.scalars(stmt))


def touch_api_key(db: Session, key_id: int, now: datetime, *, older_than: datetime) -> None:
    """Record a use, at most once per interval: a write per request would serialise every
    API call on SQLite's one writer for a figure shown to the minute."""
    db.execute(
        update(ApiKeyDB)
        .where(
            ApiKeyDB.id == key_id,
            (ApiKeyDB.last_used_at.is_(None)) | (ApiKeyDB.last_used_at < older_than),
        )
        .values(last_used_at=now)
    )


def idempotent_answer(db: Session, workspace_id: int, key: str) -> IdempotencyKeyDB | None:
    """The remembered answer of this key (uq_idempotency_keys_key)."""
    return db.scalar(
        select(IdempotencyKeyDB).where(
            IdempotencyKeyDB.workspace_id == workspace_id, IdempotencyKeyDB.key == key
        )
    )


def prune_idempotency_keys(db: Session, before: datetime) -> int:
    """Forget answers older than ``before`` (ix_idempotency_keys_created_at)."""
    result = db.execute(delete(IdempotencyKeyDB).where(IdempotencyKeyDB.created_at < before))
    return rowcount(result)


def session_by_digest(db: Session, digest: str) -> UserSessionDB | None:
    """A browser session by its token's digest (uq_user_sessions_token_digest)."""
    return db.scalar(select(UserSessionDB).where(UserSessionDB.token_digest == digest))


def delete_session(db: Session, digest: str) -> int:
    return rowcount(db.execute(delete(UserSessionDB).where(UserSessionDB.token_digest == digest)))


def delete_expired_sessions(db: Session, now: datetime) -> int:
    return rowcount(db.execute(delete(UserSessionDB).where(UserSessionDB.expires_at < now)))


def login_failures(db: Session, subjects: list[str], window_start: datetime) -> dict[str, int]:
    """Failures counted for each subject in this window (uq_login_failures_window)."""
    rows = db.execute(
        select(LoginFailureDB.subject, LoginFailureDB.failures).where(
            LoginFailureDB.subject.in_(subjects), LoginFailureDB.window_start == window_start
        )
    )
    return {subject: int(n) for subject, n in rows.all()}


def count_login_failure(db: Session, subject: str, window_start: datetime) -> None:
    """One more failure for the subject in this window: one statement, so that parallel
    guesses from several processes all count."""
    stmt = dialect_insert(db, LoginFailureDB).values(
        subject=subject, window_start=window_start, failures=1
    )
    db.execute(
        stmt.on_conflict_do_update(
            index_elements=["subject", "window_start"],
            set_={"failures": LoginFailureDB.failures + 1},
        )
    )


def clear_login_failures(db: Session, subject: str) -> None:
    db.execute(delete(LoginFailureDB).where(LoginFailureDB.subject == subject))


def prune_login_failures(db: Session, before: datetime) -> int:
    return rowcount(db.execute(delete(LoginFailureDB).where(LoginFailureDB.window_start < before)))
