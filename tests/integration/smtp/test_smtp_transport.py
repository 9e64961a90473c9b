"""The SMTP transport and diagnose() against real aiosmtpd servers on loopback: delivery,
connection reuse, the reply-to-error table, outcome-unknown drops, TLS, AUTH, and secrets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from aicmo.errors import (
    ConfigurationError,
    OutcomeUnknownError,
    PermanentChannelError,
    TransientChannelError,
)
from aicmo.transports.base import (
    PermanentSendError,
    SendConfigurationError,
    SendOutcomeUnknownError,
    SendReceipt,
    TransientSendError,
    Transport,
)
from aicmo.transports.netguard import is_reserved_name
from aicmo.transports.smtp import (
    Diagnosis,
    Security,
    SmtpSettings,
    SmtpTransport,
    classify_reply,
    diagnose,
    is_hard_bounce,
    parse_enhanced_status,
)

from .conftest import HOST, PASSWORD, TOKEN, USER, Behaviour, StartServer

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
SENDER = "ana@acme.example"
RECIPIENT = "bo@client.example"
UNKNOWN_USER = "nobody@client.example"
MESSAGE = (
    b"From: Ana <ana@acme.example>\r\n"
    b"To: Bo <bo@client.example>\r\n"
    b"Subject: Quick question\r\n"
    b"Message-ID: <k-1@acme.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Hi Bo,\r\n"
    b".a line that starts with a dot\r\n"
    b".\r\n"
    b"..two dots\r\n"
    b"Gr\xc3\xbc\xc3\x9fe, Zo\xc3\xab\r\n"
)


def send(
    transport: SmtpTransport, rcpt_to: str = RECIPIENT, message: bytes = MESSAGE
) -> SendReceipt:
    return transport.send(message, mail_from=SENDER, rcpt_to=rcpt_to, now=NOW, key="k-1")


def error_texts(err: BaseException) -> Iterator[str]:
    """str and repr of the error and of every error chained to it."""
    seen: BaseException | None = err
    while seen is not None:
        yield str(seen)
        yield repr(seen)
        yield repr(seen.args)
        seen = seen.__cause__ or seen.__context__


def assert_no_secret(err: BaseException) -> None:
    for text in error_texts(err):
        assert PASSWORD not in text
        assert TOKEN not in text


class Spy:
    """A resolver that records its calls and maps every name to 127.0.0.1."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return [HOST]


# --- pure: the reply table ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5.1.1 <bo@client.example>: Recipient address rejected", "5.1.1"),
        ("4.7.1 Greylisted, try again", "4.7.1"),
        ("  5.7.26 Unauthenticated email", "5.7.26"),
        ("Requested action not taken: mailbox unavailable", None),
        ("5.1 is not a status", None),
        ("2.0.0 Ok", "2.0.0"),
    ],
)
def test_the_enhanced_status_is_read_from_the_start_of_the_reply(
    text: str, expected: str | None
) -> None:
    assert parse_enhanced_status(text) == expected


@pytest.mark.parametrize(
    ("stage", "code", "enhanced", "hard"),
    [
        ("rcpt", 550, "5.1.1", True),  # user unknown
        ("rcpt", 550, "5.1.10", True),  # null MX
        ("rcpt", 553, "5.1.3", True),  # bad address syntax
        ("rcpt", 554, "5.1.2", True),  # domain does not exist
        ("rcpt", 550, None, True),
        ("rcpt", 551, None, True),
        ("rcpt", 553, None, True),
        ("rcpt", 554, None, False),
        ("rcpt", 552, None, False),
        ("rcpt", 550, "5.7.1", False),  # policy: says nothing about the address
        ("rcpt", 552, "5.2.2", False),  # mailbox full
        ("rcpt", 550, "5.1.8", False),  # the *sender's* domain is bad
        ("rcpt", 450, "4.1.1", False),  # not permanent at all
        ("mail", 550, "5.1.1", False),
        ("data", 554, "5.7.1", False),
        ("data", 552, "5.3.4", False),
    ],
)
def test_only_a_bad_recipient_address_is_a_hard_bounce(
    stage: str, code: int, enhanced: str | None, hard: bool
) -> None:
    assert is_hard_bounce(stage, code, enhanced) is hard


