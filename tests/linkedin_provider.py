"""A loopback stand-in for Unipile's API v1 (LinkedIn), for tests that must speak real HTTP.

It implements the documented paths, methods, content types, response shapes, cursor
pagination and RFC 7807 error bodies (see :mod:`aicmo.transports.unipile` for the contract
and what is assumed where the docs are silent). Tests drive it through :class:`ProviderState`:
add profiles, accept invitations, add replies, restrict or disconnect the account, cap the
weekly invitations, force the next answer, and read the request log. The state never reads
the clock: its own ``now`` moves one second per event and tests may set it.

Serve it with :func:`tests.http_server.serve`::

    state = ProviderState()
    jane = state.add_profile("jane-doe", "Jane", "Doe")
    with serve(create_provider_app(state)) as base_url:
        ...

:func:`raw_server` gives a socket server that reads one request and then drops the
connection or never answers, for the "sent but no answer" cases.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import hmac
import json
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

__all__ = [
    "DEFAULT_ACCOUNT_ID",
    "DEFAULT_API_KEY",
    "FakeChat",
    "FakeMessage",
    "FakeProfile",
    "ProviderState",
    "RecordedRequest",
    "create_provider_app",
    "raw_server",
]

DEFAULT_API_KEY = "test-unipile-key-5f1c9a7e"
DEFAULT_ACCOUNT_ID = "Yk08cDzzdsqs9_8ds"
API = "/api/v1"


@dataclass
class FakeProfile:
    provider_id: str
    public_identifier: str
    first_name: str
    last_name: str
    headline: str = ""
    network_distance: str = "SECOND_DEGREE"
    invitation: dict[str, str] | None = None
    connected_at: datetime | None = None
    invitation_note: str | None = None


@dataclass
class FakeMessage:
    id: str
    chat_id: str
    sender_id: str
    text: str
    timestamp: datetime
    is_sender: bool


@dataclass
class FakeChat:
    id: str
    attendee_provider_id: str
    messages: list[FakeMessage] = field(default_factory=list)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it (never the API key itself)."""

    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    api_key_ok: bool
    accept: str
    json: Any = None
    form: list[tuple[str, str]] | None = None


@dataclass
class _Forced:
    status: int
    error_type: str
    title: str
    detail: str
    headers: dict[str, str]
    method: str | None
    path_prefix: str | None


