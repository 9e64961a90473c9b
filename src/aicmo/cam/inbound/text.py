"""Text normalisation shared by the inbound classifiers. Pure: no I/O.

Everything the classifier returns ends up in PostgreSQL rows and in the CLI, so every
string leaving this package goes through :func:`clean_line` or :func:`clean_text`: the
database rejects NUL characters, the driver cannot encode the lone surrogates that the
``email`` package leaves behind for undecodable 8-bit bytes, and single-line columns of
this project refuse control characters.
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

# C0/C1 controls, DEL and the Unicode line separators (the same set leads.py refuses).
_LINE_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
# Multi-line text keeps tab and newline only.
_TEXT_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SPACES_RE = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES_RE = re.compile(r"\n{3,}")


def sanitize(value: str) -> str:
    """Make ``value`` encodable as UTF-8 and free of NUL.

    Lone surrogates from ``surrogateescape`` decoding are turned back into their bytes and
    re-read as UTF-8, which recovers the common case of raw UTF-8 in a header.
    """
    if value.isascii() and "\x00" not in value:
        return value
    try:
        fixed = value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        fixed = value.encode("utf-8", "replace").decode("utf-8")
    return fixed.replace("\x00", "\ufffd")


def normalize_newlines(value: str) -> str:
    return value.replace("\r\n", "\n").replace("\r", "\n")


def clean_line(value: str, *, max_len: int = 500) -> str:
    """A single-line, trimmed, length-capped form of ``value`` for headers and reasons."""
    text = _LINE_CONTROL_RE.sub(" ", sanitize(value))
    text = " ".join(text.split())
    if len(text) > max_len:
        text = text[: max_len - 1].rstrip() + "…"
    return text


def clean_text(value: str) -> str:
    """Multi-line text with ``\\n`` line ends, no stray controls and no trailing spaces."""
    text = _TEXT_CONTROL_RE.sub("", normalize_newlines(sanitize(value)))
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip("\n")


def fold_char(char: str) -> str:
    decomposed = unicodedata.normalize("NFKD", char)
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    if len(base) != 1:
        base = char
    lowered = base.lower()
    return lowered if len(lowered) == 1 else base


def fold(value: str) -> str:
    """Lower-case ``value`` and strip accents, keeping its length.

    Keeping the length lets a match found in the folded text be mapped back to the same
    offsets in the original, and lets patterns be written once without accents
    ("desinscrire" matches both "désinscrire" and the accent-less spelling people type).
    """
    if value.isascii():
        return value.lower()
    return "".join(fold_char(c) for c in value)


class _HtmlToText(HTMLParser):
    """Renders HTML mail as plain text, marking ``<blockquote>`` content with ``>``.

    Marking quotes the way plain-text clients do lets one quote stripper serve both.
    Block elements end a line, ``<br>`` always makes one (so ``<div><br></div>`` is the
    blank line webmail means by it) and paragraphs are followed by a blank line.
    """

    _BLOCK_TAGS = frozenset(
        {
            "address",
            "article",
            "dd",
            "div",
            "dl",
            "dt",
            "footer",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "header",
            "hr",
            "li",
            "ol",
            "p",
            "pre",
            "section",
            "table",
            "td",
            "th",
            "tr",
            "ul",
        }
    )
    _SKIP_TAGS = frozenset({"head", "script", "style", "title", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self._current: list[str] = []
        self._quote_depth = 0
        self._skip_depth = 0

    def _end_line(self, *, force: bool = False) -> None:
        text = " ".join("".join(self._current).split())
        self._current = []
        if text:
            self.lines.append("> " * self._quote_depth + text)
        elif force:
            self.lines.append(">" * self._quote_depth)

    def _blank_line(self) -> None:
        if not self._quote_depth and self.lines and self.lines[-1]:
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP_TAGS:
            self._skip_depth += 1
        elif tag == "br":
            self._end_line(force=True)
        elif tag == "blockquote":
            self._end_line()
            self._quote_depth += 1
        elif tag in self._BLOCK_TAGS:
            self._end_line()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "blockquote":
            self._end_line()
            self._quote_depth = max(0, self._quote_depth - 1)
        elif tag == "p":
            self._end_line()
            self._blank_line()
        elif tag in self._BLOCK_TAGS:
            self._end_line()

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self._current.append(data)

    def text(self) -> str:
        self._end_line()
        return "\n".join(self.lines)


_TAG_RE = re.compile(r"<[^>]*>")


def html_to_text(html: str) -> str:
    """Best-effort text of an HTML body; never raises."""
    parser = _HtmlToText()
    try:
        parser.feed(html)
        parser.close()
        rendered = parser.text()
    except Exception:  # the stdlib parser can still trip on hostile markup
        rendered = _TAG_RE.sub(" ", html)
    return clean_text(_SPACES_RE.sub(" ", rendered))