def test_4xx_is_transient_and_5xx_is_permanent() -> None:
    transient = classify_reply("rcpt", 451, "4.7.1 Greylisted")
    permanent = classify_reply("rcpt", 550, "5.1.1 User unknown")
    assert isinstance(transient, TransientChannelError)
    assert (transient.stage, transient.code, transient.enhanced) == ("rcpt", 451, "4.7.1")
    assert isinstance(permanent, PermanentChannelError)
    assert (permanent.stage, permanent.code, permanent.enhanced) == ("rcpt", 550, "5.1.1")
    assert permanent.hard_bounce is True


@pytest.mark.parametrize(
    "host",
    [
        "smtp.example.com",
        "example.org",
        "mx.example.net",
        "mail.example",
        "smtp.test",
        "x.invalid",
        "localhost",
        "mail.localhost",
        "SMTP.EXAMPLE.COM.",
    ],
)
def test_reserved_names_are_recognised(host: str) -> None:
    assert is_reserved_name(host)


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "::1", "smtp.gmail.com", "example.community", "myexample.com"]
)
def test_ip_literals_and_ordinary_names_are_not_reserved(host: str) -> None:
    assert not is_reserved_name(host)


# --- settings -----------------------------------------------------------------------------


def test_the_settings_repr_never_shows_the_password_or_the_token() -> None:
    with_password = SmtpSettings(
        host="smtp.acme-mail.com", port=587, security=Security.STARTTLS, username=USER,
        password=PASSWORD,
    )  # fmt: skip
    with_token = SmtpSettings(
        host="smtp.acme-mail.com", port=587, security=Security.STARTTLS, username=USER,
        oauth2_token=TOKEN,
    )  # fmt: skip
    for text in (repr(with_password), repr(with_token), repr(SmtpTransport(with_password))):
        assert PASSWORD not in text
        assert TOKEN not in text


def test_credentials_are_never_sent_unencrypted_to_a_remote_host() -> None:
    settings = SmtpSettings(
        host="relay.acme-mail.com", port=25, security=Security.NONE, username=USER,
        password=PASSWORD,
    )  # fmt: skip
    with SmtpTransport(settings) as transport, pytest.raises(SendConfigurationError) as caught:
        send(transport)  # refused before dialling anything
    assert isinstance(caught.value, ConfigurationError)
    assert isinstance(caught.value, TransientChannelError)  # nothing was sent
    assert caught.value.stage == "auth"
    assert "unencrypted" in str(caught.value)
    assert_no_secret(caught.value)
    result = diagnose(settings, resolver=Spy())
    assert (result.ok, result.stage) == (False, "auth")
    assert "unencrypted" in result.message


@pytest.mark.parametrize(
    "changes",
    [
        {"username": USER},
        {"password": PASSWORD},
        {"port": 0},
        {"port": 70000},
        {"host": ""},
        {"security": "ssl"},
        {"timeout": 0},
    ],
)
def test_settings_that_cannot_work_are_refused(changes: dict[str, object]) -> None:
    fields: dict[str, object] = {"host": "smtp.acme-mail.com", "port": 587, "security": "starttls"}
    with pytest.raises(ConfigurationError) as caught:
        SmtpSettings(**{**fields, **changes})  # type: ignore[arg-type]
    assert_no_secret(caught.value)


# --- delivery and connection reuse --------------------------------------------------------


def test_a_message_arrives_byte_identical_with_the_right_envelope(
    smtp_server: StartServer,
) -> None:
    server = smtp_server()
    with SmtpTransport(server.settings()) as transport:
        receipt = send(transport)
    assert receipt == SendReceipt(
        transport="smtp", accepted_at=NOW, response="250 2.0.0 Ok: queued as Q1"
    )
    [received] = server.received
    assert received.content == MESSAGE
    assert received.mail_from == SENDER
    assert received.rcpt_tos == [RECIPIENT]
    assert "BODY=8BITMIME" in received.mail_options
    assert f"SIZE={len(MESSAGE)}" in received.mail_options


def test_bare_line_feeds_are_sent_as_crlf(smtp_server: StartServer) -> None:
    server = smtp_server()
    with SmtpTransport(server.settings()) as transport:
        send(transport, message=MESSAGE.replace(b"\r\n", b"\n").rstrip(b"\n"))
    assert server.received[0].content == MESSAGE


