"""Hostile and broken input: the classifier answers, it never raises.

Beyond "does not raise", every answer must be storable as is: strings encodable as UTF-8
without NUL (PostgreSQL text), details JSON-serialisable, UNKNOWN carrying the raw text,
and no answer produced by the last-resort exception handler (that would be a bug hidden
behind the safety net).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.messages import ChannelType
from aicmo.cam.inbound import InboundKind, InboundResult, classify_message
from aicmo.cam.inbound.classify import RAW_LIMIT

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mail"
FIXTURE_BYTES = {p.name: p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))}
RECEIVED = datetime(2026, 11, 3, 21, 0, tzinfo=UTC)
OURS = frozenset({"alex@aicmo.example"})

KIND_EVENTS: dict[InboundKind, frozenset[EventType]] = {
    InboundKind.REPLY: frozenset({EventType.REPLY_RECEIVED}),
    InboundKind.AUTO_REPLY: frozenset({EventType.AUTO_REPLY_RECEIVED}),
    InboundKind.BOUNCE: frozenset({EventType.BOUNCED_HARD, EventType.BOUNCED_SOFT}),
    InboundKind.COMPLAINT: frozenset({EventType.COMPLAINED}),
    InboundKind.UNSUBSCRIBE_REQUEST: frozenset({EventType.UNSUBSCRIBED}),
    InboundKind.UNKNOWN: frozenset({EventType.UNKNOWN}),
}


def assert_storable_text(value: str | None) -> None:
    if value is None:
        return
    value.encode("utf-8")  # raises on lone surrogates
    assert "\x00" not in value


def assert_well_formed(result: InboundResult) -> None:
    assert isinstance(result.kind, InboundKind)
    assert result.events, "every message gives at least one event"
    assert {e.type for e in result.events} <= KIND_EVENTS[result.kind]
    for text in (result.subject, result.reply_text, result.from_address, result.message_id):
        assert_storable_text(text)
    for reference in result.references:
        assert_storable_text(reference)
        assert reference.startswith("<")
        assert reference.endswith(">")
    assert "\n" not in result.subject
    for event in result.events:
        assert event.channel is ChannelType.EMAIL
        assert event.source == "imap"
        assert event.occurred_at == RECEIVED
        for text in (event.reason, event.recipient, event.raw):
            assert_storable_text(text)
        json.dumps(event.detail)
        assert "\x00" not in json.dumps(event.detail, ensure_ascii=False)
        assert "internal_error" not in event.detail, event.detail
        if event.type is EventType.UNKNOWN:
            assert event.raw is not None
            assert len(event.raw) <= RAW_LIMIT


def classify(raw: bytes) -> InboundResult:
    result = classify_message(raw, RECEIVED, our_addresses=OURS)
    assert_well_formed(result)
    return result


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_raise(raw: bytes) -> None:
    classify(raw)


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    """A fixture damaged the way transports and bad software damage mail."""
    data = bytearray(FIXTURE_BYTES[draw(st.sampled_from(sorted(FIXTURE_BYTES)))])
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        if not data:
            break
        position = draw(st.integers(min_value=0, max_value=len(data) - 1))
        operation = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "dup"]))
        if operation == "flip":
            data[position] = draw(st.integers(min_value=0, max_value=255))
        elif operation == "delete":
            end = position + draw(st.integers(min_value=1, max_value=200))
            del data[position:end]
        elif operation == "insert":
            data[position:position] = draw(
                st.sampled_from(
                    [
                        b"\x00",
                        b"\xff\xfe",
                        b"\r",
                        b"\n\n",
                        b"--",
                        b"=?utf-8?b?!!!?=",
                        b"Content-Type: multipart/report; boundary=\n",
                        b"Content-Transfer-Encoding: base64\n",
                        b"charset=x-unknown-8bit",
                        "é€".encode("cp1252"),
                    ]
                )
                | st.binary(min_size=1, max_size=64)
            )
        elif operation == "truncate":
            del data[position:]
        else:
            end = position + draw(st.integers(min_value=1, max_value=400))
            data[position:position] = data[position:end]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_fixture())
def test_mutated_fixtures_never_raise(raw: bytes) -> None:
    classify(raw)


HEADER_NAMES = [
    "From",
    "To",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Auto-Submitted",
    "X-Failed-Recipients",
    "Precedence",
    "X-Auto-Response-Suppress",
    "Return-Path",
]
HEADER_VALUES = [
    "",
    "<>",
    "MAILER-DAEMON@example.net",
    "Jane <jane@example.org>",
    "=?utf-8?q?=C3=A9?= <a@b>",
    "=?bogus?x?zz?=",
    "multipart/report; report-type=delivery-status; boundary=b",
    "multipart/report; report-type=feedback-report; boundary=b",
    "multipart/mixed; boundary=b",
    "message/rfc822",
    "message/delivery-status",
    "text/plain; charset=rot13",
    "text/html; charset=utf-7",
    "base64",
    "quoted-printable",
    "x-uuencode",
    "auto-replied",
    "<a@b> <c@d",
    "Undeliverable: x",
]
BODY_PIECES = [
    "--b\n",
    "--b--\n",
    "Content-Type: message/delivery-status\n\n",
    "Content-Type: message/feedback-report\n\n",
    "Content-Type: message/rfc822\n\n",
    "Content-Type: text/rfc822-headers\n\n",
    "Content-Type: text/html\n\n<blockquote><p>x",
    "Final-Recipient: rfc822; a@example.org\n",
    "Final-Recipient: rfc822;\n",
    "Action: failed\n",
    "Action: delayed\n",
    "Status: 5.1.1\n",
    "Status: 9.9.9.9\n",
    "Diagnostic-Code: smtp; 550-5.1.1\n 550 5.2.2 x\n",
    "Feedback-Type: abuse\n",
    "Original-Rcpt-To: <a@example.org>\n",
    "Message-ID: <x@y>\n",
    "On Tue, Nov 3, 2026 at 10:02 AM A <a@b> wrote:\n",
    "> quoted unsubscribe\n",
    "-- \n",
    "back on 31 February\n",
    "\n",
    "=E9=\n",
    "AAAA====\n",
]


@st.composite
def structured_junk(draw: st.DrawFn) -> bytes:
    """Plausible-looking messages assembled from the parts that trip parsers."""
    headers = draw(
        st.lists(
            st.tuples(st.sampled_from(HEADER_NAMES), st.sampled_from(HEADER_VALUES)), max_size=10
        )
    )
    body = draw(st.lists(st.sampled_from(BODY_PIECES), max_size=30))
    separator = draw(st.sampled_from(["\n", "\r\n"]))
    text = "".join(f"{name}: {value}\n" for name, value in headers) + "\n" + "".join(body)
    return text.replace("\n", separator).encode("utf-8")


@settings(max_examples=400, deadline=None)
@given(structured_junk())
def test_structured_junk_never_raises(raw: bytes) -> None:
    classify(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00" * 100,
        b"\n\n\n",
        b"From: \n\n",
        b"From: <>\nSubject: =?utf-8?b?####?=\n\nx",
        b"From: a@b.example\nContent-Type: multipart/mixed; boundary=\n\n--\n--\n",
        b"From: a@b.example\nContent-Type: multipart/report\n\nno parts at all",
        b"From: a@b.example\nContent-Type: text/plain; charset=x-klingon\n\n\xff\xfe",
        b"From: a@b.example\nContent-Type: text/plain; charset=base64\n\nabc",
        b"From: a@b.example\nContent-Type: text/plain; charset*=utf-8''%FF\n\nabc",
        b"From: a@b.example\nContent-Transfer-Encoding: base64\n\n!!!not base64!!!",
        b"From: a@b.example\nSubject: \xe9t\xe9 \xff\n\n\xe9t\xe9",
        b"From: =?utf-8?b?AA==?= <a\x00@b.example>\n\nhi",
        b"From: a@b.example\nSubject: " + b"x" * 200_000 + b"\n\nbody",
        b"From: a@b.example\nContent-Type: multipart/mixed; boundary=b\n\n"
        + b"--b\nContent-Type: multipart/mixed; boundary=b\n\n" * 300,
        b"From: MAILER-DAEMON@x.example\nContent-Type: message/rfc822\n\n",
        b"From: MAILER-DAEMON@x.example\nX-Failed-Recipients: ,,,<<>>\n\n550 5.1.1",
        b"Content-Type: message/delivery-status\n\nAction: failed\n",
    ],
)
def test_known_nasty_inputs_classify_without_raising(raw: bytes) -> None:
    classify(raw)


def test_garbage_without_headers_is_unknown_with_its_raw_text() -> None:
    result = classify(b"\x00\xff garbage \x80")

    assert result.kind is InboundKind.UNKNOWN
    assert result.events[0].raw == "\ufffd\ufffd garbage \ufffd"
