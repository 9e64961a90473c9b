"""LinkedIn through Unipile's HTTP API v1: resolve profiles, invite, message, read replies.

LinkedIn has no public API for outreach, so aicmo talks to a hosted automation provider.
This adapter targets Unipile API v1 as documented at https://developer.unipile.com
(reference pages under ``/reference/``: ``userscontroller_getprofilebyidentifier``,
``userscontroller_adduserbyidentifier``, ``userscontroller_getrelations``,
``chatscontroller_startnewchat``, ``chatscontroller_sendmessageinchat``,
``chatscontroller_listchatmessages``, ``messagescontroller_listallmessages``,
``accountscontroller_getaccountbyid``; guides under ``/docs/``: ``api-usage``,
``invite-users``, ``send-messages``, ``detecting-accepted-invitations``,
``provider-limits-and-restrictions``).

The contract, as documented:

* Base URL is the account's DSN (``https://api1.unipile.com:13111``); every request carries
  ``X-API-KEY`` and ``accept: application/json``; every LinkedIn call names ``account_id``.
* ``GET /api/v1/users/{identifier}`` takes a public id (vanity) or a provider id (``ACoAA…``)
  and answers ``{"object": "UserProfile", "provider_id", "public_identifier", "first_name",
  "last_name", "headline", "network_distance": FIRST_DEGREE|SECOND_DEGREE|THIRD_DEGREE|
  OUT_OF_NETWORK, "is_relationship", "invitation": {"type": SENT|RECEIVED, "status":
  PENDING|IGNORED|WITHDRAWN}}``.
* ``POST /api/v1/users/invite`` (JSON ``provider_id``, ``account_id``, ``message`` ≤ 300
  chars) answers ``{"object": "UserInvitationSent", "invitation_id"}``.
* ``GET /api/v1/users/relations`` lists ``UserRelation`` items (``member_id``,
  ``public_identifier``, ``created_at``…); acceptance is detected by polling it or the
  profile (Unipile's webhook for new relations lags up to 8 hours anyway).
* ``POST /api/v1/chats`` (multipart: ``account_id``, ``text``, ``attendees_ids``) answers 201
  ``{"object": "ChatStarted", "chat_id", "message_id"}``; ``POST /api/v1/chats/{id}/messages``
  (multipart ``text``) answers 201 ``{"object": "MessageSent", "message_id"}``. Without
  InMail, LinkedIn lets you start chats with first-degree relations only.
* ``GET /api/v1/messages`` and ``GET /api/v1/chats/{id}/messages`` answer ``{"object":
  "MessageList", "items": [Message], "cursor"}``, newest first; a Message has ``id``,
  ``chat_id``, ``sender_id`` (the sender's provider id), ``text``, ``timestamp`` (ISO 8601)
  and ``is_sender`` (1 when the connected account sent it). ``after`` / ``before`` take
  ``YYYY-MM-DDTHH:MM:SS.sssZ`` and are exclusive.
* Lists are cursor-paginated: pass the ``cursor`` of one page to get the next; a null cursor
  means there are no more pages.
* Errors are RFC 7807 JSON ``{"status", "type": "errors/…", "title", "detail",
  "instance"}``: 400 (``invalid_parameters``, ``too_many_characters``…), 401
  (``missing_credentials``, ``invalid_credentials``, ``disconnected_account``,
  ``expired_credentials``, ``checkpoint_error``…), 403 (``account_restricted``,
  ``action_required``, ``feature_not_subscribed``…), 404 (``resource_not_found``,
  ``invalid_resource_identifier``), 422 (``no_connection_with_recipient``,
  ``not_allowed_inmail``, ``cannot_resend_yet``, ``limit_exceeded``,
  ``already_invited_recently``, ``action_already_performed``, ``invalid_recipient``…), 429
  (``too_many_requests``), 500 (``unexpected_error``, ``provider_error``), 503
  (``no_client_session``, ``network_down``, ``service_unavailable``), 504
  (``request_timeout``).

What the docs leave open, and what this module assumes:

* A wrong or missing API key answers 401 ``errors/invalid_credentials`` /
  ``errors/missing_credentials`` (the other 401 types concern the LinkedIn session).
* The weekly invitation limit answers 422 ``errors/cannot_resend_yet`` (the docs' "error on
  limit"; it is also LinkedIn's cool-down after a withdrawn invitation) or
  ``errors/limit_exceeded``. Both mean "later", never "this lead is bad".
* A 500 or 504 answering a send may come after LinkedIn took the action (the docs say
  LinkedIn's own limits surface as 500), so a send that ends that way is *outcome unknown*;
  a 503 or 501 means Unipile did not act.

The adapter never reads the clock (callers pass ``now`` for retry hints), never retries,
never decides about limits (it only publishes conservative defaults), and never puts the
API key in an error message, a repr or a log line.
"""