def test_a_non_ascii_recipient_is_sent_with_smtputf8(smtp_server: StartServer) -> None:
    server = smtp_server()
    with SmtpTransport(server.settings()) as transport:
        send(transport, rcpt_to="zoë@client.example")
    assert server.received[0].rcpt_tos == ["zoë@client.example"]
    assert "SMTPUTF8" in server.received[0].mail_options


def test_the_transport_satisfies_the_transport_interface(smtp_server: StartServer) -> None:
    transport: Transport = SmtpTransport(smtp_server().settings())
    assert isinstance(transport, Transport)
    assert transport.name == "smtp"
    transport.close()


def test_five_sends_reuse_one_connection(smtp_server: StartServer) -> None:
    server = smtp_server()
    with SmtpTransport(server.settings()) as transport:
        receipts = [send(transport) for _ in range(5)]
    assert [r.response for r in receipts] == [f"250 2.0.0 Ok: queued as Q{i}" for i in range(1, 6)]
    assert len(server.received) == 5
    assert server.handler.connections == 1


def test_a_new_connection_is_opened_after_max_messages_per_connection(
    smtp_server: StartServer,
) -> None:
    server = smtp_server()
    with SmtpTransport(server.settings(), max_messages_per_connection=2) as transport:
        for _ in range(5):
            send(transport)
    assert len(server.received) == 5
    assert server.handler.connections == 3


@pytest.mark.parametrize("last_words", [None, "421 4.4.2 mx.loopback Error: timeout exceeded"])
def test_the_transport_reconnects_after_the_server_closed_an_idle_connection(
    smtp_server: StartServer, last_words: str | None
) -> None:
    server = smtp_server()
    with SmtpTransport(server.settings()) as transport:
        send(transport)
        server.hang_up_idle_connections(last_words)
        receipt = send(transport)
    assert receipt.response == "250 2.0.0 Ok: queued as Q2"
    assert len(server.received) == 2
    assert server.handler.connections == 2


def test_close_quits_and_the_transport_can_send_again(smtp_server: StartServer) -> None:
    server = smtp_server()
    transport = SmtpTransport(server.settings())
    send(transport)
    transport.close()
    transport.close()  # closing twice is harmless
    send(transport)
    transport.close()
    assert server.handler.connections == 2
    assert len(server.received) == 2


# --- refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behaviour", "rcpt_to", "error", "stage", "code", "enhanced", "hard"),
    [
        pytest.param(
            Behaviour(mail_reply="421 4.3.2 Service shutting down, closing channel"),
            RECIPIENT, TransientSendError, "mail", 421, "4.3.2", None,
            id="421-at-mail",
        ),
        pytest.param(
            Behaviour(rcpt_replies={RECIPIENT: "451 4.7.1 Greylisted, please try again"}),
            RECIPIENT, TransientSendError, "rcpt", 451, "4.7.1", None,
            id="451-greylisted",
        ),
        pytest.param(
            Behaviour(rcpt_replies={UNKNOWN_USER: "550 5.1.1 <nobody@…>: User unknown"}),
            UNKNOWN_USER, PermanentSendError, "rcpt", 550, "5.1.1", True,
            id="550-5.1.1-user-unknown",
        ),
        pytest.param(
            Behaviour(rcpt_replies={UNKNOWN_USER: "553 mailbox name not allowed"}),
            UNKNOWN_USER, PermanentSendError, "rcpt", 553, None, True,
            id="553-without-enhanced-status",
        ),
        pytest.param(
            Behaviour(rcpt_replies={RECIPIENT: "550 5.7.1 Relaying denied"}),
            RECIPIENT, PermanentSendError, "rcpt", 550, "5.7.1", False,
            id="550-5.7.1-policy",
        ),
        pytest.param(
            Behaviour(mail_reply="553 5.7.1 Sender address rejected: not owned by user"),
            RECIPIENT, PermanentSendError, "mail", 553, "5.7.1", False,
            id="553-sender-refused",
        ),
        pytest.param(
            Behaviour(data_reply="554 5.7.1 Message rejected as spam"),
            RECIPIENT, PermanentSendError, "data", 554, "5.7.1", False,
            id="554-5.7.1-at-data",
        ),
        pytest.param(
            Behaviour(data_reply="452 4.3.1 Insufficient system storage"),
            RECIPIENT, TransientSendError, "data", 452, "4.3.1", None,
            id="452-at-data",
        ),
    ],
)  # fmt: skip
def test_each_refusal_maps_to_its_error_class_stage_code_and_hard_bounce_flag(
    smtp_server: StartServer,
    behaviour: Behaviour,
    rcpt_to: str,
    error: type[Exception],
    stage: str,
    code: int,
    enhanced: str | None,
    hard: bool | None,
) -> None:
    server = smtp_server(behaviour=behaviour)
    with SmtpTransport(server.settings()) as transport, pytest.raises(error) as caught:
        send(transport, rcpt_to=rcpt_to)
    err = caught.value
    assert isinstance(err, TransientSendError | PermanentSendError)
    assert (err.stage, err.code, err.enhanced) == (stage, code, enhanced)
    if isinstance(err, PermanentSendError):
        assert err.hard_bounce is hard
    assert str(code) in str(err)
    assert server.received == []


