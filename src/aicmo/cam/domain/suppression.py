"""What a suppression entry is and how a value is matched. Pure: no I/O.

Kinds: an email address, a whole domain, a LinkedIn profile (by its dedupe key), and
the salted hashes that keep an erased person suppressed without keeping who they were.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

from aicmo.cam.domain import leads as L
from aicmo.errors import ValidationError


class SuppressionKind(StrEnum):
    EMAIL = "EMAIL"
    DOMAIN = "DOMAIN"
    LINKEDIN = "LINKEDIN"
    #: HMAC of an erased person's email key.
    EMAIL_HASH = "EMAIL_HASH"
    #: HMAC of an erased person's LinkedIn key.
    LINKEDIN_HASH = "LINKEDIN_HASH"


class SuppressionReason(StrEnum):
    UNSUBSCRIBED = "UNSUBSCRIBED"
    HARD_BOUNCE = "HARD_BOUNCE"
    SOFT_BOUNCES = "SOFT_BOUNCES"
    COMPLAINED = "COMPLAINED"
    ERASED = "ERASED"
    MANUAL = "MANUAL"


def identity_hash(salt: str, value: str) -> str:
    """Irreversible, salted: can be checked against an address, never turned back into one."""
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()


def erased_message_key(salt: str, key: str) -> str:
    """What an erased person's inbound message is remembered by.

    A Message-ID names the sender's mail host (``<abc@mail.acme.example>``); the salted
    hash keeps "seen it already" working (a mailbox read again applies nothing twice)
    without keeping the domain. Keys without an ``@`` (provider event ids, digests of
    the raw message) name nobody and stay as they are.
    """
    if "@" not in key:
        return key
    return "erased:" + identity_hash(salt, key)


def parse_entry(value: str, kind: str | None = None) -> tuple[SuppressionKind, str]:
    """(kind, normalised value) from what an operator typed.

    ``jane@acme.example`` → EMAIL, ``acme.example`` or ``@acme.example`` → DOMAIN,
    ``linkedin.com/in/jane`` → LINKEDIN.

    Raises:
        ValidationError: nothing recognisable, or a kind that does not fit the value.
    """
    raw = value.strip()
    if not raw:
        raise ValidationError("nothing to suppress", field="value")
    try:
        chosen = SuppressionKind(kind.strip().upper()) if kind else None
    except ValueError:
        raise ValidationError(
            f"unknown kind {kind!r}; use EMAIL, DOMAIN or LINKEDIN (or leave it out)",
            field="kind",
        ) from None
    if chosen in {SuppressionKind.EMAIL_HASH, SuppressionKind.LINKEDIN_HASH}:
        raise ValidationError("hash entries are made by erasure, not by hand", field="kind")
    if chosen is SuppressionKind.LINKEDIN or (chosen is None and "linkedin.com" in raw.lower()):
        return SuppressionKind.LINKEDIN, L.normalize_linkedin_url(raw)[1]
    if chosen is SuppressionKind.DOMAIN or (chosen is None and "@" not in raw.lstrip("@")):
        domain = raw.lstrip("@").lower()
        try:
            _, key = L.normalize_email("postmaster@" + domain)
        except ValidationError:
            raise ValidationError(f"not a domain: {raw!r}", field="value") from None
        return SuppressionKind.DOMAIN, L.email_domain(key)
    return SuppressionKind.EMAIL, L.normalize_email(raw)[1]


def match_pairs(
    salt: str, *, email_key: str | None, linkedin_key: str | None
) -> list[tuple[str, str]]:
    """Every (kind, value) that would suppress a recipient with these keys."""
    pairs: list[tuple[str, str]] = []
    if email_key:
        pairs += [
            (SuppressionKind.EMAIL.value, email_key),
            (SuppressionKind.DOMAIN.value, L.email_domain(email_key)),
            (SuppressionKind.EMAIL_HASH.value, identity_hash(salt, email_key)),
        ]
    if linkedin_key:
        pairs += [
            (SuppressionKind.LINKEDIN.value, linkedin_key),
            (SuppressionKind.LINKEDIN_HASH.value, identity_hash(salt, linkedin_key)),
        ]
    return pairs
