"""Workspaces and who may enter them: users, their memberships, API keys, browser
sessions and the throttle on failed sign-ins.

Kept apart from the outreach rows because access control reads and writes only these,
and every other row hangs off a workspace defined here.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aicmo.cam.db_models.base import Base, utcnow, workspace_fk
from aicmo.db.types import JSONType


class WorkspaceDB(Base):
    """A tenant: one client of an agency, or the single default workspace."""

    __tablename__ = "workspaces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    icp: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    #: Salt of the hashes that keep erased people suppressed (lives with the data, so a
    #: rotated secret key never lets an erased person be contacted again).
    hash_salt: Mapped[str] = mapped_column(String(64), default=lambda: secrets.token_hex(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UserDB(Base):
    """A person who signs in: one password (argon2), a role in each workspace they join."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Lower-cased: one account per address however it is typed.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column()


class MembershipDB(Base):
    """A user's role in one workspace; no row, no access."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "workspace_id", name="uq_memberships_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[int] = workspace_fk()
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKeyDB(Base):
    """A key for scripts and integrations: one workspace, one role, revocable.

    The secret is kept only as a digest (``aicmo.cam.domain.access``); ``public_id``
    finds the row.
    """

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[int] = workspace_fk()
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    secret_digest: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class UserSessionDB(Base):
    """A signed-in browser: the cookie holds a random token, the row only its digest.

    Server-side rows (not a signed cookie alone) so that signing out, disabling a user or
    removing them from a workspace ends their sessions at once.
    """

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    workspace_id: Mapped[int] = workspace_fk()
    #: Sent back in X-CSRF-Token (or a form's csrf_token) with every change.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()


class LoginFailureDB(Base):
    """Failed sign-ins per address and per client address, counted per window, so that
    guessing passwords is throttled across every process serving the app."""

    __tablename__ = "login_failures"
    __table_args__ = (UniqueConstraint("subject", "window_start", name="uq_login_failures_window"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: ``email:<address>`` or ``ip:<address>``.
    subject: Mapped[str] = mapped_column(String(400))
    window_start: Mapped[datetime] = mapped_column()
    failures: Mapped[int] = mapped_column(Integer, default=0)