def test_a_refused_recipient_leaves_the_connection_usable_for_the_next_message(
    smtp_server: StartServer,
) -> None:
    server = smtp_server(behaviour=Behaviour(rcpt_replies={UNKNOWN_USER: "550 5.1.1 Unknown"}))
    with SmtpTransport(server.settings()) as transport:
        with pytest.raises(PermanentSendError):
            send(transport, rcpt_to=UNKNOWN_USER)
        send(transport)
    assert [r.rcpt_tos for r in server.received] == [[RECIPIENT]]
    assert server.handler.connections == 1


def test_a_421_closes_the_connection_and_the_next_send_opens_a_new_one(
    smtp_server: StartServer,
) -> None:
    server = smtp_server(behaviour=Behaviour(rcpt_replies={UNKNOWN_USER: "421 4.7.0 Try later"}))
    with SmtpTransport(server.settings()) as transport:
        with pytest.raises(TransientSendError):
            send(transport, rcpt_to=UNKNOWN_USER)
        send(transport)
    assert len(server.received) == 1
    assert server.handler.connections == 2


def test_a_closed_port_is_a_transient_connect_error(closed_port: int) -> None:
    settings = SmtpSettings(host=HOST, port=closed_port, security=Security.NONE, timeout=2.0)
    with SmtpTransport(settings) as transport, pytest.raises(TransientSendError) as caught:
        send(transport)
    assert caught.value.stage == "connect"
    assert caught.value.code is None
    assert "refused" in str(caught.value)


def test_the_transport_never_dials_a_reserved_name() -> None:
    settings = SmtpSettings(host="smtp.example.com", port=587, security=Security.STARTTLS)
    with SmtpTransport(settings) as transport, pytest.raises(ConfigurationError) as caught:
        send(transport)
    assert isinstance(caught.value, SendConfigurationError)
    assert caught.value.stage == "connect"
    assert "reserved" in str(caught.value)


# --- the outcome of a send cut short ------------------------------------------------------


def test_a_hang_up_after_the_payload_is_outcome_unknown(smtp_server: StartServer) -> None:
    server = smtp_server(behaviour=Behaviour(after_payload="hang-up"))
    with (
        SmtpTransport(server.settings()) as transport,
        pytest.raises(OutcomeUnknownError) as caught,
    ):
        send(transport)
    assert isinstance(caught.value, SendOutcomeUnknownError)
    assert caught.value.stage == "data"
    assert "must not be resent" in str(caught.value)


def test_a_hang_up_in_the_middle_of_the_payload_is_outcome_unknown(
    smtp_server: StartServer,
) -> None:
    server = smtp_server(behaviour=Behaviour(at_data_command="354-then-hang-up"))
    big = MESSAGE + b"x" * 998 + b"\r\n" * 1 + (b"y" * 76 + b"\r\n") * 40_000  # ~3 MB
    with SmtpTransport(server.settings()) as transport, pytest.raises(SendOutcomeUnknownError):
        send(transport, message=big)


def test_no_final_reply_within_the_timeout_is_outcome_unknown(smtp_server: StartServer) -> None:
    server = smtp_server(behaviour=Behaviour(after_payload="stall"))
    with (
        SmtpTransport(server.settings(timeout=0.5)) as transport,
        pytest.raises(SendOutcomeUnknownError) as caught,
    ):
        send(transport)
    assert caught.value.stage == "data"


