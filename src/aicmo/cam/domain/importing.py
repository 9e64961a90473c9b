"""CSV import: header mapping and row parsing. Pure: no I/O.

A column we cannot map is kept as a custom field, never dropped; an empty cell never
erases a value; a bad row is rejected with the reason while the others go on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from aicmo.cam.domain import lead_fields as F
from aicmo.cam.domain import leads as L
from aicmo.cam.domain.lead_fields import Kind
from aicmo.errors import ImportFileError, ValidationError

# Header spellings after _norm_header(); on a clash the field listed first wins.
_HEADER_INDEX: dict[str, str] = {}
for _field in F.FIELDS:
    for _name in _field.headers:
        _HEADER_INDEX.setdefault(_name, _field.name)

CUSTOM_PREFIX = "custom:"
IGNORE = "-"
# Columns of our own export that an import cannot fill (computed, or set by the database).
_EXPORT_COMPUTED = frozenset(F.EXPORT_COLUMNS) - frozenset(F.IMPORT_FIELDS)


def _norm_header(text: str) -> str:
    cleaned = text.replace("\ufeff", "").strip().lower().replace("#", "number of")
    cleaned = re.sub(r"[^a-z0-9/]+", " ", cleaned).strip()
    if cleaned.startswith("number of "):
        cleaned = cleaned.removeprefix("number of ").strip() or cleaned
    return cleaned


@dataclass(frozen=True)
class ColumnMapping:
    """For each column of the file, the field it fills (or custom:<header>, or -)."""

    headers: tuple[str, ...]
    targets: tuple[str, ...]

    def describe(self) -> list[tuple[str, str]]:
        return list(zip(self.headers, self.targets, strict=True))


def parse_map_option(specs: Sequence[str]) -> dict[str, str]:
    """``["Work Mail=email", "Notes=-"]`` → {normalised header: target}.

    Raises:
        ImportFileError: a spec is malformed or names an unknown field.
    """
    out: dict[str, str] = {}
    for spec in specs:
        source, sep, target = spec.rpartition("=")
        source, target = source.strip(), target.strip()
        if not sep or not source or not target:
            raise ImportFileError(f'--map {spec!r}: write it as "Source Column=field"')
        if (
            target != IGNORE
            and not target.startswith(CUSTOM_PREFIX)
            and target not in F.IMPORT_FIELDS
        ):
            fields = ", ".join(F.IMPORT_FIELDS)
            raise ImportFileError(
                f"--map {spec!r}: unknown field {target!r}; use one of {fields}, "
                f"'{CUSTOM_PREFIX}NAME' for a custom field, or '{IGNORE}' to skip the column"
            )
        out[_norm_header(source)] = target
    return out


def map_columns(
    headers: Sequence[str],
    overrides: Mapping[str, str] | None = None,
    *,
    require_identity: bool = True,
) -> ColumnMapping:
    """Map a header row to lead fields.

    ``require_identity=False`` gives the suggestion for a file whose identity column a
    person is about to choose (the import page's mapping step) instead of refusing it.

    Raises:
        ImportFileError: the header is empty, repeats a column, has no column for an
            email or LinkedIn URL, or an override names a column the file lacks.
    """
    overrides = dict(overrides or {})
    cleaned = tuple(h.replace("\ufeff", "").strip() for h in headers)
    if not any(cleaned):
        raise ImportFileError("the first line is empty: the file needs a header row")
    seen: dict[str, int] = {}
    for index, name in enumerate(cleaned, start=1):
        if not name:
            continue
        first = seen.setdefault(name.lower(), index)
        if first != index:
            raise ImportFileError(
                f"the header repeats the column {name!r} (columns {first} and {index}): "
                "which one holds the value? Rename one of them and import again"
            )
    normalized = [_norm_header(h) for h in cleaned]
    missing = [src for src in overrides if src not in normalized]
    if missing:
        raise ImportFileError(
            f"--map names column(s) not in the file: {', '.join(missing)}; "
            f"the header has: {', '.join(cleaned)}"
        )
    taken: set[str] = set()
    targets: list[str] = []
    # Our own export carries computed columns; re-importing it must not turn them
    # into custom fields (another tool's "id" or "score" column is kept, though).
    ours = {h.lower() for h in cleaned} >= _EXPORT_COMPUTED
    for original, norm in zip(cleaned, normalized, strict=True):
        target = overrides.get(norm) or _HEADER_INDEX.get(norm)
        if target is None and original.lower().startswith(CUSTOM_PREFIX):
            target = CUSTOM_PREFIX + original[len(CUSTOM_PREFIX) :].strip()
        if target is None and ours and original.lower() in _EXPORT_COMPUTED:
            target = IGNORE
        if target is None or (target in taken and target != IGNORE):
            target = CUSTOM_PREFIX + (original or f"column {len(targets) + 1}")
        if target not in (IGNORE,) and not target.startswith(CUSTOM_PREFIX):
            taken.add(target)
        targets.append(target)
    if require_identity and not ({"email", "linkedin_url"} & taken):
        looks_like_data = any("@" in h or h.lower().startswith(("http", "www.")) for h in cleaned)
        hint = (
            "the first line looks like data, not a header: add a header row"
            if looks_like_data
            else 'name the email column with --map "Your Column=email"'
        )
        raise ImportFileError(
            f"no column for an email address or LinkedIn URL in the header "
            f"({', '.join(cleaned)}): {hint}"
        )
    return ColumnMapping(headers=cleaned, targets=tuple(targets))


def sniff_wide_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte-order mark, told by where the NUL bytes fall.

    A CSV's first bytes are nearly always ASCII (the header): in UTF-16-LE every second
    byte is then NUL (``e\\0m\\0``), in UTF-32-LE three bytes of four, mirrored for
    big-endian. UTF-8 text has no NUL at all. Returns the codec name, or None.
    """
    data = head[: len(head) - len(head) % 4]
    if len(data) < 4 or b"\0" not in data:
        return None
    units = len(data) // 4

    def share(offsets: tuple[int, ...]) -> float:
        hits = sum(1 for i in range(0, len(data), 4) if all(data[i + o] == 0 for o in offsets))
        return hits / units

    if share((1, 2, 3)) >= 0.9 and share((0,)) == 0:
        return "utf-32-le"
    if share((0, 1, 2)) >= 0.9 and share((3,)) == 0:
        return "utf-32-be"
    odd = sum(1 for b in data[1::2] if b == 0) / (len(data) // 2)
    even = sum(1 for b in data[0::2] if b == 0) / (len(data) // 2)
    if odd >= 0.4 and even <= 0.05:
        return "utf-16-le"
    if even >= 0.4 and odd <= 0.05:
        return "utf-16-be"
    return None


def ends_inside_quotes(text: str, delimiter: str, quote: str = '"') -> bool:
    """Whether CSV ``text`` ends inside a quoted field (its closing quote is missing).

    Follows Python's csv reader: a quote opens a field only at the field's start, ``""``
    inside a quoted field is a quote, and a quote elsewhere is an ordinary character.
    """
    in_quotes = False
    at_start = True
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if in_quotes:
            if c == quote:
                if i + 1 < n and text[i + 1] == quote:
                    i += 2
                    continue
                in_quotes = False
        elif c == quote and at_start:
            in_quotes = True
            at_start = False
        else:
            at_start = c == delimiter or c in "\r\n"
        i += 1
    return in_quotes


def has_identity(mapping: ColumnMapping, cells: Sequence[str]) -> bool:
    """Whether a row names a person (a valid email or LinkedIn URL in its column), even
    if another of its cells would get it rejected: a line swallowed by a quote left open
    is told by this."""
    for target, cell in zip(mapping.targets, cells, strict=False):
        value = cell.strip()
        if not value:
            continue
        try:
            if target == "email":
                L.normalize_email(re.split(r"[,;\s]+", value)[0])
                return True
            if target == "linkedin_url":
                L.normalize_linkedin_url(value)
                return True
        except ValidationError:
            continue
    return False


@dataclass
class ParsedRow:
    """One CSV row turned into lead fields; ``warnings`` are kept, not fatal."""

    fields: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    custom: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    email_key: str | None = None
    linkedin_key: str | None = None


# One-line text fields, checked together (a row's cells are nearly always clean).
_SINGLE_LINE_FIELDS = tuple(n for n in F.IMPORT_FIELDS if F.BY_NAME[n].kind is Kind.TEXT)
# Fields read by a parser whose failure is a warning: the cell is kept as a custom field.
_PARSED_FIELDS = tuple(
    (n, L.VALUE_PARSERS[F.BY_NAME[n].kind])
    for n in F.IMPORT_FIELDS
    if F.BY_NAME[n].kind in L.VALUE_PARSERS
)


def parse_row(mapping: ColumnMapping, cells: Sequence[str]) -> ParsedRow:
    """Turn one row into lead fields.

    Raises:
        ValidationError: the row cannot become a lead (no identity, bad email, control
            characters in a field, too many cells).
    """
    if len(cells) > len(mapping.targets):
        extra = [c for c in cells[len(mapping.targets) :] if c.strip()]
        if extra:
            raise ValidationError(
                f"{len(cells)} cells but the header has {len(mapping.targets)} columns "
                "(a missing quote or an extra delimiter?)"
            )
    row = ParsedRow()
    values: dict[str, str] = {}
    for target, cell in zip(mapping.targets, cells, strict=False):
        if target == IGNORE:
            continue
        value = cell.strip()
        if not value:
            continue
        if target.startswith(CUSTOM_PREFIX):
            name = target.removeprefix(CUSTOM_PREFIX)
            row.custom[name] = L.check_text(name, value, max_len=10_000)
        else:
            values[target] = value

    single = [(n, values[n]) for n in _SINGLE_LINE_FIELDS if n in values]
    if L.has_control_char("".join(v for _, v in single)) or any(
        len(v) > L.MAX_SHORT_FIELD for _, v in single
    ):
        for name, value in single:
            L.check_single_line(name, value)  # raises, naming the field
    row.fields.update(single)
    if "full_name" in values:
        L.check_single_line("full_name", values["full_name"])
        first, last = L.split_full_name(values["full_name"])
        if first and "first_name" not in row.fields:
            row.fields["first_name"] = first
        if last and "last_name" not in row.fields:
            row.fields["last_name"] = last

    if "email" in values:
        raw_email = values["email"]
        # Exports sometimes hold several addresses in one cell; the first is the primary.
        first_email = re.split(r"[,;\s]+", raw_email.strip())[0]
        display, key = L.normalize_email(first_email)
        row.fields["email"] = display
        row.email_key = key
    if "linkedin_url" in values:
        try:
            url, key = L.normalize_linkedin_url(values["linkedin_url"])
        except ValidationError as err:
            if row.email_key is None:
                raise
            row.warnings.append(f"{err.message}; kept as a custom field")
            row.custom["linkedin_url"] = values["linkedin_url"]
        else:
            row.fields["linkedin_url"] = url
            row.linkedin_key = key
    if row.email_key is None and row.linkedin_key is None:
        raise ValidationError("no email address and no LinkedIn URL: nothing identifies this lead")

    for name, parse in _PARSED_FIELDS:
        _optional(row, values, name, parse)
    if "tags" in values:
        row.tags = L.split_tags(values["tags"])
    if "notes" in values:
        row.note = L.check_text("notes", values["notes"])
    return row


def _optional(
    row: ParsedRow, values: dict[str, str], name: str, parse: Callable[[str], str | int | Decimal]
) -> None:
    """Parse a non-identity field; a bad value becomes a warning and a custom field."""
    if name not in values:
        return
    try:
        parsed = parse(values[name])
    except ValidationError as err:
        L.check_single_line(name, values[name], max_len=10_000)
        row.warnings.append(f"{err.message}; kept as a custom field")
        row.custom[name] = values[name]
    else:
        row.fields[name] = parsed
