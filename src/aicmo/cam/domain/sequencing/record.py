"""The ``enrollments.variant`` record: which A/B variant a lead was given at each step,
as ``"<step>:<name>"`` pairs joined by ``,`` (``"0:A,2:short"``).

Its own module because the step definitions (which check that the longest record fits
the column) and the variant assignment both read and write this one format.
"""

from __future__ import annotations

from collections.abc import Mapping

#: ``enrollments.variant`` holds at most this many characters (all steps' choices).
RECORD_MAX_LEN = 40


def variant_record(chosen: Mapping[int, str]) -> str | None:
    """``{0: "A", 2: "short"}`` as ``"0:A,2:short"`` (None when nothing was chosen)."""
    return ",".join(f"{i}:{name}" for i, name in sorted(chosen.items())) or None


def parse_record(record: str) -> dict[int, str]:
    """The choices of a record by step index; a malformed pair is skipped, not fatal."""
    out: dict[int, str] = {}
    for part in record.split(","):
        index, _, name = part.partition(":")
        if index.isdigit() and name:
            out[int(index)] = name
    return out


def variant_of(record: str | None, step_index: int) -> str | None:
    """The variant of step ``step_index`` in an ``enrollments.variant`` record."""
    return parse_record(record).get(step_index) if record else None