def test_a_hang_up_at_the_data_command_before_354_is_transient(smtp_server: StartServer) -> None:
    server = smtp_server(behaviour=Behaviour(at_data_command="hang-up"))
    with SmtpTransport(server.settings()) as transport, pytest.raises(TransientSendError) as caught:
        send(transport)
    assert caught.value.stage == "data"
    assert not isinstance(caught.value, OutcomeUnknownError)


def test_after_an_unknown_outcome_the_next_send_uses_a_new_connection(
    smtp_server: StartServer,
) -> None:
    hung_up = smtp_server(behaviour=Behaviour(after_payload="hang-up"))
    with SmtpTransport(hung_up.settings()) as transport:
        with pytest.raises(SendOutcomeUnknownError):
            send(transport)
        with pytest.raises(SendOutcomeUnknownError):
            send(transport)
    assert hung_up.handler.connections == 2


# --- TLS and authentication ---------------------------------------------------------------


def test_starttls_and_auth_deliver_over_an_encrypted_authenticated_session(
    smtp_server: StartServer,
) -> None:
    server = smtp_server("starttls")
    with SmtpTransport(server.settings()) as transport:
        send(transport)
        send(transport)
    assert [(r.encrypted, r.authenticated) for r in server.received] == [(True, True)] * 2
    assert server.received[0].content == MESSAGE
    assert server.handler.connections == 1


def test_implicit_tls_delivers(smtp_server: StartServer) -> None:
    server = smtp_server("tls")
    with SmtpTransport(server.settings()) as transport:
        send(transport)
    assert [(r.encrypted, r.authenticated) for r in server.received] == [(True, True)]


def test_an_oauth2_token_authenticates_with_xoauth2(smtp_server: StartServer) -> None:
    server = smtp_server("starttls")
    with SmtpTransport(server.settings(password=None, oauth2_token=TOKEN)) as transport:
        send(transport)
    assert server.received[0].authenticated


def test_a_rejected_oauth2_token_is_a_permanent_auth_error_that_hides_the_token(
    smtp_server: StartServer,
) -> None:
    server = smtp_server("starttls")
    settings = server.settings(password=None, oauth2_token=TOKEN + "-expired")
    with SmtpTransport(settings) as transport, pytest.raises(PermanentSendError) as caught:
        send(transport)
    assert (caught.value.stage, caught.value.code) == ("auth", 535)
    assert caught.value.hard_bounce is False
    assert_no_secret(caught.value)
    assert server.received == []


def test_a_wrong_password_is_a_permanent_auth_error_that_never_shows_the_password(
    smtp_server: StartServer,
) -> None:
    server = smtp_server("starttls")
    wrong = PASSWORD + "-wrong"
    with (
        SmtpTransport(server.settings(password=wrong)) as transport,
        pytest.raises(PermanentSendError) as caught,
    ):
        send(transport)
    assert (caught.value.stage, caught.value.code, caught.value.enhanced) == ("auth", 535, "5.7.8")
    assert caught.value.hard_bounce is False
    for text in error_texts(caught.value):
        assert wrong not in text
        assert PASSWORD not in text


def test_a_non_ascii_password_is_sent_as_utf8_auth_plain(smtp_server: StartServer) -> None:
    server = smtp_server("starttls")
    with (
        SmtpTransport(server.settings(password="pässwörd-ü")) as transport,
        pytest.raises(PermanentSendError) as caught,
    ):
        send(transport)
    assert (caught.value.stage, caught.value.code) == ("auth", 535)
    assert "pässwörd" not in str(caught.value)


def test_an_untrusted_certificate_fails_the_send_before_anything_is_sent(
    smtp_server: StartServer,
) -> None:
    starttls = smtp_server("starttls")
    implicit = smtp_server("tls")
    for server, stage in ((starttls, "ehlo"), (implicit, "connect")):
        with (
            SmtpTransport(server.settings(ssl_context=None)) as transport,
            pytest.raises(TransientSendError) as caught,
        ):
            send(transport)
        assert caught.value.stage == stage
        assert "certificate verify failed" in str(caught.value)
        assert_no_secret(caught.value)
        assert server.received == []