class _Problem(Exception):
    def __init__(
        self,
        status: int,
        error_type: str,
        title: str,
        detail: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.error_type = error_type
        self.title = title
        self.detail = detail
        self.headers = dict(headers or {})


@dataclass
class ProviderState:
    """Everything the fake provider knows; tests read and change it directly or via methods."""

    api_key: str = DEFAULT_API_KEY
    account_id: str = DEFAULT_ACCOUNT_ID
    page_size: int = 2
    weekly_invitation_limit: int = 100
    invitations_this_week: int = 0
    restricted: bool = False
    disconnected: bool = False
    account_status: str = "OK"
    now: datetime = field(default_factory=lambda: datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
    profiles: dict[str, FakeProfile] = field(default_factory=dict)
    chats: dict[str, FakeChat] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    _forced: list[_Forced] = field(default_factory=list)
    _seq: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    # ------------------------------------------------------------------ test controls

    def add_profile(
        self,
        public_identifier: str,
        first_name: str,
        last_name: str,
        *,
        headline: str = "",
        network_distance: str = "SECOND_DEGREE",
    ) -> FakeProfile:
        with self.lock:
            provider_id = f"ACoAA{self._next():06d}Bx{public_identifier.encode().hex()[:12]}Zq9"
            profile = FakeProfile(
                provider_id=provider_id,
                public_identifier=public_identifier,
                first_name=first_name,
                last_name=last_name,
                headline=headline,
                network_distance=network_distance,
            )
            if network_distance == "FIRST_DEGREE":
                profile.connected_at = self.tick()
            self.profiles[provider_id] = profile
            return profile

    def accept_invitation(self, provider_id: str) -> None:
        """The person accepts: first degree from now on; a note becomes a chat, as on LinkedIn."""
        with self.lock:
            profile = self.profiles[provider_id]
            profile.network_distance = "FIRST_DEGREE"
            profile.invitation = None
            profile.connected_at = self.tick()
            if profile.invitation_note:
                chat = self._chat_with(provider_id)
                self._append(chat, self._self_id(), profile.invitation_note, is_sender=True)

    def add_reply(self, provider_id: str, text: str, at: datetime | None = None) -> FakeMessage:
        """An inbound message from that person (in their 1:1 chat, created if needed)."""
        with self.lock:
            chat = self._chat_with(provider_id)
            return self._append(chat, provider_id, text, is_sender=False, at=at)

    def fail_next(
        self,
        status: int,
        error_type: str,
        *,
        title: str = "Forced failure",
        detail: str = "",
        headers: Mapping[str, str] | None = None,
        method: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Answer the next matching authenticated request with this problem instead."""
        with self.lock:
            self._forced.append(
                _Forced(status, error_type, title, detail, dict(headers or {}), method, path_prefix)
            )

    def reset_week(self) -> None:
        with self.lock:
            self.invitations_this_week = 0

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path == path]

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    # ------------------------------------------------------------------ internals

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _self_id(self) -> str:
        return f"ACoAAself{self.account_id}"

    def _chat_with(self, provider_id: str) -> FakeChat:
        for chat in self.chats.values():
            if chat.attendee_provider_id == provider_id:
                return chat
        chat = FakeChat(id=f"chat{self._next():04d}", attendee_provider_id=provider_id)
        self.chats[chat.id] = chat
        return chat

    def _append(
        self,
        chat: FakeChat,
        sender_id: str,
        text: str,
        *,
        is_sender: bool,
        at: datetime | None = None,
    ) -> FakeMessage:
        message = FakeMessage(
            id=f"msg{self._next():05d}",
            chat_id=chat.id,
            sender_id=sender_id,
            text=text,
            timestamp=at if at is not None else self.tick(),
            is_sender=is_sender,
        )
        chat.messages.append(message)
        return message

    def _find_profile(self, identifier: str) -> FakeProfile | None:
        if identifier in self.profiles:
            return self.profiles[identifier]
        for profile in self.profiles.values():
            if profile.public_identifier.lower() == identifier.lower():
                return profile
        return None


# --------------------------------------------------------------------------- wire format


def _iso(value: datetime) -> str:
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _parse_filter_time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        if len(value) != 24 or not value.endswith("Z"):
            raise ValueError(value)
        return datetime.fromisoformat(value[:-1] + "+00:00")
    except ValueError:
        raise _Problem(
            400,
            "errors/invalid_parameters",
            "Invalid parameters",
            f"{name} must be an ISO 8601 UTC datetime (YYYY-MM-DDTHH:MM:SS.sssZ)",
        ) from None


def _encode_cursor(kind: str, offset: int) -> str:
    raw = json.dumps({"k": kind, "o": offset}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(kind: str, cursor: str | None) -> int:
    if cursor is None:
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded))
        if data["k"] != kind or not isinstance(data["o"], int) or data["o"] < 0:
            raise ValueError(cursor)
        return int(data["o"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise _Problem(
            400, "errors/invalid_parameters", "Invalid parameters", "bad cursor"
        ) from None


def _page(
    items: list[dict[str, Any]], kind: str, request: Request, state: ProviderState, obj: str
) -> dict[str, Any]:
    offset = _decode_cursor(kind, request.query_params.get("cursor"))
    size = state.page_size
    limit = request.query_params.get("limit")
    if limit is not None:
        if not limit.isdigit() or not 1 <= int(limit) <= 250:
            raise _Problem(400, "errors/invalid_parameters", "Invalid parameters", "limit 1..250")
        size = min(size, int(limit))
    chunk = items[offset : offset + size]
    more = offset + size < len(items)
    return {
        "object": obj,
        "items": chunk,
        "cursor": _encode_cursor(kind, offset + size) if more else None,
    }


def _profile_json(profile: FakeProfile) -> dict[str, Any]:
    body: dict[str, Any] = {
        "object": "UserProfile",
        "provider": "LINKEDIN",
        "provider_id": profile.provider_id,
        "public_identifier": profile.public_identifier,
        "first_name": profile.first_name,
        "last_name": profile.last_name,
        "headline": profile.headline,
        "websites": [],
        "network_distance": profile.network_distance,
        "is_relationship": profile.network_distance == "FIRST_DEGREE",
        "public_profile_url": f"https://www.linkedin.com/in/{profile.public_identifier}",
    }
    if profile.invitation is not None:
        body["invitation"] = dict(profile.invitation)
    return body


def _message_json(state: ProviderState, message: FakeMessage) -> dict[str, Any]:
    return {
        "object": "Message",
        "id": message.id,
        "provider_id": f"urn:li:msg:{message.id}",
        "account_id": state.account_id,
        "chat_id": message.chat_id,
        "chat_provider_id": f"urn:li:thread:{message.chat_id}",
        "sender_id": message.sender_id,
        "sender_attendee_id": f"att-{message.sender_id[-8:]}",
        "text": message.text,
        "attachments": [],
        "timestamp": _iso(message.timestamp),
        "is_sender": 1 if message.is_sender else 0,
        "reactions": [],
        "seen": 0,
        "seen_by": {},
        "hidden": 0,
        "deleted": 0,
        "edited": 0,
        "is_event": 0,
        "delivered": 1,
        "behavior": None,
        "original": "",
    }


def _form(body: bytes, content_type: str) -> list[tuple[str, str]]:
    if not content_type.lower().startswith("multipart/form-data"):
        raise _Problem(
            400,
            "errors/malformed_request",
            "Malformed request",
            "expected a multipart/form-data body",
        )
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise _Problem(400, "errors/malformed_request", "Malformed request", "no form parts")
    out: list[tuple[str, str]] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            out.append((name, payload.decode("utf-8")))
    return out


def _form_one(form: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in form if k == name), None)


# --------------------------------------------------------------------------- app


def create_provider_app(state: ProviderState) -> FastAPI:
    """A FastAPI app answering like Unipile API v1 for ``state``'s one LinkedIn account."""
    app = FastAPI()

    @app.exception_handler(_Problem)
    async def problem(request: Request, exc: _Problem) -> JSONResponse:
        return JSONResponse(
            {
                "title": exc.title,
                "detail": exc.detail,
                "instance": request.url.path,
                "type": exc.error_type,
                "status": exc.status,
            },
            status_code=exc.status,
            headers=exc.headers,
        )

    async def begin(
        request: Request, *, body: Literal["none", "json", "form"] = "none"
    ) -> tuple[Any, list[tuple[str, str]] | None]:
        """Log the request, check the key, apply forced failures; return the parsed body."""
        raw = await request.body()
        content_type = request.headers.get("content-type", "")
        parsed_json: Any = None
        form: list[tuple[str, str]] | None = None
        problem: _Problem | None = None
        try:
            if body == "json":
                if not content_type.lower().startswith("application/json"):
                    raise _Problem(
                        400, "errors/malformed_request", "Malformed request", "expected JSON"
                    )
                try:
                    parsed_json = json.loads(raw)
                except ValueError:
                    raise _Problem(
                        400, "errors/malformed_request", "Malformed request", "invalid JSON"
                    ) from None
            elif body == "form":
                form = _form(raw, content_type)
        except _Problem as exc:
            problem = exc
        key = request.headers.get("x-api-key")
        key_ok = key is not None and hmac.compare_digest(key.encode(), state.api_key.encode())
        query: dict[str, list[str]] = {}
        for k, v in request.query_params.multi_items():
            query.setdefault(k, []).append(v)
        with state.lock:
            state.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.url.path,
                    query=query,
                    content_type=content_type,
                    api_key_ok=key_ok,
                    accept=request.headers.get("accept", ""),
                    json=parsed_json,
                    form=form,
                )
            )
            if key is None:
                raise _Problem(
                    401,
                    "errors/missing_credentials",
                    "Missing credentials",
                    "Some credentials are necessary to perform the request.",
                )
            if not key_ok:
                raise _Problem(
                    401,
                    "errors/invalid_credentials",
                    "Invalid credentials",
                    "The provided credentials are invalid.",
                )
            for forced in state._forced:
                if (forced.method is None or forced.method == request.method) and (
                    forced.path_prefix is None or request.url.path.startswith(forced.path_prefix)
                ):
                    state._forced.remove(forced)
                    raise _Problem(
                        forced.status,
                        forced.error_type,
                        forced.title,
                        forced.detail,
                        forced.headers,
                    )
        if problem is not None:
            raise problem
        return parsed_json, form

    def require_account(account_id: str | None) -> None:
        if account_id is None:
            raise _Problem(
                400, "errors/missing_parameters", "Missing parameters", "account_id is required"
            )
        if account_id != state.account_id:
            raise _Problem(
                404, "errors/resource_not_found", "Resource not found.", "Account not found"
            )
        if state.disconnected:
            raise _Problem(
                401,
                "errors/disconnected_account",
                "Disconnected account",
                "The account appears to be disconnected from the provider service.",
            )
        if state.restricted:
            raise _Problem(
                403,
                "errors/account_restricted",
                "Account restricted",
                "Access to this account has been restricted by the provider.",
            )

    @app.get(f"{API}/accounts/{{account_id}}")
    async def get_account(account_id: str, request: Request) -> dict[str, Any]:
        await begin(request)
        with state.lock:
            if account_id != state.account_id:
                raise _Problem(
                    404, "errors/resource_not_found", "Resource not found.", "Account not found"
                )
            status = "CREDENTIALS" if state.disconnected else state.account_status
            return {
                "object": "Account",
                "type": "LINKEDIN",
                "id": state.account_id,
                "name": "Test Sender",
                "created_at": "2025-06-01T08:00:00.000Z",
                "connection_params": {"im": {"id": state._self_id(), "username": "Test Sender"}},
                "sources": [{"id": f"{state.account_id}_MESSAGING", "status": status}],
                "groups": [],
            }

    @app.get(f"{API}/users/relations")
    async def list_relations(request: Request) -> dict[str, Any]:
        await begin(request)
        with state.lock:
            require_account(request.query_params.get("account_id"))
            relations = sorted(
                (p for p in state.profiles.values() if p.network_distance == "FIRST_DEGREE"),
                key=lambda p: (p.connected_at or state.now, p.provider_id),
                reverse=True,
            )
            items = [
                {
                    "object": "UserRelation",
                    "first_name": p.first_name,
                    "last_name": p.last_name,
                    "headline": p.headline,
                    "public_identifier": p.public_identifier,
                    "public_profile_url": f"https://www.linkedin.com/in/{p.public_identifier}",
                    "created_at": int((p.connected_at or state.now).timestamp() * 1000),
                    "member_id": p.provider_id,
                    "member_urn": f"urn:li:member:{p.provider_id}",
                    "connection_urn": f"urn:li:connection:{p.provider_id}",
                }
                for p in relations
            ]
            return _page(items, "relations", request, state, "UserRelationsList")

    @app.post(f"{API}/users/invite")
    async def invite(request: Request) -> dict[str, Any]:
        payload, _ = await begin(request, body="json")
        if not isinstance(payload, dict):
            raise _Problem(
                400, "errors/invalid_parameters", "Invalid parameters", "object expected"
            )
        provider_id = payload.get("provider_id")
        message = payload.get("message")
        if not isinstance(provider_id, str) or not provider_id:
            raise _Problem(
                400, "errors/missing_parameters", "Missing parameters", "provider_id is required"
            )
        if message is not None and (not isinstance(message, str) or len(message) > 300):
            raise _Problem(
                400,
                "errors/too_many_characters",
                "Too many characters",
                "The provided content exceeds the character limit.",
            )
        with state.lock:
            require_account(payload.get("account_id"))
            profile = state.profiles.get(provider_id)
            if profile is None:
                raise _Problem(
                    404, "errors/resource_not_found", "Resource not found.", "User not found"
                )
            if profile.network_distance == "FIRST_DEGREE":
                raise _Problem(
                    422,
                    "errors/action_already_performed",
                    "Action already performed",
                    "You are already connected with this user.",
                )
            if profile.invitation is not None and profile.invitation["status"] == "PENDING":
                raise _Problem(
                    422,
                    "errors/already_invited_recently",
                    "Already invited recently",
                    "An invitation has already been sent recently to this recipient.",
                )
            if state.invitations_this_week >= state.weekly_invitation_limit:
                raise _Problem(
                    422,
                    "errors/cannot_resend_yet",
                    "Cannot resend yet",
                    "You have reached a temporary provider limit. Please try again later.",
                )
            state.invitations_this_week += 1
            profile.invitation = {"type": "SENT", "status": "PENDING"}
            profile.invitation_note = message
            invitation_id = f"7{state._next():018d}"
            return {"object": "UserInvitationSent", "invitation_id": invitation_id}

    @app.get(f"{API}/users/{{identifier}}")
    async def get_profile(identifier: str, request: Request) -> dict[str, Any]:
        await begin(request)
        with state.lock:
            require_account(request.query_params.get("account_id"))
            profile = state._find_profile(identifier)
            if profile is None:
                raise _Problem(
                    404, "errors/resource_not_found", "Resource not found.", "User not found"
                )
            return _profile_json(profile)

    @app.post(f"{API}/chats", status_code=201)
    async def start_chat(request: Request) -> dict[str, Any]:
        _, form = await begin(request, body="form")
        assert form is not None
        attendees = [v for k, v in form if k == "attendees_ids"]
        text = _form_one(form, "text")
        with state.lock:
            require_account(_form_one(form, "account_id"))
            if len(attendees) != 1:
                raise _Problem(
                    400,
                    "errors/invalid_parameters",
                    "Invalid parameters",
                    "this fake supports 1:1 chats only",
                )
            profile = state.profiles.get(attendees[0])
            if profile is None:
                raise _Problem(
                    422,
                    "errors/invalid_recipient",
                    "Invalid recipient",
                    "The recipient cannot be reached.",
                )
            if profile.network_distance != "FIRST_DEGREE":
                raise _Problem(
                    422,
                    "errors/no_connection_with_recipient",
                    "No connection with recipient",
                    "You are not connected with this recipient.",
                )
            chat = state._chat_with(profile.provider_id)
            message = state._append(chat, state._self_id(), text or "", is_sender=True)
            return {"object": "ChatStarted", "chat_id": chat.id, "message_id": message.id}

    @app.post(f"{API}/chats/{{chat_id}}/messages", status_code=201)
    async def send_message(chat_id: str, request: Request) -> dict[str, Any]:
        _, form = await begin(request, body="form")
        assert form is not None
        with state.lock:
            account_id = _form_one(form, "account_id")
            if account_id is not None:
                require_account(account_id)
            chat = state.chats.get(chat_id)
            if chat is None:
                raise _Problem(
                    404, "errors/resource_not_found", "Resource not found.", "Chat not found"
                )
            message = state._append(
                chat, state._self_id(), _form_one(form, "text") or "", is_sender=True
            )
            return {"object": "MessageSent", "message_id": message.id}

    def message_page(request: Request, messages: list[FakeMessage], kind: str) -> dict[str, Any]:
        after = _parse_filter_time(request.query_params.get("after"), "after")
        before = _parse_filter_time(request.query_params.get("before"), "before")
        sender = request.query_params.get("sender_id")
        chosen = [
            m
            for m in messages
            if (after is None or m.timestamp > after)
            and (before is None or m.timestamp < before)
            and (sender is None or m.sender_id == sender)
        ]
        chosen.sort(key=lambda m: (m.timestamp, m.id), reverse=True)
        items = [_message_json(state, m) for m in chosen]
        return _page(items, kind, request, state, "MessageList")

    @app.get(f"{API}/chats/{{chat_id}}/messages")
    async def chat_messages(chat_id: str, request: Request) -> dict[str, Any]:
        await begin(request)
        with state.lock:
            if state.disconnected or state.restricted:
                require_account(state.account_id)
            chat = state.chats.get(chat_id)
            if chat is None:
                raise _Problem(
                    404, "errors/resource_not_found", "Resource not found.", "Chat not found"
                )
            return message_page(request, list(chat.messages), f"chat:{chat_id}")

    @app.get(f"{API}/messages")
    async def all_messages(request: Request) -> dict[str, Any]:
        await begin(request)
        with state.lock:
            account_id = request.query_params.get("account_id")
            if account_id is not None:
                require_account(account_id)
            messages = [m for chat in state.chats.values() for m in chat.messages]
            return message_page(request, messages, "messages")

    return app


# --------------------------------------------------------------------------- raw sockets


@contextmanager
def raw_server(mode: Literal["drop", "hang"]) -> Iterator[str]:
    """Yield the base URL of a loopback server that reads each request in full, then
    closes the connection without answering (``drop``) or never answers (``hang``)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def read_request(conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            rest += chunk

    def run() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with suppress(OSError):
                read_request(conn)
            if mode == "drop":
                conn.close()
            else:
                held.append(conn)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()
        for conn in held:
            conn.close()
