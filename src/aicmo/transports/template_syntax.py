"""Merge-tag conventions to Jinja: spintax (``{Hi|Hello}``) and fallbacks
(``{{first_name|there}}``). Pure text in, text out, every line kept on its line number so
that a template's errors name the line the operator wrote.

A spin becomes an ``if`` on :data:`SPIN` (the renderer's seeded chooser), so one attempt
always renders the same choice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jinja2.filters import FILTERS

#: The name the renderer binds to its seeded chooser.
SPIN = "__aicmo_spin"
#: Braces nested deeper than this are plain text.
MAX_SPIN_DEPTH = 20

_RAW_RE = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}")
_ENDRAW_RE = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")
_SPECIAL_RE = re.compile(r"[{}|]")
_VAR_TAG_RE = re.compile(r"\{\{([-+]?)(.*?)([-+]?)\}\}", re.DOTALL)
_FALLBACK_RE = re.compile(
    r"(\s*)([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\|([^|{}()\[\]\"'\\\n]*)(\s*)"
)
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TAG_CLOSE = {"{": "}}", "%": "%}", "#": "#}"}


def _rewrite_fallback(tag: str) -> str:
    """``{{first_name|there}}`` -> ``{{first_name | default("there")}}``."""
    m = _VAR_TAG_RE.fullmatch(tag)
    if m is None:
        return tag
    inner = m.group(2)
    f = _FALLBACK_RE.fullmatch(inner)
    if f is None:
        return tag
    fallback = f.group(3).strip()
    if _IDENT_RE.fullmatch(fallback) and fallback in FILTERS:
        return tag  # a real filter, e.g. {{ name|title }}
    new_inner = f'{f.group(1)}{f.group(2)} | default("{fallback}"){f.group(4)}'
    new_inner += "\n" * (inner.count("\n") - new_inner.count("\n"))
    return "{{" + m.group(1) + new_inner + m.group(3) + "}}"


@dataclass
class _Spin:
    options: list[list[_Piece]]


_Piece = str | _Spin


class _SpintaxParser:
    """Splits a template into text, Jinja tags (kept whole) and spintax groups."""

    def __init__(self, source: str) -> None:
        self.s = source
        self.i = 0

    def parse(self) -> list[_Piece]:
        options, _ = self._sequence(in_brace=False, depth=0)
        return options[0]

    def _tag(self) -> str:
        s, start = self.s, self.i
        raw = _RAW_RE.match(s, start)
        if raw is not None:
            end_m = _ENDRAW_RE.search(s, raw.end())
            end = end_m.end() if end_m is not None else len(s)
        else:
            end = self._tag_end(start, _TAG_CLOSE[s[start + 1]])
        self.i = end
        text = s[start:end]
        return _rewrite_fallback(text) if text.startswith("{{") else text

    def _tag_end(self, start: int, close: str) -> int:
        s, i, quote = self.s, start + 2, ""
        while i < len(s):
            c = s[i]
            if quote:
                if c == "\\":
                    i += 1
                elif c == quote:
                    quote = ""
            elif c in "'\"" and close != "#}":
                quote = c
            elif s.startswith(close, i):
                return i + 2
            i += 1
        return len(s)

    def _sequence(self, *, in_brace: bool, depth: int) -> tuple[list[list[_Piece]], bool]:
        s = self.s
        current: list[_Piece] = []
        options = [current]
        while self.i < len(s):
            c = s[self.i]
            if c == "{":
                if s[self.i + 1 : self.i + 2] in ("{", "%", "#"):
                    current.append(self._tag())
                    continue
                self.i += 1
                if depth >= MAX_SPIN_DEPTH:  # deeper braces are plain text
                    current.append("{")
                    continue
                inner, closed = self._sequence(in_brace=True, depth=depth + 1)
                if closed and len(inner) > 1:
                    current.append(_Spin(inner))
                else:
                    current.append("{")
                    for k, option in enumerate(inner):
                        if k:
                            current.append("|")
                        current.extend(option)
                    if closed:
                        current.append("}")
            elif in_brace and c == "}":
                self.i += 1
                return options, True
            elif in_brace and c == "|":
                self.i += 1
                current = []
                options.append(current)
            else:
                m = _SPECIAL_RE.search(s, self.i + 1)
                end = m.start() if m is not None else len(s)
                current.append(s[self.i : end])
                self.i = end
        return options, False


def _emit(pieces: list[_Piece], out: list[str], counter: list[int]) -> None:
    for piece in pieces:
        if isinstance(piece, str):
            out.append(piece)
            continue
        index = counter[0]
        counter[0] += 1
        n = len(piece.options)
        for k, option in enumerate(piece.options):
            if k == 0:
                out.append(f"{{% if {SPIN}({index}, {n}) == 0 %}}")
            elif k < n - 1:
                out.append(f"{{% elif {SPIN}({index}, {n}) == {k} %}}")
            else:
                out.append("{% else %}")
            _emit(option, out, counter)
        out.append("{% endif %}")


def translate(source: str) -> str:
    """Merge-tag conventions to Jinja, keeping every line on its line number."""
    if "{" not in source:
        return source
    out: list[str] = []
    _emit(_SpintaxParser(source).parse(), out, [0])
    return "".join(out)