from __future__ import annotations

import email.utils
import logging
import math
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import quote, urlsplit

import httpx

from aicmo.errors import (
    ValidationError,
)
from aicmo.transports.unipile_models import (
    DEFAULT_LIMITS,
    FREE_ACCOUNT_NOTE_MAX_CHARS,
    INVITATION_LIMIT_BACKOFF,
    INVITATION_NOTE_MAX_CHARS,
    NETWORK_DISTANCES,
    AccountDisconnectedError,
    AccountRestrictedError,
    AlreadyInvitedError,
    InvitationLimitError,
    LinkedInLimits,
    LinkedInProfile,
    LinkedInRelation,
    NotConnectedError,
    ProfileNotFoundError,
    ProviderAuthError,
    ProviderConfigurationError,
    ProviderMessage,
    ProviderOutcomeUnknownError,
    ProviderRateLimitedError,
    ProviderRejectedError,
    ProviderUnavailableError,
    SentMessage,
    UnipileError,
    linkedin_identifier,
    linkedin_identity_keys,
    match_replies,
)

__all__ = [
    "DEFAULT_LIMITS",
    "FREE_ACCOUNT_NOTE_MAX_CHARS",
    "INVITATION_LIMIT_BACKOFF",
    "INVITATION_NOTE_MAX_CHARS",
    "NETWORK_DISTANCES",
    "AccountDisconnectedError",
    "AccountRestrictedError",
    "AlreadyInvitedError",
    "InvitationLimitError",
    "LinkedInLimits",
    "LinkedInProfile",
    "LinkedInRelation",
    "NotConnectedError",
    "ProfileNotFoundError",
    "ProviderAuthError",
    "ProviderConfigurationError",
    "ProviderMessage",
    "ProviderOutcomeUnknownError",
    "ProviderRateLimitedError",
    "ProviderRejectedError",
    "ProviderUnavailableError",
    "SentMessage",
    "UnipileClient",
    "UnipileConfig",
    "UnipileError",
    "linkedin_identifier",
    "linkedin_identity_keys",
    "match_replies",
]

logger = logging.getLogger(__name__)

API_PREFIX: Final = "/api/v1"

_MAX_PAGES: Final = 10_000
_DETAIL_MAX_CHARS: Final = 300

# --------------------------------------------------------------------------- client


@dataclass(frozen=True, slots=True)
class UnipileConfig:
    """How to reach one Unipile account.

    Attributes:
        base_url: the DSN, e.g. ``https://api1.unipile.com:13111`` (``https://`` is added
            when missing).
        api_key: the access token; kept out of the repr and of every message.
        account_id: the Unipile id of the connected LinkedIn account.
        timeout: seconds for connecting and for each read/write.
        page_size: the ``limit`` sent with list requests (``None``: Unipile's default).
    """

    base_url: str
    api_key: str = field(repr=False)
    account_id: str
    timeout: float = 15.0
    page_size: int | None = None

    def __post_init__(self) -> None:
        base = self.base_url.strip().rstrip("/")
        if base and "://" not in base:
            base = "https://" + base
        parts = urlsplit(base)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise ValidationError(
                f"Unipile base URL must be an http(s) URL such as https://api1.unipile.com:13111,"
                f" got {self.base_url!r}",
                field="base_url",
            )
        object.__setattr__(self, "base_url", base)
        if not self.api_key or self.api_key != self.api_key.strip():
            raise ValidationError(
                "Unipile API key is empty or has surrounding spaces", field="api_key"
            )
        if not self.account_id.strip():
            raise ValidationError("Unipile account id is empty", field="account_id")
        if not (math.isfinite(self.timeout) and self.timeout > 0):
            raise ValidationError("Unipile timeout must be > 0 seconds", field="timeout")
        if self.page_size is not None and not 1 <= self.page_size <= 250:
            raise ValidationError("Unipile page size must be 1..250", field="page_size")


@dataclass(frozen=True, slots=True)
class _Op:
    """What a request does, so errors can say it and map to the right outcome."""

    name: str
    subject: Literal["profile", "invitation", "chat", "message", "relations", "account"]
    sends: bool = False


