"""Unit tests for aicmo.operator_services.channels.email_message: built bytes are parsed
back with the stdlib parser (policy.default) and DKIM signatures verified with dkimpy against a key
generated here (no network)."""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import importlib
import re
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from email.generator import BytesGenerator
from email.header import Header, decode_header, make_header
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any, cast

import dkim  # type: ignore[import-untyped, unused-ignore]
import pytest
from email_validator import validate_email
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from aicmo.errors import ValidationError
from aicmo.operator_services.channels import email_message
from aicmo.operator_services.channels.email_message import (
    EmailContent,
    EmailEnvelope,
    build_email,
    dkim_sign,
    html_to_text,
    make_message_id,
)

DATE = datetime(2024, 3, 5, 14, 30, 0, tzinfo=timezone(timedelta(hours=1)))
MESSAGE_ID = "<0123456789abcdef@mail.example.com>"
ENVELOPE = EmailEnvelope(
    from_name="Sam Sender",
    from_address="sam@example.com",
    to_name="Zoe Lead",
    to_address="zoe@example.org",
)
CONTENT = EmailContent(subject="Quick question", text="Hi Zoe,\n\nHow are you?\n", html=None)


def build(
    content: EmailContent = CONTENT,
    envelope: EmailEnvelope = ENVELOPE,
    **kwargs: Any,
) -> bytes:
    args: dict[str, Any] = {
        "message_id": MESSAGE_ID,
        "date": DATE,
        "unsubscribe_https": None,
        "unsubscribe_mailto": None,
        "postal_address": None,
    }
    args.update(kwargs)
    return build_email(content, envelope, **args)


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def body_text(part: EmailMessage) -> str:
    return cast(str, part.get_content()).replace("\r\n", "\n")


def header_lines(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0]
    return head.decode("ascii").split("\r\n")


def unfold(value: str) -> str:
    """RFC 5322 section 2.2.3: a folded header is unfolded before it is parsed."""
    return re.sub(r"\r?\n(?=[ \t])", "", value)


def display_names(raw: bytes) -> list[str]:
    """From and To display names, decoded as RFC 2047 section 6.2 says.

    CPython's policy.default parser keeps the space between two encoded-words in a display
    name (RFC 2047 says to drop it; mail clients do), so a long non-ASCII name split over
    two encoded-words would read back with a stray space: decode it the standard way.
    A compat32 header keeps its folds, which ``getaddresses`` misreads inside a quoted
    string, so the value is unfolded first, as RFC 5322 requires.
    """
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    names = []
    for field in ("From", "To"):
        [(name, _)] = email.utils.getaddresses([unfold(str(msg[field]))])
        names.append(str(make_header(decode_header(name))))
    return names


def header_names(raw: bytes) -> list[str]:
    return [line.split(":", 1)[0] for line in header_lines(raw) if not line.startswith(" ")]


# ----------------------------------------------------------------------- structure


def test_text_only_message_has_one_plain_part() -> None:
    raw = build()
    msg = parse(raw)
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg["Content-Transfer-Encoding"] == "7bit"
    assert body_text(msg) == "Hi Zoe,\n\nHow are you?\n"
    assert header_names(raw) == [
        "From",
        "To",
        "Subject",
        "Date",
        "Message-ID",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
    ]


def test_text_and_html_make_multipart_alternative_text_first() -> None:
    content = EmailContent(subject="Hi", text="Plain body", html="<p>HTML body</p>")
    msg = parse(build(content))
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert body_text(cast(EmailMessage, parts[0])).strip() == "Plain body"
    assert body_text(cast(EmailMessage, parts[1])).strip() == "<p>HTML body</p>"
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert msg.defects == []


def test_text_is_derived_from_html_when_missing() -> None:
    html = '<p>Hi Zoë,</p><p>Read <a href="https://example.com/post">the post</a>.</p>'
    msg = parse(build(EmailContent(subject="Hi", text=None, html=html)))
    plain, rich = (cast(EmailMessage, p) for p in msg.iter_parts())
    assert plain.get_content_type() == "text/plain"
    assert body_text(plain).strip() == "Hi Zoë,\n\nRead the post (https://example.com/post)."
    assert body_text(rich).strip() == html


def test_standard_headers_are_present_and_exact() -> None:
    envelope = replace(ENVELOPE, reply_to="replies@example.com")
    msg = parse(build(envelope=envelope))
    assert msg["Message-ID"] == MESSAGE_ID
    assert msg["Date"].datetime == DATE
    assert msg["MIME-Version"] == "1.0"
    assert msg["From"].addresses[0].display_name == "Sam Sender"
    assert msg["From"].addresses[0].addr_spec == "sam@example.com"
    assert msg["To"].addresses[0].display_name == "Zoe Lead"
    assert msg["To"].addresses[0].addr_spec == "zoe@example.org"
    assert msg["Reply-To"].addresses[0].addr_spec == "replies@example.com"
    assert msg["Subject"] == "Quick question"


