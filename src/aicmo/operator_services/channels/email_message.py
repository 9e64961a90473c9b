"""Build the RFC 5322 bytes of one outreach email, and DKIM-sign them. Pure: no I/O.

:func:`build_email` validates its inputs, then builds the message with the standard
``email`` package: :class:`email.message.Message` objects under the ``compat32`` policy,
bodies encoded by :class:`email.charset.Charset` (UTF-8), non-ASCII header values by
:class:`email.header.Header` (RFC 2047 encoded-words), ASCII mailboxes by
:func:`email.utils.formataddr`, and the bytes written by
:class:`email.generator.BytesGenerator` with CRLF line endings. ``compat32`` is chosen for
speed: a text+HTML message costs about 0.25 ms this way, against over 1 ms for
:class:`email.message.EmailMessage` with the default or SMTP policy, whose header parsing
and refolding dominate. (The parts are plain ``Message`` objects given their
``Content-Type`` and ``Content-Transfer-Encoding`` directly: a little faster than the
``email.mime`` classes, and without their per-part ``MIME-Version``.)

What this module guarantees on top of the package:

* every header value is checked first (no control character, CR, LF or U+2028 anywhere),
  and the package is never handed a value it would write ambiguously: text that is not
  plain printable ASCII (non-ASCII, leading or trailing spaces, or ``=?`` that a reader
  would take for an encoded-word) goes out as base64 encoded-words, so each value parses
  back unchanged (display names are whitespace-normalised, as mail clients show them);
* addresses are validated by ``email_validator`` and written in ASCII (IDN domains in
  punycode; non-ASCII local parts, which need SMTPUTF8, are refused);
* bodies are UTF-8, in 7bit when they are short-lined ASCII, otherwise quoted-printable,
  or base64 when that comes out shorter (mostly non-Latin text); ``From`` at the start
  of a body line is left alone (``mangle_from_`` is off).

The output is deterministic: the same inputs give the same bytes (the MIME boundary comes
from the Message-ID, never from a random source), so a retried attempt is identical.
"""

from __future__ import annotations

import functools
import hashlib
import html as html_lib
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.charset import BASE64, QP, Charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.policy import compat32
from email.utils import format_datetime, formataddr
from html.parser import HTMLParser
from typing import Any, TypeAlias, cast
from urllib.parse import urlsplit

import dkim  # type: ignore[import-untyped, unused-ignore]
from email_validator import EmailNotValidError, validate_email

from aicmo.cam.domain.leads import SIMPLE_LOCAL_RE, check_single_line, check_text
from aicmo.errors import ValidationError

__all__ = [
    "DEFAULT_DKIM_HEADERS",
    "EmailContent",
    "EmailEnvelope",
    "build_email",
    "dkim_sign",
    "html_to_text",
    "make_message_id",
]

#: Header fields signed by :func:`dkim_sign`. Absent ones are signed as empty, so they
#: cannot be added later; ``From`` is listed twice so a second From breaks the signature.
DEFAULT_DKIM_HEADERS: tuple[bytes, ...] = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
    b"in-reply-to",
    b"references",
    b"from",
)

# Headers this module writes itself, or that no caller may set.
_RESERVED_HEADERS = frozenset(
    {
        "from", "to", "cc", "bcc", "reply-to", "sender", "subject", "date", "message-id",
        "mime-version", "content-type", "content-transfer-encoding", "list-unsubscribe",
        "list-unsubscribe-post", "dkim-signature", "return-path", "received",
    }
)  # fmt: skip