class UnipileClient:
    """Synchronous Unipile API v1 client for one connected LinkedIn account.

    Pass ``http`` to share a client (its base URL and headers are not used; this adapter
    builds absolute URLs and its own headers), or ``transport`` to route requests (tests).
    A client it creates itself is closed by :meth:`close` / the context manager.
    """

    def __init__(
        self,
        config: UnipileConfig,
        *,
        http: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if http is not None and transport is not None:
            raise ValueError("pass either http or transport, not both")
        self._config = config
        self._owns_http = http is None
        self._http = http if http is not None else httpx.Client(transport=transport)

    def __repr__(self) -> str:
        return (
            f"UnipileClient(base_url={self._config.base_url!r},"
            f" account_id={self._config.account_id!r})"
        )

    def __enter__(self) -> UnipileClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    # ------------------------------------------------------------------ profiles

    def get_profile(self, identifier: str) -> LinkedInProfile:
        """Resolve a profile URL, public id or provider id (one LinkedIn profile view).

        Raises:
            ValidationError: not a LinkedIn profile reference (no request made).
            ProfileNotFoundError: LinkedIn has no such member.
        """
        ident = linkedin_identifier(identifier)
        body = self._request(
            "GET",
            f"/users/{quote(ident, safe='')}",
            _Op("get profile", "profile"),
            params={"account_id": self._config.account_id},
        )
        return _parse_profile(body)

    def is_connected(self, provider_id: str) -> bool:
        """Whether the person accepted (is a first-degree relation); reads their profile."""
        return self.get_profile(_check_provider_id(provider_id)).is_connected

    def iter_relations(self) -> Iterator[LinkedInRelation]:
        """All first-degree relations, newest first, following the cursor to the end.

        Unipile advises polling this rarely (a few times a day); stop iterating early once
        you meet a relation you already know.
        """
        params: dict[str, str] = {"account_id": self._config.account_id}
        for item in self._paginate("/users/relations", params, _Op("list relations", "relations")):
            provider_id = _str(item.get("member_id")) or _str(item.get("provider_id"))
            if not provider_id:
                continue
            yield LinkedInRelation(
                provider_id=provider_id,
                public_identifier=_str(item.get("public_identifier")) or None,
                name=_full_name(item),
                connected_at=_parse_time(item.get("created_at")),
            )

    # ------------------------------------------------------------------ invitations

    def send_invitation(
        self, provider_id: str, note: str | None = None, *, now: datetime | None = None
    ) -> str:
        """Invite a person to connect, with an optional note; return Unipile's invitation id.

        ``now`` only feeds the ``retry_at`` hint of :class:`InvitationLimitError`.

        Raises:
            ValidationError: the note is longer than 300 characters (no request made).
            InvitationLimitError: LinkedIn's invitation limit is reached (reschedule).
            AlreadyInvitedError: an invitation is pending or you are connected already.
            ProviderOutcomeUnknownError: transmitted without a clear answer; check the
                profile's ``pending_invitation`` before trying again.
        """
        pid = _check_provider_id(provider_id)
        payload: dict[str, str] = {"provider_id": pid, "account_id": self._config.account_id}
        if note:
            if len(note) > INVITATION_NOTE_MAX_CHARS:
                raise ValidationError(
                    f"invitation note is {len(note)} characters; LinkedIn allows"
                    f" {INVITATION_NOTE_MAX_CHARS}",
                    field="note",
                )
            payload["message"] = note
        body = self._request(
            "POST",
            "/users/invite",
            _Op("send invitation", "invitation", sends=True),
            json_body=payload,
            now=now,
        )
        invitation_id = _str(body.get("invitation_id"))
        if not invitation_id:
            raise ProviderOutcomeUnknownError(
                "Unipile accepted the invitation but returned no invitation id",
                status=200,
            )
        return invitation_id

    # ------------------------------------------------------------------ messaging

    def start_chat(
        self, provider_id: str, text: str, *, now: datetime | None = None
    ) -> SentMessage:
        """Send a first message to a relation (Unipile reuses an existing 1:1 chat).

        Raises:
            NotConnectedError: the person is not a first-degree relation.
            ProviderOutcomeUnknownError: transmitted without a clear answer; list the
                messages before trying again.
        """
        pid = _check_provider_id(provider_id)
        fields_ = [
            ("account_id", self._config.account_id),
            ("text", _check_text(text)),
            ("attendees_ids", pid),
        ]
        body = self._request(
            "POST", "/chats", _Op("start chat", "chat", sends=True), form=fields_, now=now
        )
        return SentMessage(
            chat_id=_str(body.get("chat_id")) or None,
            message_id=_str(body.get("message_id")) or None,
        )

    def send_message(self, chat_id: str, text: str, *, now: datetime | None = None) -> SentMessage:
        """Send a message in an existing chat of this account."""
        chat = _check_id(chat_id, "chat_id")
        fields_ = [("text", _check_text(text)), ("account_id", self._config.account_id)]
        body = self._request(
            "POST",
            f"/chats/{quote(chat, safe='')}/messages",
            _Op("send message", "message", sends=True),
            form=fields_,
            now=now,
        )
        return SentMessage(chat_id=chat, message_id=_str(body.get("message_id")) or None)

    def list_messages(
        self,
        *,
        after: datetime | None = None,
        chat_id: str | None = None,
        sender_provider_id: str | None = None,
    ) -> Iterator[ProviderMessage]:
        """Messages of the account (or of one chat), newest first, every page.

        ``after`` is exclusive and is sent at millisecond precision (rounded down), so a
        poller that passes its last high-water mark may see that last message again: dedupe
        on :attr:`ProviderMessage.id`, as Unipile advises.
        """
        params: dict[str, str] = {}
        if after is not None:
            params["after"] = _format_time(after)
        if sender_provider_id is not None:
            params["sender_id"] = _check_id(sender_provider_id, "sender_provider_id")
        if chat_id is not None:
            path = f"/chats/{quote(_check_id(chat_id, 'chat_id'), safe='')}/messages"
        else:
            path = "/messages"
            params["account_id"] = self._config.account_id
        for item in self._paginate(path, params, _Op("list messages", "message")):
            yield _parse_message(item)

    # ------------------------------------------------------------------ account

    def account_status(self) -> str:
        """The account's sync status: ``OK``, or the first non-OK source status
        (``CREDENTIALS``, ``ERROR``, ``STOPPED``, ``CONNECTING``, ``PERMISSIONS``…)."""
        body = self._request(
            "GET",
            f"/accounts/{quote(self._config.account_id, safe='')}",
            _Op("read account", "account"),
        )
        sources = body.get("sources")
        statuses = [
            _str(s.get("status")) or "UNKNOWN"
            for s in (sources if isinstance(sources, list) else [])
            if isinstance(s, dict)
        ]
        if not statuses:
            return "UNKNOWN"
        return next((s for s in statuses if s != "OK"), "OK")

    # ------------------------------------------------------------------ plumbing

    def _paginate(self, path: str, params: Mapping[str, str], op: _Op) -> Iterator[dict[str, Any]]:
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(_MAX_PAGES):
            page = dict(params)
            if self._config.page_size is not None:
                page["limit"] = str(self._config.page_size)
            if cursor is not None:
                page["cursor"] = cursor
            body = self._request("GET", path, op, params=page)
            items = body.get("items")
            if not isinstance(items, list):
                raise ProviderUnavailableError(f"Unipile {op.name}: answer has no item list")
            for item in items:
                if isinstance(item, dict):
                    yield item
            raw = body.get("cursor")
            if raw is None or raw == "":
                return
            if not isinstance(raw, str | int):
                raise ProviderUnavailableError(f"Unipile {op.name}: unreadable pagination cursor")
            cursor = str(raw)
            if cursor in seen:
                raise ProviderUnavailableError(f"Unipile {op.name}: pagination cursor repeated")
            seen.add(cursor)
        raise ProviderUnavailableError(f"Unipile {op.name}: more than {_MAX_PAGES} pages")

    def _request(
        self,
        method: str,
        path: str,
        op: _Op,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, str] | None = None,
        form: list[tuple[str, str]] | None = None,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        headers = {"X-API-KEY": self._config.api_key, "accept": "application/json"}
        content: bytes | None = None
        if form is not None:
            content, headers["content-type"] = _multipart(form)
        url = f"{self._config.base_url}{API_PREFIX}{path}"
        try:
            response = self._http.request(
                method,
                url,
                params=dict(params or {}),
                json=dict(json_body) if json_body is not None else None,
                content=content,
                headers=headers,
                timeout=self._config.timeout,
            )
        except (
            httpx.ConnectError,
            httpx.ConnectTimeout,
            httpx.PoolTimeout,
            httpx.ProxyError,
            httpx.UnsupportedProtocol,
            httpx.LocalProtocolError,
        ) as exc:
            logger.info("unipile %s: not reached (%s)", op.name, type(exc).__name__)
            raise ProviderUnavailableError(
                f"Unipile {op.name}: could not reach {self._config.base_url}"
                f" ({type(exc).__name__}); nothing was sent"
            ) from exc
        except httpx.TransportError as exc:
            logger.info("unipile %s: no answer (%s)", op.name, type(exc).__name__)
            if op.sends:
                raise ProviderOutcomeUnknownError(
                    f"Unipile {op.name}: the request was sent but no answer came"
                    f" ({type(exc).__name__}); it may have gone out, do not resend blindly"
                ) from exc
            raise ProviderUnavailableError(
                f"Unipile {op.name}: no answer from {self._config.base_url} ({type(exc).__name__})"
            ) from exc
        logger.debug("unipile %s -> %s", op.name, response.status_code)
        if not response.is_success:
            raise self._error_for(response, op, now)
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            if op.sends:
                raise ProviderOutcomeUnknownError(
                    f"Unipile {op.name}: answered {response.status_code} with an unreadable body",
                    status=response.status_code,
                )
            raise ProviderUnavailableError(
                f"Unipile {op.name}: answered {response.status_code} with an unreadable body",
                status=response.status_code,
            )
        return body

    def _error_for(self, response: httpx.Response, op: _Op, now: datetime | None) -> UnipileError:
        status = response.status_code
        problem = _problem(response)
        etype = problem.get("type")
        what = f"Unipile {op.name}: {status}"
        if etype:
            what += f" {etype}"
        said = " - ".join(p for p in (problem.get("title"), problem.get("detail")) if p)
        if said:
            what += f" ({said})"
        message = self._scrub(what)
        info: dict[str, Any] = {"status": status, "error_type": etype}

        if status == 429 or etype == "errors/too_many_requests":
            retry_at, retry_after = _retry_after(response, now)
            return ProviderRateLimitedError(
                message + "; nothing was done, try later",
                retry_at=retry_at,
                retry_after=retry_after,
                **info,
            )
        if status == 401:
            if etype in (None, "errors/missing_credentials", "errors/invalid_credentials"):
                return ProviderAuthError(
                    f"Unipile {op.name}: {status} {etype or 'unauthorized'}: the API key was"
                    " refused; check the key configured for this account",
                    **info,
                )
            return AccountDisconnectedError(
                message + "; reconnect the LinkedIn account in Unipile", **info
            )
        if status == 403:
            if etype == "errors/resource_access_restricted":
                return ProviderRejectedError(message, **info)
            return AccountRestrictedError(
                message + "; pause this LinkedIn account and check it", **info
            )
        if status == 404:
            if op.subject == "account":
                return ProviderConfigurationError(
                    f"{message}; Unipile has no account {self._config.account_id!r}", **info
                )
            if op.subject in ("profile", "invitation", "chat"):
                return ProfileNotFoundError(message, **info)
            return ProviderRejectedError(message, **info)
        if status == 422:
            if etype in ("errors/no_connection_with_recipient", "errors/not_allowed_inmail"):
                return NotConnectedError(
                    message + "; invite the person and wait for acceptance first", **info
                )
            if etype == "errors/invalid_recipient":
                return ProfileNotFoundError(message, **info)
            if op.subject == "invitation":
                if etype in (
                    "errors/cannot_resend_yet",
                    "errors/limit_exceeded",
                    "errors/cannot_resend_within_24hrs",
                ):
                    retry_at, retry_after = _retry_after(response, now)
                    if etype == "errors/cannot_resend_within_24hrs" and retry_after is None:
                        retry_after = timedelta(hours=24)
                    if retry_at is None and now is not None:
                        retry_at = now + (retry_after or INVITATION_LIMIT_BACKOFF)
                    return InvitationLimitError(
                        message + "; reschedule the invitation",
                        retry_at=retry_at,
                        retry_after=retry_after,
                        **info,
                    )
                if etype in ("errors/already_invited_recently", "errors/action_already_performed"):
                    return AlreadyInvitedError(message, **info)
            if etype == "errors/limit_exceeded":
                retry_at, retry_after = _retry_after(response, now)
                return ProviderRateLimitedError(
                    message + "; nothing was done, try later",
                    retry_at=retry_at,
                    retry_after=retry_after,
                    **info,
                )
            if etype in ("errors/provider_unreachable", "errors/realtime_client_not_initialized"):
                return ProviderUnavailableError(message, **info)
            return ProviderRejectedError(message, **info)
        if status >= 500:
            if op.sends and status not in (501, 503):
                return ProviderOutcomeUnknownError(
                    message + "; it may have gone out, do not resend blindly", **info
                )
            return ProviderUnavailableError(message, **info)
        if 400 <= status < 500:
            return ProviderRejectedError(message, **info)
        return ProviderUnavailableError(message + "; unexpected answer", **info)

    def _scrub(self, text: str) -> str:
        key = self._config.api_key
        return text.replace(key, "***") if len(key) >= 4 else text


# --------------------------------------------------------------------------- helpers


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _check_id(value: str, name: str) -> str:
    ident = value.strip()
    if not ident or any(c.isspace() or c in "/?#" for c in ident):
        raise ValidationError(f"{name} is not a Unipile/LinkedIn id: {value!r}", field=name)
    return ident


def _check_provider_id(value: str) -> str:
    return _check_id(value, "provider_id")


def _check_text(text: str) -> str:
    if not text.strip():
        raise ValidationError("the message is empty", field="text")
    return text


def _full_name(item: Mapping[str, Any]) -> str:
    parts = (_str(item.get("first_name")).strip(), _str(item.get("last_name")).strip())
    return " ".join(p for p in parts if p) or _str(item.get("name")).strip()


def _parse_profile(body: Mapping[str, Any]) -> LinkedInProfile:
    provider_id = _str(body.get("provider_id"))
    if not provider_id:
        raise ProviderUnavailableError("Unipile get profile: answer has no provider_id")
    distance = _str(body.get("network_distance")) or None
    invitation = body.get("invitation")
    pending = (
        isinstance(invitation, dict)
        and invitation.get("type") == "SENT"
        and invitation.get("status") == "PENDING"
    )
    return LinkedInProfile(
        provider_id=provider_id,
        public_identifier=_str(body.get("public_identifier")) or None,
        name=_full_name(body),
        headline=_str(body.get("headline")),
        network_distance=distance,
        is_connected=distance == "FIRST_DEGREE" or body.get("is_relationship") is True,
        pending_invitation=pending,
    )


def _parse_message(item: Mapping[str, Any]) -> ProviderMessage:
    message_id = _str(item.get("id")) or _str(item.get("message_id"))
    sent_at = _parse_time(item.get("timestamp"))
    if not message_id or sent_at is None:
        raise ProviderUnavailableError("Unipile list messages: a message has no id or timestamp")
    return ProviderMessage(
        id=message_id,
        chat_id=_str(item.get("chat_id")),
        sender_provider_id=_str(item.get("sender_id")),
        text=_str(item.get("text")),
        sent_at=sent_at,
        from_us=item.get("is_sender") in (1, True),
        is_event=item.get("is_event") in (1, True),
    )


def _parse_time(value: object) -> datetime | None:
    """ISO 8601 strings (``Z`` allowed) or epoch numbers (milliseconds when that large)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _format_time(value: datetime) -> str:
    """Unipile's filter format: ``YYYY-MM-DDTHH:MM:SS.sssZ`` in UTC."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("timestamps passed to Unipile must be timezone-aware", field="after")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _problem(response: httpx.Response) -> dict[str, str]:
    """The RFC 7807 fields Unipile sends, as short single-line strings."""
    try:
        body = response.json()
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    out: dict[str, str] = {}
    for key in ("type", "title", "detail"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            text = " ".join(value.split())
            out[key] = text if len(text) <= _DETAIL_MAX_CHARS else text[:_DETAIL_MAX_CHARS] + "…"
    return out


def _retry_after(
    response: httpx.Response, now: datetime | None
) -> tuple[datetime | None, timedelta | None]:
    """Parse Retry-After (delay seconds or HTTP date) into (retry_at, retry_after)."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return None, None
    if raw.isdigit():
        delay = timedelta(seconds=int(raw))
        return (now + delay if now is not None else None), delay
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None, None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when, (when - now if now is not None else None)


def _multipart(form_fields: list[tuple[str, str]]) -> tuple[bytes, str]:
    """Encode text fields as ``multipart/form-data``, the content type the docs specify."""
    encoded = [(name, value.encode("utf-8")) for name, value in form_fields]
    while True:
        boundary = "aicmo-" + secrets.token_hex(16)
        if not any(boundary.encode() in value for _, value in encoded):
            break
    chunks: list[bytes] = []
    for name, value in encoded:
        chunks.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        )
        chunks.append(value + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"