def test_no_reply_to_without_one_and_bare_address_without_name() -> None:
    envelope = replace(ENVELOPE, to_name=None, from_name="  ")
    raw = build(envelope=envelope)
    msg = parse(raw)
    assert "Reply-To" not in msg
    assert b"\r\nTo: zoe@example.org\r\n" in raw
    assert raw.startswith(b"From: sam@example.com\r\n")
    assert msg["To"].addresses[0].display_name == ""


def test_output_is_deterministic() -> None:
    content = EmailContent(subject="Grüße", text=None, html="<p>Hallo Zoë</p>")
    assert build(content) == build(content)


def test_lines_are_crlf_terminated_and_short() -> None:
    long_subject = "word " * 60 + "end"
    content = EmailContent(subject=long_subject.strip(), text="x" * 3000, html="<p>" + "y" * 3000)
    raw = build(content, unsubscribe_https="https://example.com/u/" + "a" * 200)
    assert b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert max(len(line) for line in header_lines(raw)) <= 250  # folded
    assert parse(raw)["Subject"] == long_subject.strip()


# ---------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("Plain ASCII only.\n", "7bit"),
        ("Hi Zoë, ça va? A mostly ASCII line with an accent.\n", "quoted-printable"),
        ("Здравствуйте! Как дела? Это письмо почти целиком на кириллице.\n", "base64"),
        ("日本語のメールです。よろしくお願いします。\n", "base64"),
        ("a" * 1200 + "\n", "quoted-printable"),  # a line too long for 7bit
    ],
)
def test_body_transfer_encoding_fits_content(text: str, encoding: str) -> None:
    msg = parse(build(EmailContent(subject="Hi", text=text, html=None)))
    assert msg["Content-Transfer-Encoding"] == encoding
    assert body_text(msg) == text


def test_non_ascii_subject_and_names_use_encoded_words() -> None:
    content = EmailContent(subject="Frage zu Müller & Söhne — 2024 ✓", text="x", html=None)
    envelope = replace(ENVELOPE, from_name="Zoë Ångström", to_name="李小龍")
    raw = build(content, envelope)
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"=?utf-8?b?" in head
    msg = parse(raw)
    assert msg["Subject"] == "Frage zu Müller & Söhne — 2024 ✓"
    assert msg["From"].addresses[0].display_name == "Zoë Ångström"
    assert msg["To"].addresses[0].display_name == "李小龍"


def encoded_words(header_block: str) -> list[str]:
    return re.findall(r"=\?utf-8\?b\?[A-Za-z0-9+/=]*\?=", header_block)


def test_long_non_ascii_name_is_split_into_encoded_words() -> None:
    name = "Zoë Ångström-Lüdenscheidt, Geschäftsführerin für Übersee"
    raw = build(envelope=replace(ENVELOPE, from_name=name))
    from_block = raw.split(b"\r\nTo:", 1)[0].decode("ascii")
    words = encoded_words(from_block)
    assert len(words) >= 2
    assert all(len(word) <= 75 for word in words)  # RFC 2047 section 2
    assert max(len(line) for line in from_block.split("\r\n")) <= 76
    decoded = "".join(base64.b64decode(w.split("?")[3]).decode("utf-8") for w in words)
    assert decoded == name  # nothing between the words is part of the name
    assert display_names(raw)[0] == name
    # Header splits encoded-words by length, not at spaces, and CPython's policy.default
    # parser keeps the space between two encoded-words in a display name (RFC 2047
    # section 6.2 says to drop it), so it reads a stray space into the name. Only that:
    stdlib_name = parse(raw)["From"].addresses[0].display_name
    assert stdlib_name.replace(" ", "") == name.replace(" ", "")


def test_longest_names_fold_within_line_limits() -> None:
    emoji_name = "😀" * 200  # 800 UTF-8 bytes: several lines of encoded-words
    ascii_name = ('Sam "The Man" ' * 15)[:200].strip()  # specials: a quoted-string
    raw = build(envelope=replace(ENVELOPE, from_name=emoji_name, to_name=ascii_name))
    lines = header_lines(raw)
    assert max(len(line) for line in lines) <= 76
    assert all(len(word) <= 75 for word in encoded_words("\r\n".join(lines)))
    assert display_names(raw) == [emoji_name, ascii_name]
    assert parse(raw)["To"].addresses[0].display_name == ascii_name


def test_names_with_specials_are_quoted() -> None:
    envelope = replace(ENVELOPE, from_name='Sam "The Man" O\'Neil, Acme <x@y>')
    msg = parse(build(envelope=envelope))
    [address] = msg["From"].addresses
    assert address.display_name == 'Sam "The Man" O\'Neil, Acme <x@y>'
    assert address.addr_spec == "sam@example.com"


def test_idn_domain_is_written_in_punycode() -> None:
    envelope = replace(ENVELOPE, to_address="zoe@bücher.example")
    raw = build(envelope=envelope)
    assert parse(raw)["To"].addresses[0].domain == "xn--bcher-kva.example"


