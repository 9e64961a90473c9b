"""The Unipile (LinkedIn) adapter against a loopback server speaking Unipile's API v1."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from aicmo.errors import (
    ConfigurationError,
    ConflictError,
    OutcomeUnknownError,
    PermanentChannelError,
    RateLimitedError,
    TransientChannelError,
    ValidationError,
)
from aicmo.transports.unipile import (
    DEFAULT_LIMITS,
    INVITATION_LIMIT_BACKOFF,
    AccountDisconnectedError,
    AccountRestrictedError,
    AlreadyInvitedError,
    InvitationLimitError,
    LinkedInLimits,
    NotConnectedError,
    ProfileNotFoundError,
    ProviderAuthError,
    ProviderConfigurationError,
    ProviderOutcomeUnknownError,
    ProviderRateLimitedError,
    ProviderRejectedError,
    ProviderUnavailableError,
    UnipileClient,
    UnipileConfig,
    UnipileError,
    linkedin_identifier,
    linkedin_identity_keys,
    match_replies,
)
from tests.http_server import serve
from tests.linkedin_provider import (
    DEFAULT_ACCOUNT_ID,
    DEFAULT_API_KEY,
    ProviderState,
    create_provider_app,
    raw_server,
)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
API_KEY = DEFAULT_API_KEY


@dataclass
class Provider:
    state: ProviderState
    base_url: str

    def client(self, *, api_key: str = API_KEY, timeout: float = 5.0) -> UnipileClient:
        return UnipileClient(
            UnipileConfig(
                base_url=self.base_url,
                api_key=api_key,
                account_id=self.state.account_id,
                timeout=timeout,
            )
        )


@pytest.fixture
def provider() -> Iterator[Provider]:
    state = ProviderState()
    with serve(create_provider_app(state)) as base_url:
        yield Provider(state, base_url)


@pytest.fixture
def client(provider: Provider) -> Iterator[UnipileClient]:
    with provider.client() as c:
        yield c


def no_secret(exc: BaseException) -> None:
    for text in (str(exc), repr(exc), *map(str, exc.args)):
        assert API_KEY not in text


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def offline_client(base_url: str, timeout: float = 2.0) -> UnipileClient:
    return UnipileClient(
        UnipileConfig(
            base_url=base_url, api_key=API_KEY, account_id=DEFAULT_ACCOUNT_ID, timeout=timeout
        )
    )


# --------------------------------------------------------------------------- identity


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("https://www.linkedin.com/in/jane-doe-123/", "jane-doe-123"),
        ("https://www.linkedin.com/in/Jane-Doe-123?utm_source=share&trk=x", "jane-doe-123"),
        ("fr.linkedin.com/in/jane-doe-123", "jane-doe-123"),
        ("http://m.linkedin.com/in/jane-doe-123/detail/recent-activity/", "jane-doe-123"),
        ("/in/jane-doe-123", "jane-doe-123"),
        ("https://www.linkedin.com/in/%C3%A9lise-martin-0a1b2c", "élise-martin-0a1b2c"),
        ("jane-doe-123", "jane-doe-123"),
        ("  Jane-Doe-123 ", "jane-doe-123"),
        ("ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E", "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E"),
        (
            "urn:li:fsd_profile:ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E",
            "ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E",
        ),
        (
            "https://www.linkedin.com/sales/lead/ACwAAAbCdEfGhIjK12345,NAME_SEARCH,xyz",
            "ACwAAAbCdEfGhIjK12345",
        ),
    ],
)
def test_profile_references_normalise_to_unipile_identifiers(value: str, expected: str) -> None:
    assert linkedin_identifier(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "https://www.linkedin.com/company/acme/",
        "https://www.linkedin.com/pub/jane-doe/12/345/678",
        "https://example.com/in/jane-doe",
        "jane@example.com",
        "urn:li:member:12345",
    ],
)
def test_non_profile_references_are_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        linkedin_identifier(value)


def test_identity_keys_line_up_with_lead_dedupe_keys() -> None:
    from aicmo.cam.domain.leads import normalize_linkedin_url

    url = "https://de.linkedin.com/in/Jane-Doe-123/?trk=abc"
    assert linkedin_identity_keys(url) == (normalize_linkedin_url(url)[1],)
    assert linkedin_identity_keys("ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E") == (
        "id:ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E",
    )


# --------------------------------------------------------------------------- profiles


def test_a_profile_resolves_by_url_vanity_and_provider_id(
    provider: Provider, client: UnipileClient
) -> None:
    jane = provider.state.add_profile("jane-doe-123", "Jane", "Doe", headline="CTO at Acme")
    by_url = client.get_profile("https://www.linkedin.com/in/Jane-Doe-123/?utm_source=x")
    by_vanity = client.get_profile("jane-doe-123")
    by_id = client.get_profile(jane.provider_id)

    assert by_url == by_vanity == by_id
    assert by_id.provider_id == jane.provider_id
    assert by_id.public_identifier == "jane-doe-123"
    assert by_id.name == "Jane Doe"
    assert by_id.headline == "CTO at Acme"
    assert by_id.network_distance == "SECOND_DEGREE"
    assert not by_id.is_connected
    assert not by_id.pending_invitation
    assert by_id.public_url == "https://www.linkedin.com/in/jane-doe-123"
    assert by_id.identity_keys == (f"id:{jane.provider_id}", "in:jane-doe-123")

    seen = provider.state.requests
    assert [r.path for r in seen] == [
        "/api/v1/users/jane-doe-123",
        "/api/v1/users/jane-doe-123",
        f"/api/v1/users/{jane.provider_id}",
    ]
    assert all(r.query == {"account_id": [DEFAULT_ACCOUNT_ID]} for r in seen)
    assert all(r.api_key_ok and r.accept == "application/json" for r in seen)


def test_a_percent_encoded_vanity_reaches_the_provider_decoded(
    provider: Provider, client: UnipileClient
) -> None:
    provider.state.add_profile("élise-martin", "Élise", "Martin")
    profile = client.get_profile("https://fr.linkedin.com/in/%C3%A9lise-martin/")
    assert profile.name == "Élise Martin"
    assert provider.state.requests[-1].path == "/api/v1/users/élise-martin"


def test_an_unknown_profile_is_profile_not_found(client: UnipileClient) -> None:
    with pytest.raises(ProfileNotFoundError) as info:
        client.get_profile("nobody-here")
    assert isinstance(info.value, PermanentChannelError)
    assert info.value.status == 404
    assert info.value.error_type == "errors/resource_not_found"
    no_secret(info.value)


def test_a_non_profile_reference_makes_no_request(
    provider: Provider, client: UnipileClient
) -> None:
    with pytest.raises(ValidationError):
        client.get_profile("https://www.linkedin.com/company/acme")
    assert provider.state.requests == []


# --------------------------------------------------------------------------- invitations


def test_an_invitation_with_a_note_goes_out_as_documented(
    provider: Provider, client: UnipileClient
) -> None:
    jane = provider.state.add_profile("jane-doe", "Jane", "Doe")
    note = "Hi Jane, we met at PyCon; happy to connect."

    invitation_id = client.send_invitation(jane.provider_id, note, now=NOW)

    assert invitation_id
    (sent,) = provider.state.requests_to("POST", "/api/v1/users/invite")
    assert sent.content_type.startswith("application/json")
    assert sent.json == {
        "provider_id": jane.provider_id,
        "account_id": DEFAULT_ACCOUNT_ID,
        "message": note,
    }
    assert client.get_profile(jane.provider_id).pending_invitation


def test_an_invitation_without_a_note_sends_no_message_field(
    provider: Provider, client: UnipileClient
) -> None:
    jane = provider.state.add_profile("jane-doe", "Jane", "Doe")
    client.send_invitation(jane.provider_id)
    (sent,) = provider.state.requests_to("POST", "/api/v1/users/invite")
    assert sent.json == {"provider_id": jane.provider_id, "account_id": DEFAULT_ACCOUNT_ID}


def test_a_note_over_300_characters_is_refused_before_any_request(
    provider: Provider, client: UnipileClient
) -> None:
    jane = provider.state.add_profile("jane-doe", "Jane", "Doe")
    with pytest.raises(ValidationError) as info:
        client.send_invitation(jane.provider_id, "x" * 301)
    assert info.value.field == "note"
    assert provider.state.requests == []

    client.send_invitation(jane.provider_id, "é" * 300)
    assert len(provider.state.requests_to("POST", "/api/v1/users/invite")) == 1


def test_the_weekly_invitation_limit_reschedules(provider: Provider, client: UnipileClient) -> None:
    provider.state.weekly_invitation_limit = 1
    ann = provider.state.add_profile("ann", "Ann", "Lee")
    bob = provider.state.add_profile("bob", "Bob", "Ray")
    client.send_invitation(ann.provider_id, now=NOW)

    with pytest.raises(InvitationLimitError) as info:
        client.send_invitation(bob.provider_id, "Hello Bob", now=NOW)

    exc = info.value
    assert isinstance(exc, TransientChannelError)
    assert isinstance(exc, RateLimitedError)
    assert exc.status == 422
    assert exc.error_type == "errors/cannot_resend_yet"
    assert exc.retry_at == NOW + INVITATION_LIMIT_BACKOFF
    no_secret(exc)
    assert not client.get_profile(bob.provider_id).pending_invitation

    provider.state.reset_week()
    assert client.send_invitation(bob.provider_id, "Hello Bob", now=NOW)


def test_an_invitation_limit_without_now_has_no_retry_hint(
    provider: Provider, client: UnipileClient
) -> None:
    provider.state.weekly_invitation_limit = 0
    ann = provider.state.add_profile("ann", "Ann", "Lee")
    with pytest.raises(InvitationLimitError) as info:
        client.send_invitation(ann.provider_id)
    assert info.value.retry_at is None


def test_inviting_twice_is_already_invited(provider: Provider, client: UnipileClient) -> None:
    ann = provider.state.add_profile("ann", "Ann", "Lee")
    client.send_invitation(ann.provider_id)
    with pytest.raises(AlreadyInvitedError) as info:
        client.send_invitation(ann.provider_id)
    assert isinstance(info.value, PermanentChannelError)
    assert isinstance(info.value, ConflictError)
    assert provider.state.invitations_this_week == 1


def test_inviting_an_unknown_provider_id_is_profile_not_found(client: UnipileClient) -> None:
    with pytest.raises(ProfileNotFoundError):
        client.send_invitation("ACoAAnobodyZZZZZZZZZZZZZZZZZZZ")


# --------------------------------------------------------------------------- acceptance


def test_polling_sees_the_invitation_accepted(provider: Provider, client: UnipileClient) -> None:
    old = [
        provider.state.add_profile(f"friend-{i}", "Friend", str(i), network_distance="FIRST_DEGREE")
        for i in range(3)
    ]
    jane = provider.state.add_profile("jane-doe", "Jane", "Doe")
    client.send_invitation(jane.provider_id, "Hi Jane")

    assert not client.is_connected(jane.provider_id)
    assert jane.provider_id not in {r.provider_id for r in client.iter_relations()}

    provider.state.accept_invitation(jane.provider_id)

    assert client.is_connected(jane.provider_id)
    relations = list(client.iter_relations())
    assert [r.provider_id for r in relations] == [jane.provider_id] + [
        p.provider_id for p in reversed(old)
    ]
    newest = relations[0]
    assert newest.public_identifier == "jane-doe"
    assert newest.name == "Jane Doe"
    assert newest.connected_at is not None and newest.connected_at.tzinfo is not None
    pages = provider.state.requests_to("GET", "/api/v1/users/relations")[-2:]
    assert "cursor" not in pages[0].query
    assert "cursor" in pages[1].query


# --------------------------------------------------------------------------- messaging


def test_start_chat_then_message_in_it(provider: Provider, client: UnipileClient) -> None:
    jane = provider.state.add_profile("jane-doe", "Jane", "Doe", network_distance="FIRST_DEGREE")

    first = client.start_chat(jane.provider_id, "Hi Jane – thanks for connecting!")
    assert first.chat_id and first.message_id
    (started,) = provider.state.requests_to("POST", "/api/v1/chats")
    assert started.content_type.startswith("multipart/form-data; boundary=")
    assert sorted(started.form or []) == sorted(
        [
            ("account_id", DEFAULT_ACCOUNT_ID),
            ("text", "Hi Jane – thanks for connecting!"),
            ("attendees_ids", jane.provider_id),
        ]
    )

    second = client.send_message(first.chat_id, "Following up\non two lines.")
    assert second.chat_id == first.chat_id
    assert second.message_id and second.message_id != first.message_id
    (followed,) = provider.state.requests_to("POST", f"/api/v1/chats/{first.chat_id}/messages")
    assert followed.content_type.startswith("multipart/form-data")
    assert ("text", "Following up\non two lines.") in (followed.form or [])

    history = list(client.list_messages(chat_id=first.chat_id))
    assert [m.text for m in history] == [
        "Following up\non two lines.",
        "Hi Jane – thanks for connecting!",
    ]
    assert all(m.from_us and m.chat_id == first.chat_id for m in history)


def test_messaging_a_non_connection_is_not_connected(
    provider: Provider, client: UnipileClient
) -> None:
    bob = provider.state.add_profile("bob", "Bob", "Ray", network_distance="THIRD_DEGREE")
    with pytest.raises(NotConnectedError) as info:
        client.start_chat(bob.provider_id, "Hello")
    assert isinstance(info.value, PermanentChannelError)
    assert info.value.error_type == "errors/no_connection_with_recipient"
    assert provider.state.chats == {}


def test_messaging_in_an_unknown_chat_is_rejected(client: UnipileClient) -> None:
    with pytest.raises(ProviderRejectedError) as info:
        client.send_message("chat-that-does-not-exist", "Hello")
    assert info.value.status == 404


def test_an_empty_message_makes_no_request(provider: Provider, client: UnipileClient) -> None:
    with pytest.raises(ValidationError):
        client.start_chat("ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E", "  ")
    assert provider.state.requests == []


def test_replies_are_read_across_pages_and_matched_to_leads(
    provider: Provider, client: UnipileClient
) -> None:
    state = provider.state
    ann, bob, cat = (
        state.add_profile(name.lower(), name, "Lead", network_distance="FIRST_DEGREE")
        for name in ("Ann", "Bob", "Cat")
    )
    stranger = state.add_profile("stranger", "Some", "One", network_distance="FIRST_DEGREE")
    state.add_reply(stranger.provider_id, "old news")
    since = state.now
    chats = {
        p.provider_id: client.start_chat(p.provider_id, f"Hi {p.first_name}")
        for p in (ann, bob, cat)
    }
    state.add_reply(ann.provider_id, "Interested, tell me more")
    state.add_reply(bob.provider_id, "Not now")
    state.add_reply(ann.provider_id, "Are you there?")
    state.add_reply(stranger.provider_id, "unrelated")

    messages = list(client.list_messages(after=since))

    assert len(messages) == 7  # 3 of ours + 4 replies, none from before `since`
    assert all(m.sent_at > since and m.sent_at.tzinfo is not None for m in messages)
    assert [m.sent_at for m in messages] == sorted((m.sent_at for m in messages), reverse=True)
    ours = [m for m in messages if m.from_us]
    assert {m.chat_id for m in ours} == {c.chat_id for c in chats.values()}
    assert all(
        not m.from_us for m in messages if m.sender_provider_id != ours[0].sender_provider_id
    )

    leads = {ann.provider_id: "lead-ann", bob.provider_id: "lead-bob", cat.provider_id: "lead-cat"}
    matched = [(lead, m.text) for lead, m in match_replies(messages, leads)]
    assert matched == [
        ("lead-ann", "Are you there?"),
        ("lead-bob", "Not now"),
        ("lead-ann", "Interested, tell me more"),
    ]
    assert all(
        m.chat_id == chats[ann.provider_id].chat_id
        for lead, m in match_replies(messages, leads)
        if lead == "lead-ann"
    )

    pages = state.requests_to("GET", "/api/v1/messages")
    assert len(pages) == 4  # page size 2, 7 messages
    assert all(p.query["after"] == [since.strftime("%Y-%m-%dT%H:%M:%S.000Z")] for p in pages)
    assert all(p.query["account_id"] == [DEFAULT_ACCOUNT_ID] for p in pages)
    assert "cursor" not in pages[0].query
    cursors = [p.query["cursor"][0] for p in pages[1:]]
    assert len(set(cursors)) == 3


def test_replies_can_be_filtered_by_sender(provider: Provider, client: UnipileClient) -> None:
    ann = provider.state.add_profile("ann", "Ann", "Lee", network_distance="FIRST_DEGREE")
    bob = provider.state.add_profile("bob", "Bob", "Ray", network_distance="FIRST_DEGREE")
    provider.state.add_reply(ann.provider_id, "from ann")
    provider.state.add_reply(bob.provider_id, "from bob")
    only = list(client.list_messages(sender_provider_id=bob.provider_id))
    assert [(m.sender_provider_id, m.text, m.from_us) for m in only] == [
        (bob.provider_id, "from bob", False)
    ]


def test_a_naive_after_is_refused(client: UnipileClient) -> None:
    with pytest.raises(ValidationError):
        list(client.list_messages(after=datetime(2026, 1, 1)))


def test_a_note_becomes_the_chat_once_accepted(provider: Provider, client: UnipileClient) -> None:
    jane = provider.state.add_profile("jane-doe", "Jane", "Doe")
    client.send_invitation(jane.provider_id, "Hi Jane, let's connect")
    provider.state.accept_invitation(jane.provider_id)
    sent = client.start_chat(jane.provider_id, "Thanks for accepting")
    texts = [m.text for m in client.list_messages(chat_id=sent.chat_id or "")]
    assert texts == ["Thanks for accepting", "Hi Jane, let's connect"]


# --------------------------------------------------------------------------- account


def test_account_status(provider: Provider, client: UnipileClient) -> None:
    assert client.account_status() == "OK"
    provider.state.disconnected = True
    assert client.account_status() == "CREDENTIALS"


def test_an_unknown_account_is_a_configuration_error(provider: Provider) -> None:
    config = UnipileConfig(base_url=provider.base_url, api_key=API_KEY, account_id="nope")
    with UnipileClient(config) as other, pytest.raises(ProviderConfigurationError) as info:
        other.account_status()
    assert isinstance(info.value, ConfigurationError)


# --------------------------------------------------------------------------- error mapping


@pytest.mark.parametrize("api_key", ["wrong-key-0000", DEFAULT_API_KEY + "x"])
def test_a_wrong_api_key_is_an_auth_error_that_never_quotes_it(
    provider: Provider, api_key: str
) -> None:
    provider.state.add_profile("jane-doe", "Jane", "Doe")
    with provider.client(api_key=api_key) as bad:
        with pytest.raises(ProviderAuthError) as info:
            bad.get_profile("jane-doe")
        assert api_key not in repr(bad)
    exc = info.value
    assert isinstance(exc, ConfigurationError)
    assert exc.status == 401
    assert exc.error_type == "errors/invalid_credentials"
    assert api_key not in str(exc) and api_key not in repr(exc)
    no_secret(exc)


def test_a_restricted_account_pauses_the_account(provider: Provider, client: UnipileClient) -> None:
    jane = provider.state.add_profile("jane-doe", "Jane", "Doe", network_distance="FIRST_DEGREE")
    provider.state.restricted = True
    for call in (
        lambda: client.get_profile("jane-doe"),
        lambda: client.send_invitation(jane.provider_id),
        lambda: client.start_chat(jane.provider_id, "Hi"),
    ):
        with pytest.raises(AccountRestrictedError) as info:
            call()
        assert isinstance(info.value, TransientChannelError)
        assert not isinstance(info.value, AccountDisconnectedError)
        assert info.value.error_type == "errors/account_restricted"
        no_secret(info.value)


def test_a_disconnected_account_asks_for_a_reconnect(
    provider: Provider, client: UnipileClient
) -> None:
    jane = provider.state.add_profile("jane-doe", "Jane", "Doe")
    provider.state.disconnected = True
    with pytest.raises(AccountDisconnectedError) as info:
        client.send_invitation(jane.provider_id, "Hi")
    assert isinstance(info.value, AccountRestrictedError)
    assert info.value.status == 401
    assert "reconnect" in str(info.value)
    assert provider.state.invitations_this_week == 0


def test_429_carries_retry_after_seconds(provider: Provider, client: UnipileClient) -> None:
    jane = provider.state.add_profile("jane-doe", "Jane", "Doe", network_distance="FIRST_DEGREE")
    provider.state.fail_next(
        429, "errors/too_many_requests", title="Too many requests", headers={"Retry-After": "120"}
    )
    with pytest.raises(ProviderRateLimitedError) as info:
        client.start_chat(jane.provider_id, "Hi", now=NOW)
    exc = info.value
    assert isinstance(exc, TransientChannelError) and isinstance(exc, RateLimitedError)
    assert exc.retry_after == timedelta(seconds=120)
    assert exc.retry_at == NOW + timedelta(seconds=120)
    assert provider.state.chats == {}


def test_429_with_an_http_date_sets_retry_at(provider: Provider, client: UnipileClient) -> None:
    provider.state.add_profile("jane-doe", "Jane", "Doe")
    when = NOW + timedelta(minutes=30)
    provider.state.fail_next(
        429, "errors/too_many_requests", headers={"Retry-After": format_datetime(when, usegmt=True)}
    )
    with pytest.raises(ProviderRateLimitedError) as info:
        client.get_profile("jane-doe")
    assert info.value.retry_at == when
    assert info.value.retry_after is None


def test_500_on_a_read_is_unavailable(provider: Provider, client: UnipileClient) -> None:
    provider.state.add_profile("jane-doe", "Jane", "Doe")
    provider.state.fail_next(500, "errors/unexpected_error", title="Unexpected error")
    with pytest.raises(ProviderUnavailableError) as info:
        client.get_profile("jane-doe")
    assert isinstance(info.value, TransientChannelError)
    assert info.value.status == 500
    assert client.get_profile("jane-doe").name == "Jane Doe"


def test_500_on_a_send_is_outcome_unknown_but_503_is_unavailable(
    provider: Provider, client: UnipileClient
) -> None:
    jane = provider.state.add_profile("jane-doe", "Jane", "Doe", network_distance="FIRST_DEGREE")
    provider.state.fail_next(500, "errors/provider_error", method="POST")
    with pytest.raises(ProviderOutcomeUnknownError) as unknown:
        client.start_chat(jane.provider_id, "Hi")
    assert isinstance(unknown.value, OutcomeUnknownError)

    provider.state.fail_next(503, "errors/no_client_session", method="POST")
    with pytest.raises(ProviderUnavailableError):
        client.start_chat(jane.provider_id, "Hi")


def test_a_provider_message_echoing_the_key_is_scrubbed(
    provider: Provider, client: UnipileClient
) -> None:
    provider.state.add_profile("jane-doe", "Jane", "Doe")
    provider.state.fail_next(
        400, "errors/invalid_parameters", title="Invalid parameters", detail=f"bad key {API_KEY}"
    )
    with pytest.raises(ProviderRejectedError) as info:
        client.get_profile("jane-doe")
    assert "***" in str(info.value)
    no_secret(info.value)


def test_a_dropped_connection_after_a_send_is_outcome_unknown() -> None:
    with raw_server("drop") as base_url, offline_client(base_url) as client:
        for send in (
            lambda: client.send_invitation("ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E", "Hi"),
            lambda: client.start_chat("ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E", "Hi"),
            lambda: client.send_message("chat0001", "Hi"),
        ):
            with pytest.raises(ProviderOutcomeUnknownError) as info:
                send()
            assert not isinstance(info.value, TransientChannelError)
            assert info.value.status is None
            no_secret(info.value)
        with pytest.raises(ProviderUnavailableError):
            client.get_profile("jane-doe")


def test_a_send_that_never_gets_an_answer_is_outcome_unknown() -> None:
    with raw_server("hang") as base_url, offline_client(base_url, timeout=0.3) as client:
        with pytest.raises(ProviderOutcomeUnknownError) as info:
            client.send_message("chat0001", "Hi")
        assert "ReadTimeout" in str(info.value)
        with pytest.raises(ProviderUnavailableError):
            list(client.list_messages())


def test_connection_refused_is_unavailable_and_nothing_was_sent() -> None:
    client = offline_client(f"http://127.0.0.1:{free_port()}")
    with client, pytest.raises(ProviderUnavailableError) as info:
        client.send_invitation("ACoAAAcDMMQBODyLwZrRcgYhrkCafURGqva0U4E", "Hi")
    assert "nothing was sent" in str(info.value)
    assert not isinstance(info.value, OutcomeUnknownError)
    no_secret(info.value)


def test_every_error_is_a_unipile_error(provider: Provider, client: UnipileClient) -> None:
    with pytest.raises(UnipileError):
        client.get_profile("nobody")


# --------------------------------------------------------------------------- config & limits


def test_the_api_key_stays_out_of_reprs() -> None:
    config = UnipileConfig(base_url="api1.unipile.com:13111", api_key=API_KEY, account_id="acc")
    assert config.base_url == "https://api1.unipile.com:13111"
    assert API_KEY not in repr(config)
    with UnipileClient(config) as c:
        assert API_KEY not in repr(c)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"base_url": "ftp://x"}, "base_url"),
        ({"base_url": ""}, "base_url"),
        ({"api_key": ""}, "api_key"),
        ({"api_key": " key "}, "api_key"),
        ({"account_id": " "}, "account_id"),
        ({"timeout": 0.0}, "timeout"),
        ({"page_size": 251}, "page_size"),
    ],
)
def test_bad_config_is_refused_without_quoting_the_key(
    kwargs: dict[str, object], field: str
) -> None:
    values: dict[str, object] = {
        "base_url": "https://api1.unipile.com:13111",
        "api_key": API_KEY,
        "account_id": "acc",
    }
    values.update(kwargs)
    with pytest.raises(ValidationError) as info:
        UnipileConfig(**values)  # type: ignore[arg-type]
    assert info.value.field == field
    no_secret(info.value)


def test_page_size_is_sent_as_limit(provider: Provider) -> None:
    for i in range(3):
        provider.state.add_profile(f"f{i}", "F", str(i), network_distance="FIRST_DEGREE")
    config = UnipileConfig(
        base_url=provider.base_url, api_key=API_KEY, account_id=DEFAULT_ACCOUNT_ID, page_size=1
    )
    with UnipileClient(config) as c:
        assert len(list(c.iter_relations())) == 3
    pages = provider.state.requests_to("GET", "/api/v1/users/relations")
    assert len(pages) == 3
    assert all(p.query["limit"] == ["1"] for p in pages)


def test_default_limits_are_conservative_and_overridable() -> None:
    assert DEFAULT_LIMITS.invitations_per_week < 100
    assert DEFAULT_LIMITS.invitations_per_day * 7 > DEFAULT_LIMITS.invitations_per_week
    custom = DEFAULT_LIMITS.with_overrides({"invitations_per_week": 40, "messages_per_day": 20})
    assert (custom.invitations_per_week, custom.messages_per_day) == (40, 20)
    assert custom.profile_views_per_day == DEFAULT_LIMITS.profile_views_per_day
    with pytest.raises(ValidationError):
        DEFAULT_LIMITS.with_overrides({"invites": 3})
    with pytest.raises(ValidationError):
        LinkedInLimits(invitations_per_day=-1)
    with pytest.raises(ValidationError):
        LinkedInLimits(invitations_per_day=50, invitations_per_week=20)
