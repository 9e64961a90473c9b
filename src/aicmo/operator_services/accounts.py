"""Workspaces, users, roles and API keys: who may reach which data.

Everything a route does runs as a :class:`~aicmo.cam.domain.access.Principal`, which
this module is the only one to make: from an API key (``authenticate_key``) or a
password (``authenticate_password``). A principal carries one workspace, so a key of
one client of an agency can never name another client's rows: every service below the
routes already takes ``workspace_id``.
"""

from __future__ import annotations

import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, partial
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import ApiKeyDB, MembershipDB, UserDB, UserSessionDB, WorkspaceDB
from aicmo.cam.domain.access import (
    LOGIN_WINDOW,
    SESSION_LIFETIME,
    Principal,
    Role,
    format_key,
    login_blocked,
    login_window,
    parse_key,
    parse_role,
    secret_digest,
    secret_matches,
)
from aicmo.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults
from aicmo.operator_services.uow import unit_of_work, utcnow, write_unit

#: NIST SP 800-63B asks for at least 8; a passphrase of 12 is what the tools we are
#: compared with ask of admins, and costs a person nothing with a password manager.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024
#: ``last_used_at`` is written at most this often per key.
KEY_TOUCH_INTERVAL = timedelta(minutes=1)

_HASHER = PasswordHasher()
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_ID_ALPHABET = string.ascii_letters + string.digits


