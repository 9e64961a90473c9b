"""The Unipile adapter's vocabulary: LinkedIn identities, the profile and message models,
the published limits, and the errors its calls raise (each also a ChannelError subclass
that says what it means for a send: later, never, or unknown). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from typing import Final, TypeVar
from urllib.parse import quote, unquote

from aicmo.cam.domain.leads import normalize_linkedin_url
from aicmo.errors import (
    AicmoError,
    ConfigurationError,
    ConflictError,
    OutcomeUnknownError,
    PermanentChannelError,
    RateLimitedError,
    TransientChannelError,
    ValidationError,
)

#: Unipile refuses longer invitation notes (``maxLength: 300`` in the API schema).
INVITATION_NOTE_MAX_CHARS: Final = 300
#: Unipile's limits page: free LinkedIn accounts get shorter notes (and only a handful a
#: month). Informational: the adapter enforces the API's 300, the caller knows the plan.
FREE_ACCOUNT_NOTE_MAX_CHARS: Final = 200

NETWORK_DISTANCES: Final = ("FIRST_DEGREE", "SECOND_DEGREE", "THIRD_DEGREE", "OUT_OF_NETWORK")

#: How long to wait after LinkedIn's invitation limit answers, when the provider gives no
#: Retry-After. LinkedIn's weekly window rolls, so trying again a day later is the cheapest
#: probe that does not hammer a throttled account.
INVITATION_LIMIT_BACKOFF: Final = timedelta(days=1)


# LinkedIn member ids as Unipile returns them: "ACoAA…" (classic) or "ACwAA…" (Sales Nav).
_PROVIDER_ID_RE = re.compile(r"AC[ow]AA[A-Za-z0-9_-]{10,}")
_URN_RE = re.compile(r"urn:li:(?:fsd_profile|fs_miniProfile|fs_profile|member):(.+)", re.I)
# A bare public id: no separators a URL or e-mail would carry, 3..100 characters.
_VANITY_RE = re.compile(r"[^\s/?#@:.,;]{3,100}")


@dataclass(frozen=True, slots=True)
class LinkedInLimits:
    """Conservative per-account caps for LinkedIn actions; the scheduler enforces them.

    Why these numbers: Unipile's limits page says a paid, active account can send 80-100
    invitations a day and about 200 a week, a free one about 150 a week without a note (and
    5-15 notes), 80-100 profile views a day and about 100 other actions a day; LinkedIn
    itself caps invitations per week (around 100 for most accounts). The defaults sit well
    under all of that, so a new or free account is safe out of the box. Per-account
    overrides come from the account's settings via :meth:`with_overrides`.
    """

    invitations_per_day: int = 15
    invitations_per_week: int = 80
    messages_per_day: int = 50
    profile_views_per_day: int = 80

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValidationError(
                    f"LinkedIn limit {f.name} must be a whole number ≥ 0", field=f.name
                )
        if self.invitations_per_day > self.invitations_per_week:
            raise ValidationError(
                "invitations_per_day cannot exceed invitations_per_week",
                field="invitations_per_day",
            )

    def with_overrides(self, overrides: Mapping[str, int]) -> LinkedInLimits:
        """Return a copy with some caps replaced (unknown names are refused, not ignored)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValidationError(
                f"unknown LinkedIn limit(s): {', '.join(unknown)}"
                f" (known: {', '.join(sorted(known))})",
                field=unknown[0],
            )
        return replace(self, **dict(overrides))


DEFAULT_LIMITS: Final = LinkedInLimits()


# --------------------------------------------------------------------------- identity


