"""aicmo.transports.imap against real IMAP servers on loopback (pymap; see conftest.py).

Bytes: the fixtures are a mix of CRLF and bare-LF files. They are APPENDed with
MULTIAPPEND, which sends each file verbatim as an IMAP literal, and pymap stores and returns
what it was given unchanged, so every fetched body is compared byte for byte with its file,
no line-ending normalisation. (imaplib's single-message APPEND would have turned bare LF
into CRLF on the way in; that is the client, not the server.)
"""

from __future__ import annotations

import logging
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from imapclient import IMAPClient  # type: ignore[import-untyped]  # ships no py.typed

from aicmo.errors import ConfigurationError, TransientChannelError
from aicmo.transports.imap import (
    Diagnosis,
    FetchResult,
    ImapSettings,
    Security,
    current_cursor,
    diagnose,
    fetch_new,
)

from .conftest import HOST, PASSWORD, USER, ImapServer, free_port

MAIL_DIR = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
FIXTURES = sorted(MAIL_DIR.glob("*.eml"))


def parse_uid_set(text: bytes) -> list[int]:
    """``b"101:103,107"`` -> ``[101, 102, 103, 107]`` (an APPENDUID set, RFC 4315)."""
    uids: list[int] = []
    for part in text.split(b","):
        low, _, high = part.partition(b":")
        uids.extend(range(int(low), int(high or low) + 1))
    return uids


def append(client: Any, folder: str, paths: list[Path], flags: tuple[bytes, ...] = ()) -> list[int]:
    """APPEND the files in one MULTIAPPEND and return the UIDs they got (UIDPLUS)."""
    msgs = [{"msg": path.read_bytes(), "flags": flags} for path in paths]
    _, data = client.multiappend(folder, msgs)
    match = re.search(rb"APPENDUID \d+ ([\d:,]+)", data[0])
    assert match, data
    return parse_uid_set(match.group(1))


def fetch_all(settings: ImapSettings, *, limit: int = 500) -> list[FetchResult]:
    """Poll like the caller does: until a fetch returns nothing."""
    pages: list[FetchResult] = []
    uidvalidity: int | None = None
    last_uid: int | None = None
    for _ in range(50):  # a cursor that never advances must fail the test, not hang it
        page = fetch_new(settings, uidvalidity=uidvalidity, last_uid=last_uid, limit=limit)
        pages.append(page)
        if not page.messages:
            return pages
        uidvalidity, last_uid = page.uidvalidity, page.last_uid
    pytest.fail(f"still fetching after 50 pages: {[p.last_uid for p in pages[-3:]]}")


def flags_of(client: Any, folder: str) -> dict[int, set[bytes]]:
    client.select_folder(folder, readonly=True)
    uids = client.search(["ALL"])
    return {int(uid): set(flags) - {b"\\Recent"} for uid, flags in client.get_flags(uids).items()}


class RecordingResolver:
    """An injected resolver that answers from a table and remembers every question."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = answers or {}
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[host]


def tls_client(server: ImapServer) -> Any:
    """The operator's session on a TLS server (STARTTLS or implicit)."""
    implicit = server.security == Security.TLS
    client = IMAPClient(
        HOST, port=server.port, ssl=implicit, ssl_context=server.ssl_context, timeout=5
    )
    if not implicit:
        client.starttls(server.ssl_context)
    client.login(USER, PASSWORD)
    return client


# --- fetching -----------------------------------------------------------------------