def test_subject_that_looks_like_an_encoded_word_round_trips() -> None:
    subject = "=?utf-8?b?SGFja2Vk?= not decoded"
    msg = parse(build(EmailContent(subject=subject, text="x", html=None)))
    assert msg["Subject"] == subject


def test_value_with_a_long_first_word_stays_on_the_first_line() -> None:
    # compat32 would move such a word to a line of its own, leaving "Subject:" empty and
    # the unfolded value with a leading space.
    subject = "x" * 90 + " tail"
    in_reply_to = "<CAFx8w9Zq" + "a" * 60 + "@mail.gmail.com>"
    raw = build(
        EmailContent(subject=subject, text="x", html=None),
        extra_headers={"In-Reply-To": in_reply_to},
    )
    assert f"Subject: {'x' * 90}" in header_lines(raw)
    assert f"In-Reply-To: {in_reply_to}" in header_lines(raw)
    msg = parse(raw)
    assert msg["Subject"] == subject
    assert msg["In-Reply-To"] == in_reply_to


def test_word_too_long_for_a_header_line_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        build(extra_headers={"X-Token": "a" * 1000})
    assert info.value.field == "extra_headers.X-Token"
    # Not plain ASCII: encoded-words, which fold anywhere.
    value = "ü" + "a" * 1999
    raw = build(extra_headers={"X-Token": value})
    assert max(len(line) for line in header_lines(raw)) <= 76
    assert parse(raw)["X-Token"] == value


# --------------------------------------------------------------- unsubscribe, footer


def test_list_unsubscribe_with_https_and_mailto() -> None:
    raw = build(
        unsubscribe_https="https://example.com/u/tok123",
        unsubscribe_mailto="unsubscribe@example.com",
    )
    msg = parse(raw)
    assert msg["List-Unsubscribe"] == (
        "<https://example.com/u/tok123>, <mailto:unsubscribe@example.com>"
    )
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_list_unsubscribe_mailto_only_has_no_post_header() -> None:
    msg = parse(build(unsubscribe_mailto="mailto:unsub@example.com?subject=unsubscribe"))
    assert msg["List-Unsubscribe"] == "<mailto:unsub@example.com?subject=unsubscribe>"
    assert "List-Unsubscribe-Post" not in msg