_FOLD_AT = 76  # header lines are folded to at most this many characters
_MAX_LINE = 998
_MAX_SUBJECT = 500
_MAX_NAME = 200
_MAX_BODY = 1_000_000
_HEADER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,75}")
_MESSAGE_ID_RE = re.compile(r"<[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,200}@[A-Za-z0-9.-]{1,253}>")
_HOSTNAME_RE = re.compile(
    r"(?=.{1,253}\Z)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)
_SELECTOR_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,62})(?:\.[A-Za-z0-9_-]{1,63}){0,8}")
_URL_RE = re.compile(r"[!#-;=?-~]+")  # printable ASCII without space, quote, < and >
_BODY_TAG_RE = re.compile(r"</body\s*>", re.IGNORECASE)
_INVALID_CHAR_RE = re.compile("[\ufeff\ud800-\udfff]")  # BOM and lone surrogates


def _utf8(body_encoding: int) -> Charset:
    """UTF-8 whose header text is always base64 encoded-words (the stdlib default picks
    the shorter of Q and B per value) and whose bodies use ``body_encoding``."""
    charset = Charset("utf-8")
    charset.header_encoding = BASE64
    charset.body_encoding = body_encoding
    return charset


_UTF8_QP = _utf8(QP)
_UTF8_BASE64 = _utf8(BASE64)
_HEADER_CHARSET = _UTF8_QP  # only its header encoding (base64) is used for headers
# compat32 folding with CRLF line ends, and no ">From " mangling of body lines. Header
# lines fold at 76 rather than 78 characters: at 78, Header writes continuation
# encoded-words of 76 characters, one over the limit of RFC 2047 section 2.
_POLICY = compat32.clone(linesep="\r\n", mangle_from_=False, max_line_length=_FOLD_AT)
_ASCII_BYTES = bytes(range(128))  # data.translate(None, _ASCII_BYTES) keeps bytes >= 0x80

# A compat32 message whose header values may be str or Header.
_Message: TypeAlias = "Message[str, str | Header]"


@dataclass(frozen=True)
class EmailContent:
    """The rendered subject and bodies; at least one body is required."""

    subject: str
    text: str | None
    html: str | None


@dataclass(frozen=True)
class EmailEnvelope:
    """Who the message is from and to."""

    from_name: str
    from_address: str
    to_name: str | None
    to_address: str
    reply_to: str | None = None


# ------------------------------------------------------------------- header values


def _is_plain(value: str) -> bool:
    """Can be handed to the package as is, and parses back unchanged."""
    return (
        value.isascii() and value.isprintable() and value == value.strip(" ") and "=?" not in value
    )


def _ascii_value(name: str, value: str) -> str | Header:
    """A printable ASCII value for ``msg[name]``, folded by the generator at spaces.

    compat32 moves a first word too long for the first line onto a line of its own,
    which leaves ``Name:`` followed by nothing and gives the unfolded value a leading
    space; a :class:`Header` built without the name keeps that word on the first line
    (the line is then longer than the others, as it must be, but nothing moves).
    """
    if len(name) + 2 + len(value.split(" ", 1)[0]) <= _FOLD_AT:
        return value
    return _AsciiHeader(value)


class _AsciiHeader(Header):
    """A printable ASCII value as a :class:`Header` (see :func:`_ascii_value`), which
    keeps its text for the header writer's fast path."""

    def __init__(self, text: str) -> None:
        super().__init__(text, "us-ascii")
        self.text = text


def _unstructured(name: str, value: str, field: str) -> str | Header:
    """A Subject or extra header value: plain ASCII as is (folded at spaces), anything
    else as encoded-words (folded between words)."""
    if not _is_plain(value):
        return Header(value, _HEADER_CHARSET, header_name=name)
    # compat32 folds only at spaces: a longer word would make an over-long line.
    if len(name) + 2 + max(map(len, value.split(" "))) > _MAX_LINE:
        raise ValidationError(f"{field} has a word too long for one header line", field=field)
    return _ascii_value(name, value)


