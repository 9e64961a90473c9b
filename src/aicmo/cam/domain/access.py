"""Who may do what: roles, and the shape of an API key.

Three roles, each a superset of the one below, because that is what small teams and
agencies ask for and can reason about: a *viewer* reads, an *operator* runs the outreach
(leads, campaigns, tasks, suppression), an *admin* also manages the workspace's people,
keys, mailboxes and webhooks. A finer grid of permissions is easy to add here later; the
routes only ever ask ``allows(role, need)``.

An API key reads ``aicmo_<id>_<secret>``: the id is public (it is shown in lists and
logs, and finds the row without scanning), the secret is 32 random bytes. Only a SHA-256
digest of the secret is stored. A slow password hash (argon2) would add tens of
milliseconds to every API call and buys nothing for a secret with 256 bits of entropy;
passwords, which people choose, get argon2.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aicmo.errors import ValidationError


class Role(StrEnum):
    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"


#: Higher rank includes everything a lower rank may do.
_RANK = {Role.VIEWER: 0, Role.OPERATOR: 1, Role.ADMIN: 2}

KEY_PREFIX = "aicmo"
_KEY = re.compile(r"^aicmo_([A-Za-z0-9]{8,32})_([A-Za-z0-9_-]{20,100})$")


def parse_role(value: str) -> Role:
    try:
        return Role(value.strip().lower())
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise ValidationError(f"unknown role {value!r}; use one of {names}", field="role") from None


def allows(role: Role | str, need: Role) -> bool:
    """True when ``role`` may do what ``need`` may."""
    return _RANK[Role(role)] >= _RANK[need]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, in which workspace, with which role (a key or a signed-in user)."""

    workspace_id: int
    role: Role
    user_id: int | None = None
    key_id: int | None = None

    def may(self, need: Role) -> bool:
        return allows(self.role, need)


@dataclass(frozen=True, slots=True)
class KeyParts:
    public_id: str
    secret: str


def format_key(public_id: str, secret: str) -> str:
    return f"{KEY_PREFIX}_{public_id}_{secret}"


def parse_key(value: str) -> KeyParts | None:
    """The key's parts, or None when it is not shaped like one of ours."""
    match = _KEY.match(value.strip())
    if match is None:
        return None
    return KeyParts(public_id=match.group(1), secret=match.group(2))


#: Failed sign-ins are counted per window of this length.
LOGIN_WINDOW = timedelta(minutes=15)
#: Failures allowed per window for one address (a person mistyping), and for one client
#: address (one machine guessing across many accounts).
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_CLIENT = 30
#: A browser session lasts this long, then the person signs in again.
SESSION_LIFETIME = timedelta(hours=12)


def login_window(now: datetime) -> datetime:
    """The start of the counting window ``now`` falls in."""
    seconds = int(LOGIN_WINDOW.total_seconds())
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)


def login_blocked(failures_by_email: int, failures_by_client: int) -> bool:
    """True when the next attempt must wait for the window to pass, right password or not
    (answering differently would tell a guesser when they hit it)."""
    return (
        failures_by_email >= MAX_FAILURES_PER_EMAIL or failures_by_client >= MAX_FAILURES_PER_CLIENT
    )


def secret_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, digest: str) -> bool:
    """Constant-time comparison, so the answer's timing leaks nothing of the digest."""
    return hmac.compare_digest(secret_digest(secret), digest)


__all__ = [
    "KEY_PREFIX",
    "LOGIN_WINDOW",
    "MAX_FAILURES_PER_CLIENT",
    "MAX_FAILURES_PER_EMAIL",
    "SESSION_LIFETIME",
    "KeyParts",
    "Principal",
    "Role",
    "allows",
    "format_key",
    "login_blocked",
    "login_window",
    "parse_key",
    "parse_role",
    "secret_digest",
    "secret_matches",
]