def test_list_unsubscribe_https_only() -> None:
    msg = parse(build(unsubscribe_https="https://example.com/u/1"))
    assert msg["List-Unsubscribe"] == "<https://example.com/u/1>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_no_unsubscribe_headers_without_urls() -> None:
    msg = parse(build())
    assert "List-Unsubscribe" not in msg
    assert "List-Unsubscribe-Post" not in msg


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/u",
        "javascript:alert(1)",
        "https://exa mple.com/u",
        "https://example.com/u>, <https://evil.example",
        "https://example.com/ü",
        "https:///nohost",
    ],
)
def test_bad_https_unsubscribe_url_is_rejected(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        build(unsubscribe_https=url)
    assert info.value.field == "unsubscribe_https"


def test_bad_mailto_is_rejected() -> None:
    with pytest.raises(ValidationError) as info:
        build(unsubscribe_mailto="mailto:not-an-address")
    assert info.value.field == "unsubscribe_mailto"


def test_postal_address_footer_in_text_and_html() -> None:
    content = EmailContent(
        subject="Hi",
        text="Hello Zoe",
        html="<html><body><p>Hello Zoe</p></body></html>",
    )
    msg = parse(build(content, postal_address="Acme Inc\n1 Main St & Co, Springfield"))
    plain, rich = (cast(EmailMessage, p) for p in msg.iter_parts())
    assert body_text(plain).strip() == "Hello Zoe\n\nAcme Inc\n1 Main St & Co, Springfield"
    html = body_text(rich)
    assert "Acme Inc<br>\n1 Main St &amp; Co, Springfield</p>" in html
    assert html.index("Springfield") < html.index("</body>")


def test_postal_footer_appended_to_html_without_body_tag_and_to_derived_text() -> None:
    content = EmailContent(subject="Hi", text=None, html="<p>Hello</p>")
    msg = parse(build(content, postal_address="Acme, 1 Main St"))
    plain, rich = (cast(EmailMessage, p) for p in msg.iter_parts())
    assert body_text(plain).strip() == "Hello\n\nAcme, 1 Main St"
    assert body_text(rich).strip().endswith("Acme, 1 Main St</p>")


# ------------------------------------------------------------------ extra headers


def test_extra_headers_are_written_after_standard_ones() -> None:
    raw = build(extra_headers={"In-Reply-To": "<prev@example.com>", "X-Campaign": "Spring ☀"})
    msg = parse(raw)
    assert msg["In-Reply-To"] == "<prev@example.com>"
    assert msg["X-Campaign"] == "Spring ☀"
    names = header_names(raw)
    assert names.index("Message-ID") < names.index("In-Reply-To") < names.index("MIME-Version")


@pytest.mark.parametrize("name", ["Subject", "from", "BCC", "Content-Type", "DKIM-Signature"])
def test_extra_headers_cannot_replace_standard_ones(name: str) -> None:
    with pytest.raises(ValidationError):
        build(extra_headers={name: "x"})


@pytest.mark.parametrize("name", ["X Bad", "X-Bad:", "", "X-\u00e9", "X-A\r\nBcc"])
def test_extra_header_names_are_checked(name: str) -> None:
    with pytest.raises(ValidationError):
        build(extra_headers={name: "x"})


# ---------------------------------------------------------------- header injection

INJECTIONS = [
    "x\r\nBcc: victim@example.com",
    "x\nBcc: victim@example.com",
    "x\rBcc: victim@example.com",
    "x\x00y",
    "x\u2028Bcc: victim@example.com",
    "x\u2029y",
    "x\x85y",
    "x\ty",
    "x\x1by",
]

FIELD_SETTERS: dict[str, Callable[[str], dict[str, Any]]] = {
    "subject": lambda v: {"content": replace(CONTENT, subject=v)},
    "from_name": lambda v: {"envelope": replace(ENVELOPE, from_name=v)},
    "to_name": lambda v: {"envelope": replace(ENVELOPE, to_name=v)},
    "from_address": lambda v: {"envelope": replace(ENVELOPE, from_address="a@example.com" + v)},
    "to_address": lambda v: {"envelope": replace(ENVELOPE, to_address="b@example.com" + v)},
    "reply_to": lambda v: {"envelope": replace(ENVELOPE, reply_to="r@example.com" + v)},
    "message_id": lambda v: {"message_id": "<a@example.com>" + v},
    "unsubscribe_https": lambda v: {"unsubscribe_https": "https://example.com/u" + v},
    "unsubscribe_mailto": lambda v: {"unsubscribe_mailto": "u@example.com" + v},
    "extra_headers.X-Tag": lambda v: {"extra_headers": {"X-Tag": v}},
}


@pytest.mark.parametrize("field", sorted(FIELD_SETTERS))
@pytest.mark.parametrize("value", INJECTIONS)
def test_control_characters_in_any_header_value_are_rejected(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as info:
        build(**FIELD_SETTERS[field](value))
    assert info.value.field == field


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("from_address", "not-an-address"),
        ("to_address", "two@@example.com"),
        ("reply_to", "Name <r@example.com>"),
        ("to_address", "ünïcode@example.com"),
    ],
)
def test_invalid_addresses_are_rejected_with_field(field: str, value: str) -> None:
    if field == "reply_to":
        kwargs: dict[str, Any] = {"envelope": replace(ENVELOPE, reply_to=value)}
    else:
        kwargs = {"envelope": replace(ENVELOPE, **{field: value})}
    with pytest.raises(ValidationError) as info:
        build(**kwargs)
    assert info.value.field == field


def test_other_invalid_inputs() -> None:
    with pytest.raises(ValidationError, match="subject is empty"):
        build(EmailContent(subject="  ", text="x", html=None))
    with pytest.raises(ValidationError) as info:
        build(EmailContent(subject="Hi", text=None, html=None))
    assert info.value.field == "body"
    with pytest.raises(ValidationError) as info:
        build(date=datetime(2024, 1, 1))  # naive
    assert info.value.field == "date"
    with pytest.raises(ValidationError) as info:
        build(message_id="no-angle-brackets@example.com")
    assert info.value.field == "message_id"
    with pytest.raises(ValidationError) as info:
        build(EmailContent(subject="Hi", text="bad \x00 byte", html=None))
    assert info.value.field == "text"


# Text is drawn as fragments rather than single characters, so that "\r\n", "=?", "?="
# and header look-alikes come up often.
SAFE_FRAGMENT = st.one_of(
    st.characters(
        codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp"), exclude_characters="\ufeff"
    ),
    st.sampled_from(['"', "\\", ",", "<", ">", "@", ":", ";", "(", ")", "=?", "?=", " ", "  "]),
    st.sampled_from(["=?utf-8?b?QQ==?=", "=?utf-8?q?A?=", "Bcc: x@example.com", "\u00a0"]),
)
CONTROL_FRAGMENT = st.sampled_from(
    ["\r", "\n", "\r\n", "\r\nBcc: x@example.com", "\x00", "\u2028", "\u2029", "\x85", "\t"]
)
SAFE_TEXT = st.lists(SAFE_FRAGMENT, max_size=12).map("".join)
HOSTILE_TEXT = st.lists(st.one_of(SAFE_FRAGMENT, CONTROL_FRAGMENT), max_size=12).map("".join)
LOCAL_PART = st.from_regex(r"[a-z0-9]{1,8}(?:[._+-][a-z0-9]{1,8}){0,3}", fullmatch=True)
SAFE_ADDRESS = st.builds(lambda local: f"{local}@Example.COM", LOCAL_PART)
HOSTILE_ADDRESS = st.one_of(
    SAFE_ADDRESS,
    st.builds(lambda local, junk: f"{local}{junk}@example.com", LOCAL_PART, HOSTILE_TEXT),
    st.builds(lambda local, junk: f"{local}@example.com{junk}", LOCAL_PART, HOSTILE_TEXT),
)
EXPECTED_HEADERS = {
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
}
CHECKED_FIELDS = {"subject", "from_name", "to_name", "to_address", "extra_headers.X-Note"}