def _mailbox(header_name: str, name: str | None, address: str) -> str | Header:
    """``Display Name <addr>``. A plain ASCII name goes through ``formataddr`` (quoted when
    it has specials); any other name becomes encoded-words that ``Header`` splits across
    lines (``formataddr`` would write one encoded-word of any length)."""
    if not name:
        return _ascii_value(header_name, address)
    if _is_plain(name):
        return _ascii_value(header_name, formataddr((name, address)))
    header = Header(name, _HEADER_CHARSET, header_name=header_name)
    header.append(f"<{address}>", "us-ascii")  # Header puts the space before it
    return header


# ---------------------------------------------------------------------- validation


def _check_header_text(field: str, value: str, *, max_len: int) -> str:
    # Header injection is the concern here; names are refused bidirectional controls
    # where they come in, and a message must not fail on a value stored before that.
    check_single_line(field, value, max_len=max_len, bidi=False)
    if _INVALID_CHAR_RE.search(value):
        raise ValidationError(f"{field} contains an invalid character", field=field)
    return value


@functools.lru_cache(maxsize=65_536)
def _ascii_domain(domain: str) -> str:
    """The domain as email-validator writes it in ASCII (raises for bad or reserved
    names). Cached: domain validation is most of the library's cost, and a campaign's
    leads share few domains."""
    result = validate_email("x@" + domain, check_deliverability=False, allow_smtputf8=False)
    return str(result.ascii_domain)


@functools.lru_cache(maxsize=4096)
def _valid_address(value: str) -> str:
    """email-validator decides; the only shortcut is the per-domain cache for a local
    part that is a plain ASCII dot-atom, which the library keeps unchanged (the two agree
    on every address: property-tested)."""
    local, at, domain = value.rpartition("@")
    # ASCII only: the library measures lengths in UTF-8 bytes, of the normalised form too.
    plain = value.isascii() and len(value) <= 254
    if at and plain and len(local) <= 64 and SIMPLE_LOCAL_RE.fullmatch(local):
        try:
            address = f"{local}@{_ascii_domain(domain)}"
        except EmailNotValidError:
            address = ""  # the library says why, below
        if address and len(address) <= 254:
            return address
    result = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    return result.ascii_email or result.normalized


def _address(field: str, value: str) -> str:
    """The ASCII form of an address (IDN domains in punycode); no display name."""
    _check_header_text(field, value, max_len=320)
    try:
        return _valid_address(value)
    except EmailNotValidError as err:
        raise ValidationError(
            f"{field}: invalid email address {value!r}: {err}", field=field
        ) from err


def _display_name(field: str, value: str | None) -> str | None:
    """The name with whitespace runs collapsed to one space (as mail clients show it);
    None when nothing is left."""
    if value is None:
        return None
    return " ".join(_check_header_text(field, value, max_len=_MAX_NAME).split()) or None


def _https_url(field: str, value: str) -> str:
    _check_header_text(field, value, max_len=900)
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or not _URL_RE.fullmatch(value):
        raise ValidationError(
            f"{field} must be an https:// URL in ASCII without spaces: {value!r}", field=field
        )
    return value


def _mailto_url(field: str, value: str) -> str:
    _check_header_text(field, value, max_len=900)
    target = value[7:] if value.lower().startswith("mailto:") else value
    address, sep, query = target.partition("?")
    ascii_address = _address(field, address)
    url = f"mailto:{ascii_address}{sep}{query}"
    if not _URL_RE.fullmatch(url):
        raise ValidationError(f"{field} must be a mailto: URL in ASCII: {value!r}", field=field)
    return url


@functools.lru_cache(maxsize=256)
def _hostname(field: str, value: str) -> str:
    _check_header_text(field, value, max_len=253)
    host = value.strip().rstrip(".").lower()
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as err:
        raise ValidationError(f"{field} is not a domain name: {value!r}", field=field) from err
    if not _HOSTNAME_RE.fullmatch(host):
        raise ValidationError(f"{field} is not a domain name: {value!r}", field=field)
    return host


# ------------------------------------------------------------------------- bodies