def linkedin_identifier(value: str) -> str:
    """Return what Unipile's ``/users/{identifier}`` takes for a LinkedIn profile reference.

    Accepts a profile URL in any of its shapes (country or mobile subdomain, no scheme,
    tracking query, trailing slash, percent-encoded vanity; parsing is
    :func:`aicmo.cam.domain.leads.normalize_linkedin_url`, so dedupe and this agree), a
    Sales Navigator lead URL, a bare public id (``jane-doe-123``), a provider id
    (``ACoAA…``) or a profile URN. Public ids come back lower-cased (LinkedIn treats them
    case-insensitively); provider ids keep their case (they are case-sensitive).

    Raises:
        ValidationError: not a LinkedIn member reference (company pages, old ``/pub/`` URLs,
            e-mail addresses…).
    """
    raw = value.strip()
    if not raw:
        raise ValidationError("empty LinkedIn profile reference", field="linkedin")
    urn = _URN_RE.fullmatch(raw)
    if urn:
        inner = urn.group(1)
        if _PROVIDER_ID_RE.fullmatch(inner):
            return inner
        raise ValidationError(f"LinkedIn URN without a profile id: {raw!r}", field="linkedin")
    if _PROVIDER_ID_RE.fullmatch(raw):
        return raw
    if "linkedin.com" in raw.lower() or raw.startswith("/"):
        canonical, key = normalize_linkedin_url(raw)
        kind, _, ident = key.partition(":")
        if kind == "in":
            # /in/ACoAA… (LinkedIn's own links to members without a public id): the
            # provider id, whose case matters; the dedupe key lowers it.
            tail = unquote(canonical.rstrip("/").rsplit("/", 1)[-1])
            if _PROVIDER_ID_RE.fullmatch(tail):
                return tail
            return ident
        if kind == "sales":
            # The lead id is a provider id: keep its case (the dedupe key lowers it).
            return canonical.rsplit("/", 1)[-1]
        raise ValidationError(
            f"this LinkedIn URL has no public profile id; open it and use its /in/ URL: {raw!r}",
            field="linkedin",
        )
    vanity = unquote(raw)
    if _VANITY_RE.fullmatch(vanity):
        return vanity.lower()
    raise ValidationError(f"not a LinkedIn profile reference: {raw!r}", field="linkedin")


def linkedin_identity_keys(value: str) -> tuple[str, ...]:
    """Dedupe/suppression keys for a profile reference: ``in:<public id>`` or ``id:<provider id>``.

    ``in:`` keys match :func:`~aicmo.cam.domain.leads.normalize_linkedin_url`'s, so a lead
    imported by URL and a profile resolved by Unipile meet on the same key;
    :attr:`LinkedInProfile.identity_keys` gives both keys once the profile is resolved.
    """
    ident = linkedin_identifier(value)
    if _PROVIDER_ID_RE.fullmatch(ident):
        return (f"id:{ident}",)
    return (f"in:{ident}",)


@dataclass(frozen=True, slots=True)
class LinkedInProfile:
    """A LinkedIn member as Unipile resolved it for the connected account.

    ``is_connected`` is true for first-degree relations (only those can be messaged without
    InMail); ``pending_invitation`` is true while an invitation *we* sent waits for an answer.
    """

    provider_id: str
    public_identifier: str | None
    name: str
    headline: str
    network_distance: str | None
    is_connected: bool
    pending_invitation: bool

    @property
    def public_url(self) -> str | None:
        """The canonical profile URL (``None`` when LinkedIn hides the public id)."""
        if not self.public_identifier:
            return None
        return f"https://www.linkedin.com/in/{quote(self.public_identifier, safe='-_')}"

    @property
    def identity_keys(self) -> tuple[str, ...]:
        """Every key under which this person may already be known (provider id first)."""
        keys = [f"id:{self.provider_id}"]
        if self.public_identifier:
            keys.append(f"in:{self.public_identifier.lower()}")
        return tuple(keys)


@dataclass(frozen=True, slots=True)
class LinkedInRelation:
    """One first-degree relation of the connected account."""

    provider_id: str
    public_identifier: str | None
    name: str
    connected_at: datetime | None


@dataclass(frozen=True, slots=True)
class SentMessage:
    """What Unipile answered to a sent message (its schema lets both ids be null)."""

    chat_id: str | None
    message_id: str | None


@dataclass(frozen=True, slots=True)
class ProviderMessage:
    """One message in a LinkedIn conversation of the connected account.

    ``sender_provider_id`` is the sender's LinkedIn provider id, so replies are matched to
    leads by the id :attr:`LinkedInProfile.provider_id` gave; ``from_us`` is true for
    messages the connected account sent; ``is_event`` marks reactions and other non-text
    events the provider reports as messages.
    """

    id: str
    chat_id: str
    sender_provider_id: str
    text: str
    sent_at: datetime
    from_us: bool
    is_event: bool = False


_T = TypeVar("_T")