def _build_for_property(
    subject: str, from_name: str, to_name: str | None, to_address: str, x_value: str
) -> bytes:
    content = EmailContent(subject=subject, text="Body", html=None)
    envelope = EmailEnvelope(
        from_name=from_name,
        from_address="sender@example.com",
        to_name=to_name,
        to_address=to_address,
    )
    return build(content, envelope, extra_headers={"X-Note": x_value})


def _assert_exact_headers_and_round_trip(
    raw: bytes, subject: str, from_name: str, to_name: str | None, to_address: str, x_value: str
) -> None:
    # Every header line is ASCII, and a field starts only where one is expected.
    assert all(line.isascii() for line in header_lines(raw))
    assert all(len(word) <= 75 for word in encoded_words(raw.split(b"\r\n\r\n")[0].decode()))
    assert sorted(header_names(raw)) == sorted(EXPECTED_HEADERS | {"X-Note"})
    msg = parse(raw)
    assert sorted(msg.keys()) == sorted(EXPECTED_HEADERS | {"X-Note"})
    assert msg.defects == []
    assert msg["Subject"] == subject
    assert msg["X-Note"] == x_value
    [sender] = msg["From"].addresses
    assert sender.addr_spec == "sender@example.com"
    [recipient] = msg["To"].addresses
    # The address as email_validator normalises it: domain lower-cased, IDN in punycode.
    expected = validate_email(to_address, check_deliverability=False, allow_smtputf8=False)
    assert recipient.addr_spec == expected.ascii_email
    # Names are whitespace-normalised; decoded per RFC 2047 (see display_names()).
    assert display_names(raw) == [
        " ".join(from_name.split()),
        " ".join((to_name or "").split()),
    ]
    assert body_text(msg) == "Body\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=HOSTILE_TEXT,
    from_name=HOSTILE_TEXT,
    to_name=st.none() | HOSTILE_TEXT,
    to_address=HOSTILE_ADDRESS,
    x_value=HOSTILE_TEXT,
)
def test_property_no_header_injection(
    subject: str, from_name: str, to_name: str | None, to_address: str, x_value: str
) -> None:
    """Hostile values either raise ValidationError naming their field, or build a message
    with exactly the expected headers whose values parse back unchanged."""
    try:
        raw = _build_for_property(subject, from_name, to_name, to_address, x_value)
    except ValidationError as err:
        refused_field = err.field
    else:
        refused_field = None
    if refused_field is not None:
        assert refused_field in CHECKED_FIELDS
        event("refused")
        return
    event("built")
    _assert_exact_headers_and_round_trip(raw, subject, from_name, to_name, to_address, x_value)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=SAFE_TEXT.filter(str.strip),
    from_name=SAFE_TEXT,
    to_name=st.none() | SAFE_TEXT,
    to_address=SAFE_ADDRESS,
    x_value=SAFE_TEXT,
)
def test_property_clean_values_always_build_and_round_trip(
    subject: str, from_name: str, to_name: str | None, to_address: str, x_value: str
) -> None:
    """Without control characters nothing is refused, however odd the text."""
    raw = _build_for_property(subject, from_name, to_name, to_address, x_value)
    _assert_exact_headers_and_round_trip(raw, subject, from_name, to_name, to_address, x_value)


@pytest.mark.parametrize("fragment", ["\r", "\n", "\r\nBcc: x@example.com", "\x00", "\u2028"])
def test_each_control_fragment_is_refused(fragment: str) -> None:
    # Guards the strategies above: every control fragment really is refused.
    with pytest.raises(ValidationError):
        _build_for_property("Hi" + fragment, "", None, "a@example.com", "")


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.just("\n")))
def test_property_text_body_round_trips(text: str) -> None:
    msg = parse(build(EmailContent(subject="Hi", text=text, html=None)))
    expected = text if text.endswith("\n") else text + "\n"
    assert body_text(msg) == expected


def test_from_at_line_start_is_not_mangled() -> None:
    text = "From the team:\nFrom here on, all good.\n"
    html = "<p>x</p>\nFrom the team\n"
    msg = parse(build(EmailContent(subject="Hi", text=text, html=None)))
    assert msg["Content-Transfer-Encoding"] == "7bit"
    assert body_text(msg) == text
    plain, rich = parse(build(EmailContent(subject="Hi", text=text, html=html))).iter_parts()
    assert body_text(cast(EmailMessage, plain)) == text
    assert body_text(cast(EmailMessage, rich)) == html