def _normalize_newlines(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text if text.endswith("\n") else text + "\n"


def _body_charset(text: str, boundary: str | None) -> Charset | None:
    """None for 7bit (ASCII, lines of at most 998 characters, no boundary inside);
    otherwise UTF-8 in quoted-printable, or in base64 when that is shorter.

    The choice is made on estimated sizes, so only the chosen encoder runs: QP spends
    three bytes on each byte above 0x7f and on each ``=``, base64 four on every three.
    """
    if text.isascii():
        if max(map(len, text.split("\n"))) <= _MAX_LINE and (
            boundary is None or boundary not in text
        ):
            return None
        return _UTF8_QP
    data = text.encode("utf-8")
    escaped = len(data.translate(None, _ASCII_BYTES)) + data.count(b"=")
    qp_size = len(data) + 2 * escaped
    base64_size = (len(data) + text.count("\n")) * 4 // 3
    return _UTF8_QP if qp_size <= base64_size else _UTF8_BASE64


def _set_body(msg: _Message, subtype: str, text: str, boundary: str | None) -> None:
    """Give ``msg`` its Content-Type, Content-Transfer-Encoding and payload, encoded by
    the chosen :class:`Charset`."""
    charset = _body_charset(text, boundary)
    msg.add_header("Content-Type", f"text/{subtype}", charset="utf-8")
    if charset is None:
        msg["Content-Transfer-Encoding"] = "7bit"
        msg.set_payload(text)
        return
    msg["Content-Transfer-Encoding"] = cast(str, charset.get_body_encoding())
    if charset is _UTF8_BASE64:
        # base64 carries the canonical form of text: lines end in CRLF before encoding.
        text = text.replace("\n", "\r\n")
    msg.set_payload(charset.body_encode(text))


def _text_footer(text: str, postal: str) -> str:
    return text.rstrip() + "\n\n" + postal + "\n"


def _html_footer(html: str, postal: str) -> str:
    block = (
        '<p style="font-size:12px;color:#777777;margin-top:24px">'
        + html_lib.escape(postal).replace("\n", "<br>\n")
        + "</p>\n"
    )
    matches = list(_BODY_TAG_RE.finditer(html))
    if not matches:
        return html.rstrip() + "\n" + block
    at = matches[-1].start()
    return html[:at] + block + html[at:]


class _Generator(BytesGenerator):
    """The stock generator, except that a header line short enough not to fold, in
    printable ASCII, is written as is: compat32 would build a :class:`Header` per value
    only to give back the same bytes, and that was most of the cost of a message (the
    output is property-tested byte for byte against the stock generator)."""

    def _write_headers(self, msg: _Message) -> None:
        _write_header_lines(self._fp.write, msg.raw_items())  # type: ignore[attr-defined]


def _write_header_lines(
    write: Callable[[bytes], object], items: Iterable[tuple[str, str | Header]]
) -> None:
    """The header block as :class:`_Generator` writes it (see there)."""
    for name, raw in items:
        value: Any = raw  # str or Header, whatever the stubs say
        plain = type(value) is str and value.isascii() and value.isprintable()
        if plain and len(name) + 2 + len(value) <= _FOLD_AT:
            write(f"{name}: {value}\r\n".encode("ascii"))
        elif plain and _two_items(value) and len(name) + 3 + value.index(",") <= _FOLD_AT:
            # "<https:...>, <mailto:...>" too long for one line: compat32 breaks it
            # after the comma, and only there (no other space, comma or semicolon).
            write(_after_comma(name, value))
        elif type(value) is _AsciiHeader and _two_items(value.text):
            # The same as a Header, whose first line does not count the name.
            text = value.text
            if len(text) <= _FOLD_AT:
                write(f"{name}: {text}\r\n".encode("ascii"))
            else:
                write(_after_comma(name, text))
        else:
            folded = _POLICY.fold_binary(name, value)
            # As newer standard libraries check (CVE-2024-6923): a line break inside a
            # header must be a fold, never the start of a new field.
            if _BARE_BREAK_RE.search(folded[:-2]):
                raise ValidationError(f"header {name} would break its line", field=name)
            write(folded)
    write(b"\r\n")


_BARE_BREAK_RE = re.compile(rb"\r\n(?![ \t])|\r(?!\n)|(?<!\r)\n")


def _after_comma(name: str, value: str) -> bytes:
    first, _, second = value.partition(", ")
    return f"{name}: {first},\r\n {second}\r\n".encode("ascii")


def _two_items(value: str) -> bool:
    return (
        value.count(", ") == 1
        and value.count(",") == 1
        and value.count(" ") == 1
        and ";" not in value
        and not value.startswith(", ")
    )


def _plain_message(headers: list[tuple[str, str | Header]], text: str) -> bytes | None:
    """A text-only message in 7bit, written directly: the bytes :func:`_serialize` writes
    for it (property-tested), without building the package's message objects. None for
    any other body (it needs encoding: the package does it)."""
    if _body_charset(text, None) is not None:
        return None
    out = io.BytesIO()
    _write_header_lines(
        out.write,
        [
            *headers,
            ("Content-Type", 'text/plain; charset="utf-8"'),
            ("Content-Transfer-Encoding", "7bit"),
        ],
    )
    # The generator writes each line of a 7bit payload with the CRLF line end.
    out.write(text.replace("\n", "\r\n").encode("ascii"))
    return out.getvalue()


def _serialize(msg: _Message) -> bytes:
    out = io.BytesIO()
    _Generator(out, policy=_POLICY).flatten(msg)
    return out.getvalue()


# ---------------------------------------------------------------------------- API


def make_message_id(idempotency_key: str, domain: str) -> str:
    """``<hash@domain>`` from the attempt's idempotency key: the same attempt always
    carries the same Message-ID, and the key itself is not disclosed.

    Raises:
        ValidationError: empty key, or a domain that is not a host name.
    """
    if not idempotency_key:
        raise ValidationError("idempotency key is empty", field="idempotency_key")
    host = _hostname("message_id_domain", domain)
    digest = hashlib.sha256(idempotency_key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"<{digest[:32]}@{host}>"


def build_email(
    content: EmailContent,
    envelope: EmailEnvelope,
    *,
    message_id: str,
    date: datetime,
    unsubscribe_https: str | None,
    unsubscribe_mailto: str | None,
    postal_address: str | None,
    extra_headers: Mapping[str, str] | None = None,
) -> bytes:
    """The message as CRLF bytes, ready for SMTP or an ``.eml`` file.

    Text only when there is no HTML; otherwise multipart/alternative with the text part
    first (derived from the HTML when ``content.text`` is None). ``List-Unsubscribe``
    carries the https and/or mailto URLs; ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
    (RFC 8058) is added only with an https URL. ``postal_address`` (CAN-SPAM) is appended to
    both bodies. ``extra_headers`` (``In-Reply-To``, ``References``, ``X-...``) come after
    the standard ones and may not replace them.

    Raises:
        ValidationError: any header value with a control character or line break, an
            invalid address, URL or Message-ID, a naive ``date``, no body at all; the
            ``field`` names the culprit.
    """
    subject = _check_header_text("subject", content.subject, max_len=_MAX_SUBJECT)
    if not subject.strip():
        raise ValidationError("subject is empty", field="subject")
    if content.text is None and content.html is None:
        raise ValidationError("the email has neither a text nor an HTML body", field="body")
    if content.text is not None:
        check_text("text", content.text, max_len=_MAX_BODY)
    if content.html is not None:
        check_text("html", content.html, max_len=_MAX_BODY)

    from_name = _display_name("from_name", envelope.from_name)
    from_address = _address("from_address", envelope.from_address)
    to_name = _display_name("to_name", envelope.to_name)
    to_address = _address("to_address", envelope.to_address)
    reply_to = None if envelope.reply_to is None else _address("reply_to", envelope.reply_to)

    check_single_line("message_id", message_id, max_len=500)
    if not _MESSAGE_ID_RE.fullmatch(message_id):
        raise ValidationError(f"not a Message-ID (<id@domain>): {message_id!r}", field="message_id")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValidationError("date must be timezone-aware", field="date")

    unsubscribe: list[str] = []
    if unsubscribe_https is not None:
        unsubscribe.append(f"<{_https_url('unsubscribe_https', unsubscribe_https)}>")
    if unsubscribe_mailto is not None:
        unsubscribe.append(f"<{_mailto_url('unsubscribe_mailto', unsubscribe_mailto)}>")

    extras: list[tuple[str, str | Header]] = []
    seen: set[str] = set()
    for name, value in (extra_headers or {}).items():
        if not _HEADER_NAME_RE.fullmatch(name):
            raise ValidationError(f"invalid header name {name!r}", field="extra_headers")
        lower = name.lower()
        if lower in _RESERVED_HEADERS or lower in seen:
            raise ValidationError(f"header {name} cannot be set here", field="extra_headers")
        seen.add(lower)
        field = f"extra_headers.{name}"
        _check_header_text(field, value, max_len=2000)
        extras.append((name, _unstructured(name, value, field)))

    postal = None
    if postal_address is not None and postal_address.strip():
        postal = check_text("postal_address", postal_address.strip(), max_len=1000)

    headers: list[tuple[str, str | Header]] = [
        ("From", _mailbox("From", from_name, from_address)),
        ("To", _mailbox("To", to_name, to_address)),
    ]
    if reply_to is not None:
        headers.append(("Reply-To", _ascii_value("Reply-To", reply_to)))
    headers += [
        ("Subject", _unstructured("Subject", subject, "subject")),
        ("Date", format_datetime(date)),
        ("Message-ID", _ascii_value("Message-ID", message_id)),
    ]
    if unsubscribe:
        headers.append(
            ("List-Unsubscribe", _ascii_value("List-Unsubscribe", ", ".join(unsubscribe)))
        )
        if unsubscribe_https is not None:
            headers.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    headers += extras
    headers.append(("MIME-Version", "1.0"))

    text = content.text if content.text is not None else html_to_text(cast(str, content.html))
    if postal is not None:
        text = _text_footer(text, postal)
    text = _normalize_newlines(text)

    if content.html is None:
        plain = _plain_message(headers, text)
        if plain is not None:
            return plain
    msg: _Message = Message()
    for header_name, header_value in headers:
        msg[header_name] = header_value
    if content.html is None:
        _set_body(msg, "plain", text, None)
        return _serialize(msg)

    html = content.html if postal is None else _html_footer(content.html, postal)
    html = _normalize_newlines(html)
    boundary = "=_aicmo_" + hashlib.sha256(message_id.encode("ascii")).hexdigest()[:24]
    msg.add_header("Content-Type", "multipart/alternative", boundary=boundary)
    for subtype, part_text in (("plain", text), ("html", html)):
        part: _Message = Message()
        _set_body(part, subtype, part_text, boundary)
        msg.attach(part)
    return _serialize(msg)


# --------------------------------------------------------------------- html_to_text

_SKIP_TAGS = frozenset({"script", "style", "head", "title", "noscript", "template"})
_PARAGRAPH_TAGS = frozenset(
    {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "blockquote", "pre", "hr"}
)
_LINE_TAGS = frozenset(
    {
        "div", "tr", "li", "section", "article", "header", "footer", "address", "dl", "dt",
        "dd", "form", "center", "main", "nav", "aside", "figure", "figcaption",
    }
)  # fmt: skip
_SPACE_RE = re.compile(r"\s+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0
        self._links: list[tuple[str | None, int]] = []
        self._pending_breaks = 0  # newlines owed before the next text
        self._prefix = ""  # "- " owed before the next text of a list item

    def _block(self, newlines: int) -> None:
        self._pending_breaks = max(self._pending_breaks, newlines)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
            return
        if self._skip:
            return
        if tag == "br":
            self.out.append("\n")
        elif tag in _PARAGRAPH_TAGS:
            self._block(2)
        elif tag in _LINE_TAGS:
            self._block(1)
        if tag == "li":
            self._prefix = "- "
        elif tag in ("td", "th"):
            self.out.append(" ")
        elif tag == "a":
            self._links.append((dict(attrs).get("href"), len(self.out)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIP_TAGS:  # <script/> has no content to skip
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(self._skip - 1, 0)
            return
        if self._skip:
            return
        if tag in _PARAGRAPH_TAGS:
            self._block(2)
        elif tag in _LINE_TAGS:
            self._block(1)
        elif tag == "a" and self._links:
            href, start = self._links.pop()
            self._close_link(href, start)

    def _close_link(self, href: str | None, start: int) -> None:
        url = (href or "").strip()
        if not url or url.startswith("#") or url.lower().startswith("javascript:"):
            return
        label = _SPACE_RE.sub(" ", "".join(self.out[start:])).strip()
        shown = url[7:] if url.lower().startswith("mailto:") else url
        if not label:
            self._write(shown)
        elif label not in (shown, url):
            self.out.append(f" ({shown})")

    def _write(self, text: str) -> None:
        if self._pending_breaks and self.out:
            self.out.append("\n" * self._pending_breaks)
        self._pending_breaks = 0
        if self._prefix:
            self.out.append(self._prefix)
            self._prefix = ""
        self.out.append(text)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        text = _SPACE_RE.sub(" ", data.replace("\xa0", " "))
        if text.strip():
            self._write(text)
        elif not self._pending_breaks and text:
            self.out.append(" ")


def html_to_text(html: str) -> str:
    """A readable plain-text version of an HTML body.

    Paragraphs, headings and block elements become line breaks, ``<br>`` a newline, list
    items ``- item``, links ``text (url)``; scripts, styles and the head are dropped and
    entities decoded. Whitespace is collapsed (``<pre>`` indentation is not kept).
    """
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (_SPACE_RE.sub(" ", line).strip() for line in "".join(parser.out).split("\n"))
    text = "\n".join(lines)
    return _BLANK_LINES_RE.sub("\n\n", text).strip("\n")


# -------------------------------------------------------------------------- DKIM


def dkim_sign(
    message: bytes,
    *,
    selector: str,
    domain: str,
    private_key_pem: bytes,
    headers: Sequence[bytes] = DEFAULT_DKIM_HEADERS,
) -> bytes:
    """The message with a ``DKIM-Signature`` (rsa-sha256, relaxed/relaxed) prepended.

    The key is an RSA private key in PEM (PKCS#1 or PKCS#8). dkimpy stamps the signature's
    ``t=`` tag from the system clock: the one clock read in this module.

    Raises:
        ValidationError: a malformed selector or domain, a key dkimpy cannot use, or a
            header list without ``from``. The key never appears in the message.
    """
    if not _SELECTOR_RE.fullmatch(selector):
        raise ValidationError(f"invalid DKIM selector {selector!r}", field="dkim_selector")
    host = _hostname("dkim_domain", domain)
    try:
        signature = dkim.sign(
            message,
            selector.encode("ascii"),
            host.encode("ascii"),
            private_key_pem,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h.lower() for h in headers],
        )
    except (dkim.KeyFormatError, ValueError, TypeError, IndexError, KeyError):
        raise ValidationError(
            "the DKIM private key cannot be used (expected an RSA key in PEM)",
            field="dkim_private_key",
        ) from None
    except dkim.DKIMException as err:
        raise ValidationError(f"DKIM signing failed: {err}", field="dkim") from None
    return cast(bytes, signature) + message