def test_a_server_without_starttls_is_refused_rather_than_sent_the_password_in_clear(
    smtp_server: StartServer,
) -> None:
    server = smtp_server("plain")
    settings = server.settings(security=Security.STARTTLS, username=USER, password=PASSWORD)
    with SmtpTransport(settings) as transport, pytest.raises(ConfigurationError) as caught:
        send(transport)
    assert "STARTTLS" in str(caught.value)
    assert_no_secret(caught.value)
    assert server.received == []


# --- diagnose -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["plain", "starttls", "tls"])
def test_diagnose_says_ok_and_sends_nothing(smtp_server: StartServer, kind: str) -> None:
    server = smtp_server(kind)
    result = diagnose(server.settings())
    assert result.ok, result.message
    assert result.stage == "ok"
    assert "no message was sent" in result.message
    assert ("TLS" in result.message) is (kind != "plain")
    assert server.received == []
    assert server.handler.connections == 1


def test_diagnose_says_auth_for_a_wrong_password(smtp_server: StartServer) -> None:
    server = smtp_server("starttls")
    result = diagnose(server.settings(password="not-the-password"))
    assert (result.ok, result.stage) == (False, "auth")
    assert "535" in result.message
    assert USER in result.message
    assert "not-the-password" not in result.message


def test_diagnose_says_tls_for_a_self_signed_certificate_it_does_not_trust(
    smtp_server: StartServer,
) -> None:
    for kind in ("starttls", "tls"):
        server = smtp_server(kind)
        result = diagnose(server.settings(ssl_context=None))
        assert (result.ok, result.stage) == (False, "tls")
        assert "certificate verify failed" in result.message
        assert HOST in result.message


def test_diagnose_says_tls_when_implicit_tls_meets_a_plain_port(smtp_server: StartServer) -> None:
    server = smtp_server("plain")
    result = diagnose(server.settings(security=Security.TLS))
    assert (result.ok, result.stage) == (False, "tls")
    assert "security=starttls" in result.message


def test_diagnose_says_tls_when_the_server_offers_no_starttls(smtp_server: StartServer) -> None:
    server = smtp_server("plain")
    result = diagnose(server.settings(security=Security.STARTTLS))
    assert (result.ok, result.stage) == (False, "tls")
    assert "does not offer STARTTLS" in result.message


def test_diagnose_says_tcp_for_a_closed_port(closed_port: int) -> None:
    result = diagnose(SmtpSettings(host=HOST, port=closed_port, security=Security.STARTTLS))
    assert result == Diagnosis(False, "tcp", result.message)
    assert "connection refused" in result.message


@pytest.mark.parametrize(
    "host", ["smtp.example.com", "mail.example", "smtp.test", "mx.invalid", "localhost"]
)
def test_diagnose_refuses_a_reserved_name_without_any_lookup(host: str) -> None:
    resolver = Spy()
    result = diagnose(
        SmtpSettings(host=host, port=587, security=Security.STARTTLS), resolver=resolver
    )
    assert (result.ok, result.stage) == (False, "dns")
    assert "reserved" in result.message
    assert resolver.calls == []


def test_diagnose_says_dns_when_the_name_does_not_resolve() -> None:
    def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    result = diagnose(
        SmtpSettings(host="smtp.acme-mail.com", port=587, security=Security.STARTTLS),
        resolver=no_such_host,
    )
    assert (result.ok, result.stage) == (False, "dns")
    assert "smtp.acme-mail.com" in result.message


def test_diagnose_dials_the_resolved_address_and_verifies_the_configured_name(
    smtp_server: StartServer,
) -> None:
    server = smtp_server("starttls")
    resolver = Spy()
    result = diagnose(server.settings(host="smtp.acme-mail.com"), resolver=resolver)
    assert resolver.calls == [("smtp.acme-mail.com", server.port)]
    assert server.handler.connections == 1  # it reached 127.0.0.1 ...
    assert (result.ok, result.stage) == (False, "tls")  # ... whose certificate is not for that name
    assert "smtp.acme-mail.com" in result.message


def test_diagnose_with_an_ip_literal_never_calls_the_resolver(smtp_server: StartServer) -> None:
    server = smtp_server("plain")
    resolver = Spy()
    result = diagnose(server.settings(), resolver=resolver)
    assert result.ok
    assert resolver.calls == []