def test_boundary_comes_from_the_message_id_and_never_occurs_in_a_body() -> None:
    first = parse(build(EmailContent(subject="Hi", text="a", html="<p>b</p>")))
    boundary = first.get_boundary()
    assert boundary is not None
    again = parse(build(EmailContent(subject="Hi", text="c", html="<p>d</p>")))
    assert again.get_boundary() == boundary
    other = parse(
        build(EmailContent(subject="Hi", text="a", html="<p>b</p>"), message_id="<x@y.z>")
    )
    assert other.get_boundary() != boundary
    # A body holding the boundary is encoded (QP escapes its "="), so it cannot end a part.
    text = f"--{boundary}\n--{boundary}--\n"
    msg = parse(build(EmailContent(subject="Hi", text=text, html="<p>x</p>")))
    assert msg.defects == []
    plain, rich = (cast(EmailMessage, p) for p in msg.iter_parts())
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert body_text(plain) == text
    assert body_text(rich) == "<p>x</p>\n"


def test_multipart_parts_carry_only_their_content_headers() -> None:
    raw = build(EmailContent(subject="Hi", text="a", html="<p>b</p>"))
    assert header_names(raw)[-2:] == ["MIME-Version", "Content-Type"]
    for part in parse(raw).iter_parts():
        assert list(part.keys()) == ["Content-Type", "Content-Transfer-Encoding"]


BODY_TEXT = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30),
        st.sampled_from(
            ["\n", "\r\n", "From x\n", "--=_aicmo_", ".\n", "=", " \n", "\t", "a" * 999]
        ),
    ),
    max_size=30,
).map("".join)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=BODY_TEXT, html=BODY_TEXT)
def test_property_multipart_bodies_round_trip(text: str, html: str) -> None:
    raw = build(EmailContent(subject="Hi", text=text, html=html))
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    msg = parse(raw)
    assert msg.defects == []
    plain, rich = (cast(EmailMessage, p) for p in msg.iter_parts())

    def normalized(value: str) -> str:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        return value if value.endswith("\n") else value + "\n"

    assert body_text(plain) == normalized(text)
    assert body_text(rich) == normalized(html)


# ---------------------------------------------------------------------- Message-ID


def test_make_message_id_is_deterministic_and_opaque() -> None:
    first = make_message_id("campaign-7:lead-42:step-1", "Mail.Example.COM")
    assert first == make_message_id("campaign-7:lead-42:step-1", "mail.example.com")
    assert first != make_message_id("campaign-7:lead-42:step-2", "mail.example.com")
    assert re.fullmatch(r"<[0-9a-f]{32}@mail\.example\.com>", first)
    assert "lead-42" not in first
    assert parse(build(message_id=first))["Message-ID"] == first


@pytest.mark.parametrize("domain", ["", "bad domain", "a\r\nb.com", "-x.com", "x..com"])
def test_make_message_id_rejects_bad_domains(domain: str) -> None:
    with pytest.raises(ValidationError):
        make_message_id("key", domain)


def test_make_message_id_rejects_empty_key() -> None:
    with pytest.raises(ValidationError):
        make_message_id("", "example.com")


# --------------------------------------------------------------------- html_to_text


def test_html_to_text_blocks_breaks_links_and_lists() -> None:
    html = """
    <html><head><title>T</title><style>p { color: red }</style></head>
    <body>
      <h1>Hello   there</h1>
      <p>First line<br>second line</p>
      <p>Visit <a href="https://example.com/x?a=1&amp;b=2">our site</a> or
         <a href="https://example.com/raw">https://example.com/raw</a> or
         <a href="mailto:hi@example.com">hi@example.com</a> or
         <a href="mailto:hi@example.com">write</a>.</p>
      <ul><li>one</li><li>two</li></ul>
      <script>alert("x")</script>
      <p>Caf&eacute; &amp; cr&egrave;me&nbsp;br&ucirc;l&eacute;e</p>
    </body></html>
    """
    assert html_to_text(html) == (
        "Hello there\n\n"
        "First line\nsecond line\n\n"
        "Visit our site (https://example.com/x?a=1&b=2) or https://example.com/raw or "
        "hi@example.com or write (hi@example.com).\n\n"
        "- one\n- two\n\n"
        "Café & crème brûlée"
    )


def test_html_to_text_handles_empty_links_and_broken_markup() -> None:
    assert html_to_text('<a href="https://e.com"></a>') == "https://e.com"
    assert html_to_text('<a href="#top">Top</a> <a href="javascript:x()">J</a>') == "Top J"
    assert html_to_text("<p>unclosed <b>bold") == "unclosed bold"
    assert html_to_text("") == ""


# ---------------------------------------------------------------------------- DKIM


def _key_with_cryptography() -> tuple[bytes, bytes] | None:
    try:
        rsa = importlib.import_module("cryptography.hazmat.primitives.asymmetric.rsa")
        serialization = importlib.import_module("cryptography.hazmat.primitives.serialization")
    except ImportError:
        return None
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return cast(bytes, pem), cast(bytes, der)