def match_replies(
    messages: Iterable[ProviderMessage], leads_by_provider_id: Mapping[str, _T]
) -> Iterator[tuple[_T, ProviderMessage]]:
    """Yield ``(lead, message)`` for each inbound, non-event message from a known lead.

    A reply stops the lead's sequence, exactly as an e-mail reply does; messages we sent and
    senders we do not know are skipped.
    """
    for message in messages:
        if message.from_us or message.is_event:
            continue
        lead = leads_by_provider_id.get(message.sender_provider_id)
        if lead is not None:
            yield lead, message


# --------------------------------------------------------------------------- errors


class UnipileError(AicmoError):
    """Unipile refused or failed the request.

    Mixed into every error below, so ``except UnipileError`` catches them all while each
    still is the project-wide class that says what to do (retry, give up, pause, verify).

    Attributes:
        status: the HTTP status, or ``None`` when no answer came.
        error_type: Unipile's problem ``type`` (``"errors/…"``), when it sent one.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        error_type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class ProviderConfigurationError(UnipileError, ConfigurationError, TransientChannelError):
    """The Unipile settings cannot work (unknown account id…); nothing was sent.

    Transient for the lead: once an operator fixes the settings, sending is safe.
    """


class ProviderAuthError(ProviderConfigurationError):
    """Unipile refused the API key (401); nothing was sent. The key is never quoted."""


class AccountRestrictedError(UnipileError, TransientChannelError):
    """LinkedIn or Unipile restricts the connected account; nothing was sent.

    Pause the *account* (not the lead) and alert an operator: every further action would fail
    the same way and may worsen the restriction. Transient for the lead, who can be contacted
    once the account is healthy again.
    """


class AccountDisconnectedError(AccountRestrictedError):
    """The LinkedIn session behind the account is gone (expired, checkpoint…); reconnect it."""


class ProfileNotFoundError(UnipileError, PermanentChannelError):
    """No LinkedIn member answers to this identifier; retrying will not help."""


class NotConnectedError(UnipileError, PermanentChannelError):
    """The person is not a first-degree relation and the account cannot InMail them.

    Permanent for this message; the sequence should invite first and wait for acceptance.
    """


class AlreadyInvitedError(UnipileError, PermanentChannelError, ConflictError):
    """An invitation to this person is already pending (or you are already connected).

    No new invitation went out. Move the lead to "waiting for acceptance" (or check
    :meth:`UnipileClient.is_connected`); do not retry the invitation.
    """


class _RetryHintError(UnipileError):
    """A Unipile error that says when trying again may work.

    Attributes:
        retry_at: when to try again, if known.
        retry_after: the delay Unipile asked for, if it gave one.
    """

    def __init__(
        self,
        message: str | None = None,
        *,
        status: int | None = None,
        error_type: str | None = None,
        retry_at: datetime | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(message, status=status, error_type=error_type)
        self.retry_at = retry_at
        self.retry_after = retry_after


class InvitationLimitError(_RetryHintError, TransientChannelError, RateLimitedError):
    """LinkedIn's invitation limit is reached for this account; reschedule, keep the lead.

    ``retry_at`` is a hint (from Retry-After, else ``now`` + :data:`INVITATION_LIMIT_BACKOFF`
    when the caller passed ``now``); ``retry_after`` is the delay when one is known.
    """


class ProviderRateLimitedError(_RetryHintError, TransientChannelError, RateLimitedError):
    """Unipile or LinkedIn throttles the account (429); nothing was done, try later.

    ``retry_after`` comes from the Retry-After header; ``retry_at`` is set when the header is
    an HTTP date, or when it is a delay and the caller passed ``now``.
    """


class ProviderRejectedError(UnipileError, PermanentChannelError):
    """Unipile refused this request for good (a 4xx not covered by a sharper class)."""


class ProviderUnavailableError(UnipileError, TransientChannelError):
    """Unipile could not be reached or failed before acting (refused, timeout, 5xx on a read)."""


class ProviderOutcomeUnknownError(UnipileError, OutcomeUnknownError):
    """The send was transmitted and no clear answer came back; it may have gone out.

    Do not resend blindly: check the chat (:meth:`UnipileClient.list_messages`) or the
    profile's pending invitation first.
    """
