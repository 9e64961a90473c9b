"""Defensive access to a parsed email message. Pure: no I/O.

Inbound mail is hostile or simply broken often enough (wrong charsets, missing boundaries,
8-bit headers, hand-written bounces) that every accessor here returns a usable value
instead of raising. The ``compat32`` policy is used on purpose: the modern policy parses
headers lazily and raises on malformed ones at access time, far from the parse call.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from email import message_from_bytes
from email.header import Header, decode_header
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import getaddresses

from aicmo.cam.inbound.text import (
    clean_line,
    clean_text,
    html_to_text,
    normalize_newlines,
    sanitize,
)

#: Deeper nesting than this is not real mail; stop walking instead of recursing.
MAX_DEPTH = 12

_ATTACHED_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_ATTACHED_HEADERS_TYPES = frozenset(
    {"text/rfc822-headers", "message/rfc822-headers", "message/global-headers"}
)
_MSGID_RE = re.compile(r"<[^<>\s]+>")
_ADDR_RE = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\"]+$")


def parse(raw: bytes) -> Message:
    return message_from_bytes(raw, policy=compat32)


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode ``data`` in ``charset``, falling back to UTF-8 and then Windows-1252.

    Undeclared 8-bit text is UTF-8 far more often than anything else today; Windows-1252
    never fails, so it is the last resort.
    """
    name = (charset or "").strip().strip('"').lower()
    if name and name not in {"unknown-8bit", "x-unknown", "unknown"}:
        try:
            codecs.lookup(name)
            return data.decode(name, "replace")
        except (LookupError, ValueError, TypeError):
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def decode_header_value(value: str | Header) -> str:
    """The readable text of a raw header value (RFC 2047 encoded-words decoded)."""
    try:
        chunks = decode_header(value)
    except Exception:  # HeaderParseError and friends on garbage
        return str(value)
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        else:
            out.append(decode_bytes(chunk, charset))
    return "".join(out)


def header_values(msg: Message, name: str) -> list[str]:
    """Every occurrence of header ``name``, decoded and on one line.

    One line because these values end up in subjects and reasons, single-line columns.
    """
    try:
        raw_values = msg.get_all(name) or []
    except Exception:
        return []
    values: list[str] = []
    for raw in raw_values:
        if isinstance(raw, str | Header):
            values.append(clean_line(decode_header_value(raw), max_len=4000))
    return values


def header_text(msg: Message, name: str) -> str:
    """The first occurrence of header ``name``, decoded, or ``""``."""
    values = header_values(msg, name)
    return values[0] if values else ""


def raw_header(msg: Message, name: str) -> str:
    """A header without encoded-word decoding, for structured fields (addresses, ids)."""
    try:
        value: object = msg.get(name)
    except Exception:
        return ""
    if value is None:
        return ""
    if isinstance(value, Header):
        return clean_line(decode_header_value(value), max_len=4000)
    return clean_line(str(value), max_len=4000)


def normalize_address(value: str) -> str | None:
    """A lower-cased bare address, or ``None`` when ``value`` is not one.

    Lower-casing the whole address matches how ``leads.normalize_email`` builds its key.
    """
    address = value.strip().strip("<>").strip().rstrip(".").lower()
    if address.startswith("mailto:"):
        address = address[len("mailto:") :]
    if len(address) > 320 or not address.isprintable() or not _ADDR_RE.match(address):
        return None
    return sanitize(address)


def addresses_in(value: str) -> list[str]:
    try:
        pairs = getaddresses([value])
    except Exception:
        return []
    found: list[str] = []
    for _name, address in pairs:
        normalized = normalize_address(address)
        if normalized and normalized not in found:
            found.append(normalized)
    return found


def first_address(value: str) -> str | None:
    found = addresses_in(value)
    return found[0] if found else None


def sender_address(msg: Message) -> str | None:
    for name in ("From", "Sender"):
        address = first_address(raw_header(msg, name))
        if address:
            return address
    return None


def display_name(msg: Message) -> str:
    try:
        pairs = getaddresses([header_text(msg, "From")])
    except Exception:
        return ""
    return pairs[0][0] if pairs else ""


def message_ids(value: str) -> list[str]:
    """Message-IDs in a header value, with their angle brackets.

    Ids written without brackets (a common breakage) are accepted when they hold an ``@``.
    """
    ids = _MSGID_RE.findall(value)
    if not ids:
        ids = [f"<{token}>" for token in value.split() if "@" in token and "<" not in token]
    return [clean_line(i, max_len=998) for i in ids]


def content_type(part: Message) -> str:
    """The part's MIME type; a header that lost its ``;`` ("text/plain charset=...")
    still gives its type."""
    try:
        ctype = part.get_content_type()
    except Exception:
        return "text/plain"
    return ctype.split()[0] if ctype.strip() else "text/plain"


def param(part: Message, name: str) -> str:
    try:
        value = part.get_param(name)
    except Exception:
        return ""
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        value = value[2]
    return str(value).strip().lower() if value else ""


def is_attachment(part: Message) -> bool:
    try:
        disposition = part.get_content_disposition()
    except Exception:
        return False
    return disposition == "attachment"


def subparts(part: Message) -> list[Message]:
    try:
        payload = part.get_payload()
    except Exception:
        return []
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    return []


def iter_parts(msg: Message, *, into_attached: bool = False, depth: int = 0) -> Iterator[Message]:
    """Depth-first parts of ``msg``, itself first.

    Attached messages are not entered by default: a quoted original's text must never be
    mistaken for the notification that carries it.
    """
    yield msg
    if depth >= MAX_DEPTH:
        return
    if not into_attached and content_type(msg) in _ATTACHED_MESSAGE_TYPES and depth > 0:
        return
    for sub in subparts(msg):
        yield from iter_parts(sub, into_attached=into_attached, depth=depth + 1)