def test_the_first_fetch_returns_every_appended_message_in_uid_order_with_its_exact_bytes(
    imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    uids = append(mailbox, folder, FIXTURES)

    result = fetch_new(imap_server.settings(folder=folder), uidvalidity=None, last_uid=None)

    assert [m.uid for m in result.messages] == sorted(uids) == uids
    assert [m.raw for m in result.messages] == [p.read_bytes() for p in FIXTURES]
    endings = {b"\r\n" in p.read_bytes() for p in FIXTURES}
    assert endings == {True, False}, "both CRLF and bare-LF files came back untouched"
    assert result.last_uid == uids[-1]
    assert result.reset is False
    assert result.uidvalidity > 0


def test_polling_again_with_the_returned_cursor_returns_nothing_and_changes_nothing(
    imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    append(mailbox, folder, FIXTURES[:4])
    settings = imap_server.settings(folder=folder)
    first = fetch_new(settings, uidvalidity=None, last_uid=None)

    second = fetch_new(settings, uidvalidity=first.uidvalidity, last_uid=first.last_uid)
    third = fetch_new(settings, uidvalidity=second.uidvalidity, last_uid=second.last_uid)

    for again in (second, third):
        assert again == FetchResult(first.uidvalidity, (), first.last_uid, reset=False)


def test_three_messages_appended_later_are_exactly_what_the_next_fetch_returns(
    imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    append(mailbox, folder, FIXTURES[:5])
    settings = imap_server.settings(folder=folder)
    first = fetch_new(settings, uidvalidity=None, last_uid=None)

    later = FIXTURES[10:13]
    new_uids = append(mailbox, folder, later)
    second = fetch_new(settings, uidvalidity=first.uidvalidity, last_uid=first.last_uid)

    assert [m.uid for m in second.messages] == new_uids
    assert [m.raw for m in second.messages] == [p.read_bytes() for p in later]
    assert second.last_uid == new_uids[-1]
    assert second.reset is False


def test_limit_pages_through_the_folder_in_uid_order_without_gaps_or_repeats(
    imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    uids = append(mailbox, folder, FIXTURES[:7])

    pages = fetch_all(imap_server.settings(folder=folder), limit=3)

    assert [len(page.messages) for page in pages] == [3, 3, 1, 0]
    assert [m.uid for page in pages for m in page.messages] == uids
    assert [page.last_uid for page in pages] == [uids[2], uids[5], uids[6], uids[6]]


def test_fetching_leaves_every_flag_as_it_was_and_never_sets_seen(
    imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    append(mailbox, folder, FIXTURES[:3])
    append(mailbox, folder, FIXTURES[3:5], flags=(b"\\Flagged",))
    append(mailbox, folder, FIXTURES[5:6], flags=(b"\\Answered", b"\\Seen"))
    before = flags_of(mailbox, folder)

    fetch_all(imap_server.settings(folder=folder), limit=2)

    after = flags_of(mailbox, folder)
    assert after == before
    assert sum(b"\\Seen" in flags for flags in after.values()) == 1  # the one appended seen


def test_the_folder_is_examined_read_only_and_bodies_are_peeked(
    imap_server: ImapServer, mailbox: Any, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # EXAMINE alone already keeps \Seen unset, and so does BODY.PEEK[] alone; the flags
    # test cannot tell whether both are in place, so the calls are watched here.
    append(mailbox, folder, FIXTURES[:2])
    calls: list[tuple[str, object]] = []
    real_select, real_fetch = IMAPClient.select_folder, IMAPClient.fetch

    def select_folder(self: Any, name: str, readonly: bool = False) -> Any:
        calls.append(("select", readonly))
        return real_select(self, name, readonly=readonly)

    def fetch(self: Any, messages: Any, data: Any, modifiers: Any = None) -> Any:
        calls.append(("fetch", list(data)))
        return real_fetch(self, messages, data, modifiers)

    monkeypatch.setattr(IMAPClient, "select_folder", select_folder)
    monkeypatch.setattr(IMAPClient, "fetch", fetch)
    result = fetch_new(imap_server.settings(folder=folder), uidvalidity=None, last_uid=None)

    assert len(result.messages) == 2
    assert calls == [("select", True), ("fetch", ["BODY.PEEK[]"])]


def test_a_recreated_folder_resets_the_cursor_and_returns_its_full_content(
    imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    append(mailbox, folder, FIXTURES[:3])
    settings = imap_server.settings(folder=folder)
    old = fetch_new(settings, uidvalidity=None, last_uid=None)
    mailbox.delete_folder(folder)
    mailbox.create_folder(folder)
    # The new folder numbers from the start again: its UIDs are <= the stored last_uid,
    # so without the UIDVALIDITY check these messages would never be fetched.
    new_uids = append(mailbox, folder, FIXTURES[20:22])
    assert old.last_uid is not None
    assert max(new_uids) <= old.last_uid

    result = fetch_new(settings, uidvalidity=old.uidvalidity, last_uid=old.last_uid)

    assert result.reset is True
    assert result.uidvalidity != old.uidvalidity
    assert [m.uid for m in result.messages] == new_uids
    assert [m.raw for m in result.messages] == [p.read_bytes() for p in FIXTURES[20:22]]
    assert result.last_uid == new_uids[-1]


def test_a_stored_uidvalidity_that_differs_returns_reset_and_every_message(
    imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    uids = append(mailbox, folder, FIXTURES[:4])
    settings = imap_server.settings(folder=folder)
    current = fetch_new(settings, uidvalidity=None, last_uid=uids[-1])
    assert current.messages == ()

    result = fetch_new(settings, uidvalidity=current.uidvalidity + 1, last_uid=uids[-1])

    assert result.reset is True
    assert result.uidvalidity == current.uidvalidity
    assert [m.uid for m in result.messages] == uids


def test_a_reset_of_an_empty_folder_returns_no_cursor(imap_server: ImapServer, folder: str) -> None:
    result = fetch_new(imap_server.settings(folder=folder), uidvalidity=1, last_uid=500)

    assert result.reset is True
    assert result.messages == ()
    assert result.last_uid is None


def test_a_cursor_past_the_newest_uid_returns_nothing_although_uid_n_star_matches_the_last(
    imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    uids = append(mailbox, folder, FIXTURES[:2])
    mailbox.select_folder(folder, readonly=True)
    # The IMAP rule the transport must filter out: "UID n:*" includes the last message.
    assert mailbox.search(["UID", f"{uids[-1] + 50}:*"]) == [uids[-1]]
    settings = imap_server.settings(folder=folder)
    uidvalidity = fetch_new(settings, uidvalidity=None, last_uid=None).uidvalidity

    result = fetch_new(settings, uidvalidity=uidvalidity, last_uid=uids[-1] + 49)

    assert result.messages == ()
    assert result.last_uid == uids[-1] + 49


def test_an_empty_folder_returns_nothing_and_keeps_the_cursor(
    imap_server: ImapServer, folder: str
) -> None:
    settings = imap_server.settings(folder=folder)

    first = fetch_new(settings, uidvalidity=None, last_uid=None)
    second = fetch_new(settings, uidvalidity=first.uidvalidity, last_uid=7)

    assert (first.messages, first.last_uid, first.reset) == ((), None, False)
    assert (second.messages, second.last_uid, second.reset) == ((), 7, False)


def test_current_cursor_makes_the_next_fetch_start_from_now(
    imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    old_uids = append(mailbox, folder, FIXTURES[:6])
    settings = imap_server.settings(folder=folder)

    uidvalidity, last_uid = current_cursor(settings)
    new_uids = append(mailbox, folder, FIXTURES[6:7])
    result = fetch_new(settings, uidvalidity=uidvalidity, last_uid=last_uid)

    assert last_uid == old_uids[-1]
    assert [m.uid for m in result.messages] == new_uids
    assert result.reset is False


def test_current_cursor_of_an_empty_folder_still_catches_the_first_message(
    imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    settings = imap_server.settings(folder=folder)

    uidvalidity, last_uid = current_cursor(settings)
    new_uids = append(mailbox, folder, FIXTURES[:1])
    result = fetch_new(settings, uidvalidity=uidvalidity, last_uid=last_uid)

    assert [m.uid for m in result.messages] == new_uids


def test_a_limit_below_one_is_refused(imap_server: ImapServer) -> None:
    with pytest.raises(ValueError, match="limit"):
        fetch_new(imap_server.settings(), uidvalidity=None, last_uid=None, limit=0)


# --- configuration errors -----------------------------------------------------------


def test_a_wrong_password_is_a_configuration_error_that_does_not_show_the_password(
    imap_server: ImapServer,
) -> None:
    wrong = "wrong-Zk3mQ8-secret"
    with pytest.raises(ConfigurationError) as caught:
        fetch_new(imap_server.settings(password=wrong), uidvalidity=None, last_uid=None)

    message = caught.value.message
    assert message.startswith(f"IMAP login failed for {USER}@{HOST}: ")
    assert "AUTHENTICATIONFAILED" in message
    assert wrong not in message
    assert PASSWORD not in message


def test_the_password_never_reaches_the_log(
    imap_server: ImapServer, mailbox: Any, folder: str, caplog: pytest.LogCaptureFixture
) -> None:
    append(mailbox, folder, FIXTURES[:1])
    caplog.set_level(logging.DEBUG)

    fetch_new(imap_server.settings(folder=folder), uidvalidity=None, last_uid=None)

    assert "LOGIN" in caplog.text  # imapclient did log the exchange...
    assert PASSWORD not in caplog.text  # ...with the secret redacted


def test_an_unknown_folder_is_a_configuration_error_listing_the_folders_that_exist(
    imap_server: ImapServer, folder: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        fetch_new(imap_server.settings(folder="Replies"), uidvalidity=None, last_uid=None)

    message = caught.value.message
    assert "'Replies' does not exist" in message
    assert f"{USER}@{HOST}" in message
    assert "INBOX" in message
    assert folder in message


def test_an_oauth2_token_is_sent_with_xoauth2_and_stays_out_of_the_error(
    imap_server: ImapServer,
) -> None:
    # pymap offers PLAIN and LOGIN only, so it refuses the XOAUTH2 mechanism itself; that
    # refusal proves the token went through AUTHENTICATE XOAUTH2 and not LOGIN.
    token = "ya29.token-Mv7Rk2"
    settings = imap_server.settings(password=None, oauth2_token=token)

    with pytest.raises(ConfigurationError) as caught:
        fetch_new(settings, uidvalidity=None, last_uid=None)

    message = caught.value.message
    assert message.startswith(f"IMAP login failed for {USER}@{HOST}: ")
    assert "authentication mechanism" in message
    assert "XOAUTH2" in message
    assert token not in message


def test_settings_without_password_or_token_fail_at_login(imap_server: ImapServer) -> None:
    with pytest.raises(ConfigurationError, match="no password or OAuth2 token"):
        fetch_new(imap_server.settings(password=None), uidvalidity=None, last_uid=None)


@pytest.mark.parametrize(
    "host", ["imap.corp.example", "mail.test", "mx.invalid", "localhost", "example.com"]
)
def test_a_reserved_host_name_is_refused_before_any_connection(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_dialling(*args: object, **kwargs: object) -> socket.socket:
        raise AssertionError("a reserved name was dialled")

    monkeypatch.setattr(socket, "create_connection", no_dialling)
    settings = ImapSettings(host=host, port=993, security=Security.TLS, username=USER)

    with pytest.raises(ConfigurationError, match="reserved name"):
        fetch_new(settings, uidvalidity=None, last_uid=None)


def test_settings_show_no_secret_in_their_repr() -> None:
    settings = ImapSettings(
        host="imap.corp.example",
        port=993,
        security=Security.TLS,
        username=USER,
        password=PASSWORD,
        oauth2_token="ya29.secret-token",
    )

    assert PASSWORD not in repr(settings)
    assert "ya29" not in repr(settings)


def test_an_unknown_security_mode_is_a_configuration_error() -> None:
    mode: Any = "ssl"  # as a database row or a form might hold it

    with pytest.raises(ConfigurationError, match="tls, starttls, none"):
        ImapSettings(host=HOST, port=993, security=mode, username=USER)


def test_a_security_mode_given_as_text_becomes_the_enum() -> None:
    mode: Any = "starttls"  # as a database row or a form might hold it

    settings = ImapSettings(host=HOST, port=993, security=mode, username=USER)

    assert settings.security is Security.STARTTLS


# --- transient errors ---------------------------------------------------------------


def test_a_closed_port_is_a_transient_error() -> None:
    settings = ImapSettings(
        host=HOST, port=free_port(), security=Security.NONE, username=USER, password=PASSWORD
    )

    with pytest.raises(TransientChannelError, match="cannot reach IMAP server") as caught:
        fetch_new(settings, uidvalidity=None, last_uid=None)

    assert PASSWORD not in caught.value.message


def test_a_server_that_never_greets_times_out_as_a_transient_error(silent_port: int) -> None:
    settings = ImapSettings(
        host=HOST,
        port=silent_port,
        security=Security.NONE,
        username=USER,
        password=PASSWORD,
        timeout=0.5,
    )

    with pytest.raises(TransientChannelError, match=r"did not answer within 0\.5 s"):
        fetch_new(settings, uidvalidity=None, last_uid=None)


def test_a_bye_from_the_server_is_a_transient_error(bye_port: int) -> None:
    settings = ImapSettings(
        host=HOST, port=bye_port, security=Security.NONE, username=USER, password=PASSWORD
    )

    with pytest.raises(TransientChannelError, match="shutting down for maintenance") as caught:
        fetch_new(settings, uidvalidity=None, last_uid=None)

    assert "closed the connection" in caught.value.message
    assert PASSWORD not in caught.value.message


# --- TLS ----------------------------------------------------------------------------


def test_fetch_works_over_starttls_with_a_trusted_certificate(
    starttls_server: ImapServer,
) -> None:
    client = tls_client(starttls_server)
    try:
        client.create_folder("starttls")
        uids = append(client, "starttls", FIXTURES[:2])
    finally:
        client.logout()

    result = fetch_new(starttls_server.settings(folder="starttls"), uidvalidity=None, last_uid=None)

    assert [m.uid for m in result.messages] == uids
    assert [m.raw for m in result.messages] == [p.read_bytes() for p in FIXTURES[:2]]


def test_fetch_works_over_implicit_tls(
    implicit_tls_server: ImapServer, mailbox: Any, folder: str
) -> None:
    uids = append(mailbox, folder, FIXTURES[:2])

    result = fetch_new(implicit_tls_server.settings(folder=folder), uidvalidity=None, last_uid=None)

    assert [m.uid for m in result.messages] == uids


@pytest.mark.parametrize("server_name", ["starttls_server", "implicit_tls_server"])
def test_an_untrusted_certificate_is_a_configuration_error(
    server_name: str, request: pytest.FixtureRequest
) -> None:
    server: ImapServer = request.getfixturevalue(server_name)
    settings = server.settings(ssl_context=None)  # the system's trust store

    with pytest.raises(ConfigurationError, match="certificate that does not verify"):
        fetch_new(settings, uidvalidity=None, last_uid=None)


def test_starttls_is_refused_when_the_server_does_not_offer_it(imap_server: ImapServer) -> None:
    settings = imap_server.settings(security=Security.STARTTLS)

    with pytest.raises(ConfigurationError, match="does not offer STARTTLS"):
        fetch_new(settings, uidvalidity=None, last_uid=None)


# --- diagnose -----------------------------------------------------------------------


def test_diagnose_reports_ok_for_a_working_mailbox(
    imap_server: ImapServer, mailbox: Any, folder: str
) -> None:
    append(mailbox, folder, FIXTURES[:3])
    resolver = RecordingResolver({HOST: [HOST]})

    diagnosis = diagnose(imap_server.settings(folder=folder), resolver=resolver)

    assert diagnosis.ok is True
    assert diagnosis.stage == "ok"
    assert "holds 3 messages" in diagnosis.message
    assert resolver.calls == [(HOST, imap_server.port)]


def test_diagnose_never_fetches_mail(
    imap_server: ImapServer, mailbox: Any, folder: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    append(mailbox, folder, FIXTURES[:2])
    before = flags_of(mailbox, folder)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("diagnose must not read mail")

    monkeypatch.setattr(IMAPClient, "fetch", forbidden)
    monkeypatch.setattr(IMAPClient, "search", forbidden)
    diagnosis = diagnose(imap_server.settings(folder=folder))

    assert diagnosis.stage == "ok"
    monkeypatch.undo()
    assert flags_of(mailbox, folder) == before


def test_diagnose_reports_auth_for_a_wrong_password(imap_server: ImapServer) -> None:
    wrong = "wrong-Zk3mQ8-secret"

    diagnosis = diagnose(imap_server.settings(password=wrong))

    assert (diagnosis.ok, diagnosis.stage) == (False, "auth")
    assert diagnosis.message.startswith(f"IMAP login failed for {USER}@{HOST}")
    assert wrong not in diagnosis.message


def test_diagnose_reports_tcp_for_a_closed_port() -> None:
    port = free_port()
    settings = ImapSettings(
        host=HOST, port=port, security=Security.NONE, username=USER, password=PASSWORD
    )

    diagnosis = diagnose(settings, resolver=RecordingResolver({HOST: [HOST]}))

    assert (diagnosis.ok, diagnosis.stage) == (False, "tcp")
    assert f"{HOST}:{port}" in diagnosis.message


@pytest.mark.parametrize(
    "host",
    [
        "imap.corp.example",
        "mail.test",
        "mx.invalid",
        "localhost",
        "imap.localhost",
        "example.com",
        "imap.example.net",
        "EXAMPLE.ORG.",
    ],
)
def test_diagnose_refuses_reserved_names_at_dns_without_calling_the_resolver(
    host: str,
) -> None:
    resolver = RecordingResolver({host: [HOST]})
    settings = ImapSettings(host=host, port=993, security=Security.TLS, username=USER)

    diagnosis = diagnose(settings, resolver=resolver)

    assert (diagnosis.ok, diagnosis.stage) == (False, "dns")
    assert "reserved name" in diagnosis.message
    assert resolver.calls == []


def test_diagnose_reports_dns_when_the_name_does_not_resolve() -> None:
    resolver = RecordingResolver()
    settings = ImapSettings(
        host="imap.aicmo-nowhere.net", port=993, security=Security.TLS, username=USER
    )

    diagnosis = diagnose(settings, resolver=resolver)

    assert (diagnosis.ok, diagnosis.stage) == (False, "dns")
    assert "cannot resolve IMAP host imap.aicmo-nowhere.net" in diagnosis.message
    assert resolver.calls == [("imap.aicmo-nowhere.net", 993)]


@pytest.mark.parametrize("address", ["127.0.0.1", "::1"])
def test_diagnose_lets_loopback_addresses_past_the_dns_stage(address: str) -> None:
    settings = ImapSettings(
        host=address, port=free_port(), security=Security.NONE, username=USER, password="x"
    )

    diagnosis = diagnose(settings, resolver=RecordingResolver({address: [address]}))

    assert diagnosis.stage == "tcp"  # got as far as dialling the (closed) port


def test_diagnose_reports_folder_for_a_missing_folder(imap_server: ImapServer) -> None:
    diagnosis = diagnose(imap_server.settings(folder="Replies"))

    assert (diagnosis.ok, diagnosis.stage) == (False, "folder")
    assert "'Replies' does not exist" in diagnosis.message
    assert "INBOX" in diagnosis.message


@pytest.mark.parametrize("server_name", ["starttls_server", "implicit_tls_server"])
def test_diagnose_reports_tls_for_an_untrusted_certificate(
    server_name: str, request: pytest.FixtureRequest
) -> None:
    server: ImapServer = request.getfixturevalue(server_name)

    diagnosis = diagnose(server.settings(ssl_context=None))

    assert (diagnosis.ok, diagnosis.stage) == (False, "tls")
    assert "certificate" in diagnosis.message


@pytest.mark.parametrize("server_name", ["starttls_server", "implicit_tls_server"])
def test_diagnose_reports_ok_over_tls_with_a_trusted_certificate(
    server_name: str, request: pytest.FixtureRequest
) -> None:
    server: ImapServer = request.getfixturevalue(server_name)

    diagnosis = diagnose(server.settings())

    assert diagnosis == Diagnosis(True, "ok", diagnosis.message)
    assert f"({server.security.value})" in diagnosis.message


def test_diagnose_reports_tls_when_starttls_is_not_offered(imap_server: ImapServer) -> None:
    diagnosis = diagnose(imap_server.settings(security=Security.STARTTLS))

    assert (diagnosis.ok, diagnosis.stage) == (False, "tls")
    assert "does not offer STARTTLS" in diagnosis.message