def _email(value: str) -> str:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        raise ValidationError(f"not a valid email address: {err}", field="email") from None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(
            f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
            field="password",
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise ValidationError("the password is too long", field="password")


@cache
def _dummy_hash() -> str:
    """Verified against when the address is unknown, so a wrong address and a wrong
    password take the same time and the answer does not tell which accounts exist. Made on
    the first login, not at import: hashing costs ~0.15 s that every CLI command paid."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def workspace_to_dict(row: WorkspaceDB, role: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": row.id, "slug": row.slug, "name": row.name}
    if role is not None:
        out["role"] = role
    return out


def user_to_dict(row: UserDB, role: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "email": row.email,
        "name": row.name,
        "created_at": row.created_at,
        "disabled": row.disabled_at is not None,
    }
    if role is not None:
        out["role"] = role
    return out


def api_key_to_dict(row: ApiKeyDB) -> dict[str, Any]:
    """A key as lists show it: never the secret, which is shown once at creation."""
    return {
        "id": row.id,
        "name": row.name,
        "prefix": f"aicmo_{row.public_id}",
        "role": row.role,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at,
    }


def resolve_workspace(db: Session, ref: str | int) -> WorkspaceDB:
    """A workspace by id or slug."""
    row = None
    if isinstance(ref, int) or str(ref).isdigit():
        row = repo.get_workspace(db, int(ref))
    if row is None:
        row = repo.workspace_by_slug(db, str(ref).strip().lower())
    if row is None:
        raise NotFoundError(f"no workspace {ref!r} (see `aicmo workspace list`)")
    return row


def create_workspace(db: Session, slug: str, name: str | None = None) -> dict[str, Any]:
    """A new workspace with its defaults (channel limits, the default sequence, an ICP)."""
    slug = slug.strip().lower()
    if not _SLUG.match(slug):
        raise ValidationError(
            "a workspace slug is 1-63 lower-case letters, digits and dashes", field="slug"
        )
    if repo.workspace_by_slug(db, slug) is not None:
        raise ConflictError(f"workspace {slug!r} exists already")
    with unit_of_work(db):
        row = WorkspaceDB(slug=slug, name=(name or slug).strip()[:200])
        db.add(row)
        db.flush()
        workspace_id = row.id
    ensure_workspace_defaults(db, workspace_id)
    return workspace_to_dict(row)


def list_workspaces(db: Session) -> list[dict[str, Any]]:
    return [workspace_to_dict(w) for w in repo.all_workspaces(db)]


def add_user(
    db: Session,
    email: str,
    password: str | None,
    *,
    role: Role | str,
    workspace_id: int,
    name: str | None = None,
) -> dict[str, Any]:
    """Give a person a role in a workspace, creating their account on first use.

    A new account needs a password; an existing one keeps its own (the role is set).
    """
    address = _email(email)
    the_role = parse_role(str(role))
    if repo.get_workspace(db, workspace_id) is None:
        raise NotFoundError(f"no workspace {workspace_id}")
    with unit_of_work(db):
        user = repo.user_by_email(db, address)
        created = user is None
        if user is None:
            if password is None:
                raise ValidationError("a new user needs a password", field="password")
            _check_password(password)
            user = UserDB(email=address, name=name, password_hash=_HASHER.hash(password))
            db.add(user)
            db.flush()
        member = repo.membership(db, user.id, workspace_id)
        if member is None:
            db.add(MembershipDB(user_id=user.id, workspace_id=workspace_id, role=the_role.value))
        else:
            member.role = the_role.value
    return {**user_to_dict(user, the_role.value), "created": created}


def set_password(db: Session, email: str, password: str) -> None:
    _check_password(password)
    with unit_of_work(db):
        user = repo.user_by_email(db, _email(email))
        if user is None:
            raise NotFoundError(f"no user {email!r}")
        user.password_hash = _HASHER.hash(password)


def list_members(db: Session, workspace_id: int) -> list[dict[str, Any]]:
    return [user_to_dict(u, role) for u, role in repo.workspace_members(db, workspace_id)]


def count_users(db: Session) -> int:
    return repo.count_users(db)


def user_exists(db: Session, email: str) -> bool:
    return repo.user_by_email(db, _email(email)) is not None


def authenticate_password(
    db: Session, email: str, password: str, *, workspace_id: int | None = None
) -> Principal:
    """The principal of a person signing in: their first workspace unless one is named.

    Every failure reads the same, and takes the same time, whatever was wrong.
    """
    failure = AuthenticationError("the email or the password is not right")
    user = repo.user_by_email(db, email) if len(password) <= MAX_PASSWORD_LENGTH else None
    try:
        _HASHER.verify(user.password_hash if user else _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        raise failure from None
    if user is None or user.disabled_at is not None:
        raise failure
    if _HASHER.check_needs_rehash(user.password_hash):
        with unit_of_work(db):
            user.password_hash = _HASHER.hash(password)
    memberships = repo.user_workspaces(db, user.id)
    for workspace, role in memberships:
        if workspace_id is None or workspace.id == workspace_id:
            return Principal(workspace_id=workspace.id, role=Role(role), user_id=user.id)
    raise failure  # no access there: said as any other failure, to anyone guessing


def create_api_key(
    db: Session,
    *,
    workspace_id: int,
    name: str,
    role: Role | str,
    created_by: int | None = None,
) -> dict[str, Any]:
    """A new key; the returned ``key`` is the only time the secret is ever shown."""
    label = name.strip()
    if not label or len(label) > 200:
        raise ValidationError("a key needs a name of 1-200 characters", field="name")
    the_role = parse_role(str(role))
    if repo.get_workspace(db, workspace_id) is None:
        raise NotFoundError(f"no workspace {workspace_id}")
    public_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
    secret = secrets.token_urlsafe(32)
    with unit_of_work(db):
        row = ApiKeyDB(
            workspace_id=workspace_id,
            public_id=public_id,
            secret_digest=secret_digest(secret),
            name=label,
            role=the_role.value,
            created_by=created_by,
            created_at=utcnow(),
        )
        db.add(row)
        db.flush()
    return {**api_key_to_dict(row), "key": format_key(public_id, secret)}


def list_api_keys(db: Session, workspace_id: int) -> list[dict[str, Any]]:
    return [api_key_to_dict(k) for k in repo.workspace_api_keys(db, workspace_id)]


def revoke_api_key(db: Session, workspace_id: int, key_id: int) -> dict[str, Any]:
    """Revoke a key of this workspace at once; revoking twice changes nothing."""
    with unit_of_work(db):
        row = db.get(ApiKeyDB, key_id)
        if row is None or row.workspace_id != workspace_id:
            raise NotFoundError(f"no API key {key_id} in this workspace")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
    return api_key_to_dict(row)


def authenticate_key(
    db: Session,
    raw: str,
    *,
    now: datetime | None = None,
    record_use: Callable[[int, datetime], None] | None = None,
) -> Principal:
    """The principal of an API key, or AuthenticationError (one message for every cause).

    A key not used for ``KEY_TOUCH_INTERVAL`` has its use recorded: here, in its own
    short write, or by ``record_use(key_id, moment)`` when the caller must not wait for
    the write lock (a read served on the event loop hands the write to a thread).
    """
    failure = AuthenticationError("the API key is not valid")
    parts = parse_key(raw)
    if parts is None:
        raise failure
    row = repo.api_key_by_public_id(db, parts.public_id)
    if row is None or row.revoked_at is not None:
        raise failure
    if not secret_matches(parts.secret, row.secret_digest):
        raise failure
    moment = now or utcnow()
    principal = Principal(workspace_id=row.workspace_id, role=Role(row.role), key_id=row.id)
    if row.last_used_at is None or row.last_used_at < moment - KEY_TOUCH_INTERVAL:
        (record_use or partial(record_key_use, db))(row.id, moment)
    return principal


def record_key_use(db: Session, key_id: int, moment: datetime) -> None:
    """Note that the key was used at ``moment``, unless that was noted in the last
    ``KEY_TOUCH_INTERVAL``.

    Its own short write, which waits for the lock like any writer: the first requests
    of a minute all arrive here together, and a write on top of their reads would fail
    them with "database is locked" on SQLite.
    """
    with write_unit(db):
        repo.touch_api_key(db, key_id, moment, older_than=moment - KEY_TOUCH_INTERVAL)


@dataclass(frozen=True, slots=True)
class BrowserSession:
    """What signing in gives a browser: the cookie's token (shown once) and the CSRF token
    that must come back with every change."""

    token: str
    csrf_token: str
    principal: Principal
    expires_at: datetime


def sign_in(
    db: Session,
    email: str,
    password: str,
    *,
    client: str,
    workspace: str | None = None,
    now: datetime | None = None,
) -> BrowserSession:
    """Check the password and open a session in ``workspace`` (slug or id; the person's
    first one when None); throttled per address and per client. An unknown workspace
    fails like a wrong password: the answer tells a guesser nothing.

    Raises:
        RateLimitedError: too many failures in this window (``retry_at`` says until when).
        AuthenticationError: wrong address or password (one message for both).
    """
    now = now or utcnow()
    window = login_window(now)
    by_email, by_client = f"email:{email.strip().lower()}"[:400], f"ip:{client}"[:400]
    counts = repo.login_failures(db, [by_email, by_client], window)
    db.rollback()
    if login_blocked(counts.get(by_email, 0), counts.get(by_client, 0)):
        raise RateLimitedError(
            "too many failed sign-ins; wait a few minutes", retry_at=window + LOGIN_WINDOW
        )
    workspace_id = None
    if workspace is not None:
        try:
            workspace_id = resolve_workspace(db, workspace).id
        except NotFoundError:
            workspace_id = 0  # matches no membership
    try:
        principal = authenticate_password(db, email, password, workspace_id=workspace_id)
    except AuthenticationError:
        db.rollback()
        with unit_of_work(db):
            repo.count_login_failure(db, by_email, window)
            repo.count_login_failure(db, by_client, window)
        raise
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with unit_of_work(db):
        repo.clear_login_failures(db, by_email)
        repo.delete_expired_sessions(db, now)
        repo.prune_login_failures(db, window - LOGIN_WINDOW)
        assert principal.user_id is not None
        db.add(
            UserSessionDB(
                token_digest=secret_digest(token),
                user_id=principal.user_id,
                workspace_id=principal.workspace_id,
                csrf_token=csrf,
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
    return BrowserSession(token, csrf, principal, now + SESSION_LIFETIME)


def session_principal(
    db: Session, token: str, *, now: datetime | None = None
) -> tuple[Principal, str]:
    """The principal of a session cookie and its CSRF token.

    The role is read again from the membership on every request, so a demotion, removal
    or disabled account takes effect at once.
    """
    failure = AuthenticationError("not signed in, or the session has ended; sign in again")
    if not token or len(token) > 200:
        raise failure
    row = repo.session_by_digest(db, secret_digest(token))
    if row is None or row.expires_at <= (now or utcnow()):
        raise failure
    user = db.get(UserDB, row.user_id)
    member = repo.membership(db, row.user_id, row.workspace_id)
    if user is None or user.disabled_at is not None or member is None:
        raise failure
    principal = Principal(
        workspace_id=row.workspace_id, role=Role(member.role), user_id=row.user_id
    )
    return principal, row.csrf_token


def whoami(db: Session, principal: Principal) -> dict[str, Any]:
    """Who a principal is, as a page shows it: the person's address and the workspace."""
    user = db.get(UserDB, principal.user_id) if principal.user_id is not None else None
    ws = repo.get_workspace(db, principal.workspace_id)
    return {
        "email": user.email if user else "",
        "name": user.name if user else None,
        "workspace": ws.slug if ws else "",
        "workspace_name": ws.name if ws else "",
        "role": principal.role.value,
    }


def sign_out(db: Session, token: str) -> None:
    with unit_of_work(db):
        repo.delete_session(db, secret_digest(token))


__all__ = [
    "MIN_PASSWORD_LENGTH",
    "BrowserSession",
    "add_user",
    "api_key_to_dict",
    "authenticate_key",
    "authenticate_password",
    "count_users",
    "create_api_key",
    "create_workspace",
    "list_api_keys",
    "list_members",
    "list_workspaces",
    "record_key_use",
    "resolve_workspace",
    "revoke_api_key",
    "session_principal",
    "set_password",
    "sign_in",
    "sign_out",
    "user_exists",
    "whoami",
]