def part_text(part: Message) -> str:
    """The decoded text of a leaf part; ``""`` for containers.

    Line ends are normalised to ``\\n`` here so that CRLF and LF mail classify alike.
    """
    try:
        if part.is_multipart():
            return ""
        payload = part.get_payload(decode=True)
    except Exception:
        return ""
    if not isinstance(payload, bytes):
        return ""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    return normalize_newlines(decode_bytes(payload, charset))


def body_text(msg: Message) -> str:
    """The readable body: the first inline text/plain part, else the first HTML part.

    Plain text first because clients write it from the same draft, and it needs no guessing
    at layout; HTML-only mail (some mobile and web clients) is rendered to text.
    """
    html_fallback: str | None = None
    for part in iter_parts(msg):
        ctype = content_type(part)
        if is_attachment(part) or (part is not msg and ctype in _ATTACHED_MESSAGE_TYPES):
            continue
        if ctype == "text/plain":
            text = part_text(part)
            if text.strip():
                return clean_text(text)
        elif ctype == "text/html" and html_fallback is None:
            html_fallback = part_text(part)
    if html_fallback is not None:
        return html_to_text(html_fallback)
    return ""


def notification_text(msg: Message) -> str:
    """All inline text of a notification (plain parts, else HTML), attachments excluded.

    Every part, not just the first: MTAs spread the explanation, the SMTP transcript and
    the diagnostic over several parts, and the status code may be in any of them.
    """
    plain: list[str] = []
    html: list[str] = []
    for part in iter_parts(msg):
        ctype = content_type(part)
        if part is not msg and (ctype in _ATTACHED_MESSAGE_TYPES or is_attachment(part)):
            continue
        if ctype in _ATTACHED_HEADERS_TYPES:
            continue
        if ctype == "text/plain":
            plain.append(part_text(part))
        elif ctype == "text/html":
            html.append(part_text(part))
        elif ctype.startswith("multipart/"):
            plain.append(unsplit_body(part))
    if any(t.strip() for t in plain):
        return clean_text("\n\n".join(plain))
    return "\n\n".join(html_to_text(h) for h in html)


def unsplit_body(msg: Message) -> str:
    """The body of a multipart message whose parts could not be split, as text.

    A report whose boundary was anonymised or damaged parses as one opaque string under a
    ``multipart/*`` type; its words and DSN fields are still there to be read.
    """
    try:
        if msg.is_multipart():
            return ""
        payload = msg.get_payload(decode=True)
    except Exception:
        return ""
    if not isinstance(payload, bytes) or not content_type(msg).startswith("multipart/"):
        return ""
    return normalize_newlines(decode_bytes(payload, None))


def attached_original(msg: Message) -> Message | None:
    """The headers of the message a report is about, from whichever part carries them.

    Its Message-ID is how a bounce or complaint is matched to our sent attempt, and its To
    names the lead when the report itself does not.
    """
    for part in iter_parts(msg):
        if part is msg:
            continue
        ctype = content_type(part)
        if ctype in _ATTACHED_MESSAGE_TYPES:
            inner = subparts(part)
            if inner:
                return inner[0]
            text = part_text(part)
            if text.strip():
                return _parse_headers(text)
        elif ctype in _ATTACHED_HEADERS_TYPES:
            text = part_text(part)
            if not text.strip():
                inner = subparts(part)
                if inner:
                    return inner[0]
            return _parse_headers(text)
    return None


def _parse_headers(text: str) -> Message | None:
    try:
        return HeaderParser(policy=compat32).parsestr(text.lstrip("\n"))
    except Exception:
        return None


FieldBlock = list[tuple[str, str]]


def parse_field_blocks(text: str) -> list[FieldBlock]:
    """Split ``Name: value`` paragraphs (as in delivery-status and feedback reports).

    Written by hand rather than with the email parser so that a report part can be read
    the same way whether the parser split it into blocks, kept it as text, or mangled it.
    """
    blocks: list[FieldBlock] = []
    current: FieldBlock = []
    for line in normalize_newlines(text).split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
                current = []
            continue
        if line[0] in " \t" and current:
            name, value = current[-1]
            current[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if sep and name.strip() and " " not in name.strip():
            current.append((name.strip().lower(), value.strip()))
    if current:
        blocks.append(current)
    return blocks


def field_blocks(part: Message) -> list[FieldBlock]:
    """The field blocks of a ``message/delivery-status`` or ``message/feedback-report``.

    The email package splits a delivery-status part into header blocks but parses a
    feedback report as a message (and leaves a mis-encoded one as text); callers get one
    shape for all three.
    """
    blocks: list[FieldBlock] = []
    inner = subparts(part)
    if not inner:
        return parse_field_blocks(part_text(part))
    for block in inner:
        fields: FieldBlock = []
        try:
            items = block.items()
        except Exception:
            items = []
        for name, value in items:
            fields.append(
                (str(name).strip().lower(), clean_line(decode_header_value(value), max_len=2000))
            )
        if fields:
            blocks.append(fields)
        rest = part_text(block)
        if rest.strip():
            blocks.extend(parse_field_blocks(rest))
    return blocks


def block_get(block: FieldBlock, *names: str) -> str:
    for wanted in names:
        for name, value in block:
            if name == wanted and value:
                return value
    return ""


def block_get_all(block: FieldBlock, name: str) -> list[str]:
    return [value for key, value in block if key == name and value]