def _key_with_openssl(directory: Path) -> tuple[bytes, bytes]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("neither the cryptography package nor the openssl binary is available")
    key_path = directory / "dkim.pem"
    subprocess.run(
        [openssl, "genrsa", "-out", str(key_path), "2048"], check=True, capture_output=True
    )
    der = subprocess.run(
        [openssl, "rsa", "-in", str(key_path), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    return key_path.read_bytes(), der


@pytest.fixture(scope="module")
def rsa_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """(private key PEM, public key DER)."""
    return _key_with_cryptography() or _key_with_openssl(tmp_path_factory.mktemp("dkim"))


def _dns(public_der: bytes, selector: str = "s2024", domain: str = "example.com") -> Any:
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    wanted = f"{selector}._domainkey.{domain}.".encode()

    def dnsfunc(name: bytes, timeout: int = 5) -> bytes | None:
        return record if name == wanted else None

    return dnsfunc


def _signed_message() -> bytes:
    content = EmailContent(
        subject="Grüße aus Köln",
        text=None,
        html="<p>Hallo Zoë, " + "lorem ipsum " * 40 + "</p>",
    )
    envelope = replace(ENVELOPE, from_name="Zoë Sender", reply_to="reply@example.com")
    return build(
        content,
        envelope,
        unsubscribe_https="https://example.com/u/abc",
        unsubscribe_mailto="unsub@example.com",
        postal_address="Acme, 1 Main St",
    )


def test_dkim_signature_verifies(rsa_key: tuple[bytes, bytes]) -> None:
    pem, der = rsa_key
    signed = dkim_sign(
        _signed_message(), selector="s2024", domain="example.com", private_key_pem=pem
    )
    assert signed.startswith(b"DKIM-Signature: ")
    assert signed.endswith(_signed_message())
    assert dkim.verify(signed, dnsfunc=_dns(der)) is True
    sig = parse(signed)["DKIM-Signature"]
    pairs = (tag.split("=", 1) for tag in str(sig).split(";") if "=" in tag)
    tags = {key.strip(): value.strip() for key, value in pairs}
    assert tags["d"] == "example.com"
    assert tags["s"] == "s2024"
    assert tags["a"] == "rsa-sha256"
    assert tags["c"] == "relaxed/relaxed"
    signed_headers = re.sub(r"\s", "", tags["h"]).split(":")
    assert {"from", "subject", "list-unsubscribe", "list-unsubscribe-post"} <= set(signed_headers)


def test_dkim_detects_tampering(rsa_key: tuple[bytes, bytes]) -> None:
    pem, der = rsa_key
    signed = dkim_sign(
        _signed_message(), selector="s2024", domain="example.com", private_key_pem=pem
    )
    tampered_subject = signed.replace(b"Subject: =?utf-8?b?", b"Subject: =?utf-8?b?QQ", 1)
    assert dkim.verify(tampered_subject, dnsfunc=_dns(der)) is False
    tampered_body = signed.replace(b"lorem", b"LOREM", 1)
    assert dkim.verify(tampered_body, dnsfunc=_dns(der)) is False
    added_from = b"From: evil@example.net\r\n" + signed
    assert dkim.verify(added_from, dnsfunc=_dns(der)) is False


def test_dkim_fails_with_another_domains_key(rsa_key: tuple[bytes, bytes]) -> None:
    pem, der = rsa_key
    signed = dkim_sign(
        _signed_message(), selector="s2024", domain="example.com", private_key_pem=pem
    )
    assert dkim.verify(signed, dnsfunc=_dns(der, domain="other.example")) is False


def test_dkim_bad_inputs(rsa_key: tuple[bytes, bytes]) -> None:
    pem, _ = rsa_key
    message = _signed_message()
    with pytest.raises(ValidationError) as info:
        dkim_sign(message, selector="s1", domain="example.com", private_key_pem=b"not a key")
    assert info.value.field == "dkim_private_key"
    assert "not a key" not in info.value.message
    with pytest.raises(ValidationError) as info:
        dkim_sign(message, selector="bad selector", domain="example.com", private_key_pem=pem)
    assert info.value.field == "dkim_selector"
    with pytest.raises(ValidationError) as info:
        dkim_sign(message, selector="s1", domain="exa mple.com", private_key_pem=pem)
    assert info.value.field == "dkim_domain"
    with pytest.raises(ValidationError) as info:
        dkim_sign(
            message, selector="s1", domain="example.com", private_key_pem=pem, headers=[b"to"]
        )
    assert info.value.field == "dkim"


def test_fixture_helpers_are_consistent() -> None:
    # The expected-header list used by the property test matches a real build.
    assert set(header_names(build())) == EXPECTED_HEADERS


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=SAFE_TEXT.filter(str.strip),
    from_name=SAFE_TEXT,
    to_name=st.none() | SAFE_TEXT,
    to_address=SAFE_ADDRESS,
    x_value=SAFE_TEXT,
    html=st.none() | SAFE_TEXT.map(lambda text: f"<p>{text}</p>"),
    unsubscribe=st.booleans(),
)
def test_property_fast_header_writer_gives_the_stock_generators_bytes(
    subject: str,
    from_name: str,
    to_name: str | None,
    to_address: str,
    x_value: str,
    html: str | None,
    unsubscribe: bool,
) -> None:
    """Short ASCII header lines skip compat32's folding machinery; the bytes are the
    ones the standard library's generator writes."""
    content = EmailContent(subject=subject, text=x_value or None, html=html or None)
    if content.text is None and content.html is None:
        content = replace(content, text="Body")
    envelope = EmailEnvelope(
        from_name=from_name,
        from_address="sender@example.com",
        to_name=to_name,
        to_address=to_address,
    )
    urls: dict[str, Any] = {}
    if unsubscribe:
        urls = {
            "unsubscribe_https": "https://example.com/u/" + "t" * 40,
            "unsubscribe_mailto": "mailto:sender@example.com?subject=unsubscribe",
        }
    ours = build(content, envelope, extra_headers={"X-Note": x_value}, **urls)
    with pytest.MonkeyPatch.context() as patch:
        # The stock generator, given the package's message objects (no direct writing of
        # a text-only message either).
        patch.setattr(email_message, "_Generator", BytesGenerator)
        patch.setattr(email_message, "_plain_message", lambda headers, text: None)
        stock = build(content, envelope, extra_headers={"X-Note": x_value}, **urls)
    assert ours == stock


LIST_ITEM = st.text(
    alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz0123456789/:.?=_-~%&#+,; "),
    max_size=160,
)


@settings(max_examples=500, deadline=None)
@example(items=["x" * 80, "yyy"])  # a first item too long for the first line
@example(items=[f"<https://example.com/u/{'t' * 60}>", "<mailto:a@example.com>"])
@given(items=st.lists(LIST_ITEM.map(lambda s: f"<{s}>") | LIST_ITEM, min_size=1, max_size=3))
def test_property_fast_header_writer_folds_lists_like_the_stock_generator(
    items: list[str],
) -> None:
    """List-Unsubscribe's two URLs are folded after their comma by hand; any value that
    the hand rule does not cover (other commas, semicolons, spaces) goes to compat32."""
    msg: Message[str, str | Header] = Message()
    msg["List-Unsubscribe"] = ", ".join(items)
    msg["X-Other"] = ", ".join(items)
    msg["X-Long-First-Word"] = email_message._ascii_value("X-Long-First-Word", ", ".join(items))
    msg.set_payload("body\n")
    ours = email_message._serialize(msg)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(email_message, "_Generator", BytesGenerator)
        stock = email_message._serialize(msg)
    assert ours == stock


_DOMAINS = st.sampled_from(
    [
        "example.com",
        "Example.COM",
        "mail.example.co.uk",
        "bücher.example",
        "BÜCHER.example",
        "xn--bcher-kva.example",
        "localhost",
        "example.local",
        "example.invalid",
        "example.test",
        "example.123",
        "-bad.example",
        "a" * 64 + ".example",
        ("a" * 63 + ".") * 4 + "example",
        "example..com",
        "[127.0.0.1]",
        "",
        "ü" * 50 + "." + "ü" * 50 + ".com",  # short in characters, too long in bytes
        ("a" * 60 + ".") * 3 + "com",
    ]
)
_LOCALS = st.text(
    alphabet=st.sampled_from("aZ09.!#$%&'*+/=?^_`{|}~-\"@ é"), min_size=0, max_size=70
)


@settings(max_examples=500, deadline=None)
@given(st.emails() | st.text(max_size=60) | st.builds("{}@{}".format, _LOCALS, _DOMAINS))
def test_the_address_fast_path_agrees_with_email_validator(value: str) -> None:
    from email_validator import EmailNotValidError

    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=False)
        expected: str | None = result.ascii_email or result.normalized
    except EmailNotValidError:
        expected = None
    try:
        got: str | None = email_message._valid_address.__wrapped__(value)
    except EmailNotValidError:
        got = None
    assert got == expected


def test_the_address_fast_path_validates_each_domain_once() -> None:
    email_message._ascii_domain.cache_clear()
    assert email_message._valid_address.__wrapped__("Zoe.A+x@Bucher.Example") == (
        "Zoe.A+x@bucher.example"
    )
    assert email_message._valid_address.__wrapped__("max@bucher.example") == ("max@bucher.example")
    assert email_message._ascii_domain.cache_info().misses == 2  # two spellings
    assert email_message._valid_address.__wrapped__("eva@BUCHER.example") == "eva@bucher.example"
    assert email_message._ascii_domain.cache_info().hits == 0
    email_message._valid_address.__wrapped__("zoe@bucher.example")
    assert email_message._ascii_domain.cache_info().hits == 1
    # An internationalised address goes to the library whole (lengths in bytes).
    assert email_message._valid_address.__wrapped__("max@bücher.example") == (
        "max@xn--bcher-kva.example"
    )
    assert email_message._ascii_domain.cache_info().misses == 3
