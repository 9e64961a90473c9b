"""Bidirectional formatting characters that reorder how text is shown.

U+202A-U+202E (embeddings and overrides) and U+2066-U+2069 (isolates) make a name or a
company display in another order than it is stored: "\u202eelgoog" shows as "google"
in a table, a mail client's From line or a terminal (the "Trojan Source" trick). A
single-line field never needs them; the Unicode bidirectional algorithm orders right-to-
left names without help. U+200E and U+200F (left-to-right and right-to-left marks) stay
allowed: they only nudge neutral characters such as punctuation, reorder no letters, and
real right-to-left text carries them.
"""

from __future__ import annotations

import re
import unicodedata

BIDI_CONTROL_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")


def bidi_control(value: str) -> str | None:
    """The first bidirectional control in ``value``, described ("U+202E RIGHT-TO-LEFT
    OVERRIDE"), or None."""
    match = BIDI_CONTROL_RE.search(value)
    if match is None:
        return None
    char = match.group()
    return f"U+{ord(char):04X} {unicodedata.name(char, 'BIDI CONTROL')}"


def bidi_message(field: str, value: str) -> str | None:
    """The error for a bidirectional control in ``field``, or None when there is none."""
    found = bidi_control(value)
    if found is None:
        return None
    return (
        f"{field} contains a bidirectional control character ({found}), which makes the "
        "text display in another order than it is stored; remove it"
    )
