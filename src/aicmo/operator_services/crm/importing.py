"""``aicmo leads import``: stream a CSV into the mini-CRM.

Streams the file (memory bounded by the batch size), checks the encoding before the
first write so a wrong encoding never half-imports, sniffs the delimiter, maps headers,
validates each row, dedupes within each batch and against the database, then inserts
or updates in batches of one transaction each. A bad row is reported by its physical
line (header = line 1) and never stops the good ones; an empty cell never erases a
value. Re-importing a file updates the leads it created instead of duplicating them.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.cam.db_models import DEFAULT_WORKSPACE_ID, LeadDB, LeadNoteDB
from aicmo.cam.domain import importing as imp
from aicmo.cam.domain.events import EventType, OutreachEvent
from aicmo.cam.domain.grading import ICP, Engagement
from aicmo.cam.domain.lead_fields import GRADE_COLUMNS, IMPORTED_COLUMNS
from aicmo.cam.domain.leads import split_tags
from aicmo.errors import ConflictError, ImportFileError, ValidationError
from aicmo.operator_services.crm.workspace import get_icp
from aicmo.operator_services.leads import grade_values
from aicmo.operator_services.uow import unit_of_work, utcnow, write_unit

DELIMITERS = (",", ";", "\t", "|", ":")
MAX_FIELD = 1_000_000
#: A record longer than this many physical lines is a quote left open, not a note.
MAX_RECORD_LINES = 2000
#: A batch that met another import's rows is looked at again this many times at most.
_WRITE_TRIES = 3
#: How many lines inside a multi-line record are tried as rows of their own.
_PROBE_LINES = 50
KEEP_REJECTED = 1000
KEEP_WARNINGS = 1000

# Columns an import writes; everything else on a lead is left as it is.
_WRITABLE = (*IMPORTED_COLUMNS, *GRADE_COLUMNS, "updated_at")

_LEADS = cast(Table, LeadDB.__table__)
_NOTES = cast(Table, LeadNoteDB.__table__)


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str


@dataclass
class ImportReport:
    """What an import did; ``rejected`` lists every refused row (first 1000 kept)."""

    path: str
    encoding: str
    delimiter: str
    mapping: list[tuple[str, str]] = field(default_factory=list)
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    merged_in_file: int = 0
    blank: int = 0
    rejected_count: int = 0
    rejected: list[RowProblem] = field(default_factory=list)
    warning_count: int = 0
    warnings: list[RowProblem] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.rejected_count else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "rows": self.rows,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "merged_in_file": self.merged_in_file,
            "blank": self.blank,
            "rejected": self.rejected_count,
            "warnings": self.warning_count,
            "rejected_lines": [p.line for p in self.rejected[:100]],
        }


def _detect_encoding(head: bytes, requested: str | None) -> str:
    """The requested codec, else the byte-order mark's, else UTF-16/32 told by the NUL
    bytes of the header, else UTF-8 (with or without a BOM)."""
    if requested:
        try:
            codecs.lookup(requested)
        except LookupError:
            raise ImportFileError(
                f"unknown encoding {requested!r} (try utf-8, cp1252, latin-1)"
            ) from None
        return (
            "utf-8-sig" if requested.lower().replace("_", "-") in {"utf-8", "utf8"} else requested
        )
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"  # before UTF-16: UTF-32-LE's mark starts with UTF-16-LE's
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            "this is a spreadsheet workbook (.xlsx or .ods), not a CSV: save it as "
            "'CSV UTF-8' and import that. Nothing was imported."
        )
    wide = imp.sniff_wide_encoding(head)
    if wide is not None:
        return wide
    if b"\0" in head:
        raise ImportFileError(
            "the file has NUL bytes: it is not a text CSV (a binary export or another "
            "encoding; give --encoding if you know it). Nothing was imported."
        )
    return "utf-8-sig"


def check_encoding(path: Path, encoding: str, chunk_size: int = 1 << 20) -> None:
    """Decode the whole file once (constant memory) so a bad byte stops us before any write."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    with path.open("rb") as fh:
        while True:
            chunk = fh.read(chunk_size)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as err:
                bad_line = line + chunk[: err.start].count(b"\n")
                byte = chunk[err.start : err.start + 1].hex() if err.start < len(chunk) else "end"
                hint = (
                    "if it was saved by Excel or an older CRM, try --encoding cp1252 "
                    "(or --encoding latin-1)"
                    if encoding.startswith("utf")
                    else "check the --encoding value"
                )
                raise ImportFileError(
                    f"{path.name} is not valid {encoding.removesuffix('-sig')} text: byte 0x{byte} "
                    f"on line {bad_line}; {hint}. Nothing was imported."
                ) from err
            if final:
                return
            line += chunk.count(b"\n")


def sniff_delimiter(sample: str) -> str:
    """The delimiter that splits the header into most columns, consistently across rows."""
    lines = sample.splitlines()[:50]
    if not lines:
        return ","
    if len(sample) >= 65536 and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut in the middle
    best, best_score = ",", (0, 0)
    for delim in DELIMITERS:
        try:
            rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delim))
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        if width < 2:
            continue
        consistent = sum(1 for r in rows[1:] if len(r) == width)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delim, score
    return best


@dataclass
class _Pending:
    line: int
    row: imp.ParsedRow


def _strip_formula_guard(cells: list[str]) -> list[str]:
    """Undo the ``'`` that our export puts before formula-like cells."""
    if "'" not in "".join(cells):
        return cells
    return [c[1:] if len(c) > 1 and c[0] == "'" and c[1] in "=+-@\t\r" else c for c in cells]


class _Lines:
    """The file's physical lines, handed to csv.reader one at a time.

    Remembers the lines of the record being read (``taken``), so that each record's
    first line is known exactly, and takes lines back to read them again after a quote
    left open swallowed them.
    """

    def __init__(self, text: IO[str]) -> None:
        self._text = text
        self._again: deque[str] = deque()
        self.taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = self._again.popleft() if self._again else self._text.readline()
        if not line:
            raise StopIteration
        self.taken.append(line)
        return line

    def give_back(self, lines: list[str]) -> None:
        self._again.extendleft(reversed(lines))


def _runaway_quote(
    taken: list[str], start: int, error: csv.Error | None, delim: str, mapping: imp.ColumnMapping
) -> str | None:
    """Why a record of several lines is a quote left open, or None when it is a real
    multi-line value (a note). It is one when it runs to the end of the file, past the
    field limit or MAX_RECORD_LINES lines, or when a line it swallowed names a person of
    its own (an email or LinkedIn URL in the identity column: a row, not a note's line)."""
    swallowed = len(taken) - 1
    if error is not None and "field limit" in str(error):
        return f"runs past {MAX_FIELD:,} characters, swallowing {swallowed} line(s)"
    if imp.ends_inside_quotes("".join(taken), delim):
        return f"is never closed: it ran to the end of the file, swallowing {swallowed} line(s)"
    if len(taken) > MAX_RECORD_LINES:
        return (
            f"runs to line {start + swallowed}, over more than {MAX_RECORD_LINES} lines, "
            f"swallowing {swallowed} line(s)"
        )
    for line in taken[1 : 1 + _PROBE_LINES]:
        # Without its line break: a quote open on this line alone must not make the
        # break part of a value (and the line look like no row).
        try:
            cells = next(csv.reader([line.rstrip("\r\n")], delimiter=delim), [])
        except csv.Error:
            continue
        if not imp.has_identity(mapping, cells):
            continue
        return (
            f"runs to line {start + swallowed}, swallowing {swallowed} line(s) that are rows "
            "of their own"
        )
    return None


def _records(
    lines: _Lines,
    first_line: int,
    delim: str,
    mapping: imp.ColumnMapping,
    reject: Callable[[int, str, Sequence[str]], None],
) -> Iterator[tuple[int, list[str]]]:
    """(first physical line, cells) per record. A malformed record is rejected, not fatal.

    A quote left open is rejected on the line where it opened, with how far it ran, and
    the lines it swallowed are read again as rows: only the broken line is lost (and it
    is in the rejects file, as it was written).
    """
    start = first_line
    reader = csv.reader(lines, delimiter=delim)
    while True:
        lines.taken = []
        error: csv.Error | None = None
        cells: list[str] = []
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            error = err
        taken = lines.taken
        why = _runaway_quote(taken, start, error, delim, mapping) if len(taken) > 1 else None
        if why is not None:
            reject(
                start,
                f"a quoted field opens on this line and {why}; those lines were read again "
                'as rows: fix the quote (") on this line and import it again',
                [taken[0].rstrip("\r\n")],
            )
            lines.give_back(taken[1:])
            reader = csv.reader(lines, delimiter=delim)  # a fresh parser state
            start += 1
            continue
        if error is not None:
            reject(start, f"unreadable CSV: {error}", [t.rstrip("\r\n") for t in taken[:1]])
        else:
            yield start, cells
        start += len(taken)


#: Data rows the preview reads for a sample value of each column.
PREVIEW_ROWS = 20


def preview_csv(
    path: str | Path, *, encoding: str | None = None, delimiter: str | None = None
) -> dict[str, Any]:
    """What an import of ``path`` would read, before it writes anything: the encoding and
    delimiter, each column with a sample value and the field the import would fill from
    it (the same header rules as :func:`import_leads_csv`), so a person can check and
    change the mapping first. Reads the header and a few rows (and decodes the file once,
    in constant memory, so a wrong encoding is told now, not half-way through).

    Returns:
        ``{"encoding", "delimiter", "columns": [{"header", "sample", "target"}],
        "has_identity"}``; ``has_identity`` is False when no column was recognised as
        the email or the LinkedIn URL (the person must choose one).

    Raises:
        ImportFileError: the file cannot be imported at all (missing, binary, wrong
            encoding, empty, no rows, a broken header, one column naming nobody).
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}")
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        raise ImportFileError(f"{path.name} is empty: it needs a header row and rows")
    enc = _detect_encoding(head, encoding)
    check_encoding(path, enc)
    csv.field_size_limit(MAX_FIELD)
    with path.open("r", encoding=enc, newline="") as text:
        sample_text = text.read(65536)
        delim = delimiter or sniff_delimiter(sample_text)
        rows: list[list[str]] = []
        try:
            for cells in csv.reader(io.StringIO(sample_text), delimiter=delim):
                if rows and not "".join(cells).strip():
                    continue
                rows.append(cells)
                if len(rows) > PREVIEW_ROWS:
                    break
        except csv.Error as err:
            if not rows:
                raise ImportFileError(
                    f"{path.name}: the header line is not readable CSV: {err}"
                ) from err
    if not rows or not "".join(rows[0]).strip():
        raise ImportFileError(f"{path.name} is empty: it needs a header row and rows")
    header, data = rows[0], rows[1:]
    mapping = imp.map_columns(header, require_identity=False)
    targets = mapping.targets
    has_identity = bool({"email", "linkedin_url"} & set(targets))
    if not data:
        raise ImportFileError(f"{path.name} has a header but no rows: there is nothing to import")
    if not has_identity and not any(
        "@" in cell or "linkedin.com/" in cell.lower() for row in data for cell in row
    ):
        raise ImportFileError(
            f"{path.name} does not look like a CSV of leads: no column is named or holds an "
            f"email address or a LinkedIn URL (the first line reads "
            f"{', '.join(mapping.headers)[:120]!r}). Export the list as CSV with a header "
            "row. Nothing was imported."
        )
    columns = []
    for index, (name, target) in enumerate(zip(mapping.headers, targets, strict=True)):
        sample = next((r[index].strip() for r in data if index < len(r) and r[index].strip()), "")
        columns.append({"header": name, "sample": sample[:200], "target": target})
    return {
        "encoding": enc,
        "delimiter": delim,
        "columns": columns,
        "has_identity": has_identity,
    }


def import_leads_csv(
    db: Session,
    path: str | Path,
    *,
    column_map: Sequence[str] = (),
    encoding: str | None = None,
    delimiter: str | None = None,
    source: str | None = None,
    tags: Sequence[str] = (),
    workspace_id: int = DEFAULT_WORKSPACE_ID,
    batch_size: int = 5000,
    on_progress: Callable[[int], None] | None = None,
    rejects_out: IO[str] | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import leads from a CSV file; see the module docstring for the guarantees.

    Args:
        column_map: ``"Source Column=field"`` overrides (``-`` skips a column).
        on_progress: called with the number of bytes consumed so far.
        rejects_out: receives every rejected row as CSV (line, reason, original cells).

    Raises:
        ImportFileError: the file cannot be used at all (missing, wrong encoding, no
            header, no identity column); nothing was imported.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}")
    if delimiter is not None and (len(delimiter) != 1 or delimiter in '"\r\n'):
        raise ImportFileError(f"--delimiter must be one character, got {delimiter!r}")
    overrides = imp.parse_map_option(column_map)
    with path.open("rb") as fh:
        head = fh.read(4096)
    enc = _detect_encoding(head, encoding)
    check_encoding(path, enc)
    now = now or utcnow()
    icp = get_icp(db, workspace_id)

    csv.field_size_limit(MAX_FIELD)
    with path.open("r", encoding=enc, newline="") as text:
        sample = text.read(65536)
        text.seek(0)
        delim = delimiter or sniff_delimiter(sample)
        lines = _Lines(text)
        try:
            header = next(csv.reader(lines, delimiter=delim))
        except StopIteration:
            raise ImportFileError(f"{path.name} is empty: it needs a header row and rows") from None
        except csv.Error as err:
            raise ImportFileError(
                f"{path.name}: the header line is not readable CSV: {err}"
            ) from err
        if len(lines.taken) > 1 and (
            len(lines.taken) > 20 or imp.ends_inside_quotes("".join(lines.taken), delim)
        ):
            raise ImportFileError(
                f"{path.name}: a quoted column name on line 1 is not closed (it runs over "
                f"{len(lines.taken)} lines): fix the header's quotes. Nothing was imported."
            )
        first_line = 1 + len(lines.taken)
        mapping = imp.map_columns(header, overrides)
        report = ImportReport(
            path=str(path), encoding=enc, delimiter=delim, mapping=mapping.describe()
        )
        extra_tags = [t for spec in tags for t in split_tags(spec)]
        reject_writer = csv.writer(rejects_out) if rejects_out is not None else None
        if reject_writer is not None:
            reject_writer.writerow(["line", "reason", *mapping.headers])

        def reject(line: int, reason: str, cells: Sequence[str] = ()) -> None:
            report.rejected_count += 1
            if len(report.rejected) < KEEP_REJECTED:
                report.rejected.append(RowProblem(line, reason))
            if reject_writer is not None:
                reject_writer.writerow([line, reason, *cells])

        batch: list[_Pending] = []
        analyzed_at = 500  # refresh planner statistics as the table doubles

        def reject_record(line: int, reason: str, cells: Sequence[str]) -> None:
            report.rows += 1
            reject(line, reason, cells)

        for line, cells in _records(lines, first_line, delim, mapping, reject_record):
            if not "".join(cells).strip():
                report.blank += 1
                continue
            report.rows += 1
            cells = _strip_formula_guard(cells)
            try:
                parsed = imp.parse_row(mapping, cells)
            except ValidationError as err:
                reject(line, err.message, cells)
                continue
            if source and "source" not in parsed.fields:
                parsed.fields["source"] = source
            if extra_tags:
                parsed.tags.extend(
                    t for t in extra_tags if t.lower() not in {x.lower() for x in parsed.tags}
                )
            for w in parsed.warnings:
                _warn(report, line, w)
            batch.append(_Pending(line, parsed))
            if len(batch) >= batch_size:
                _flush(db, workspace_id, batch, report, icp, now)
                batch = []
                if report.created >= analyzed_at * 2:
                    analyzed_at = report.created
                    with unit_of_work(db):
                        repo.refresh_lead_stats(db)
                if on_progress is not None:
                    on_progress(_tell(text))
        if batch:
            _flush(db, workspace_id, batch, report, icp, now)
        if on_progress is not None:
            on_progress(path.stat().st_size)

    with unit_of_work(db):
        repo.add_event(
            db,
            workspace_id,
            OutreachEvent(
                type=EventType.LEADS_IMPORTED,
                occurred_at=now,
                source="csv",
                detail={**report.as_dict(), "path": path.name},
            ),
            actor=actor,
        )
    return report


def _tell(text: IO[str]) -> int:
    try:
        return text.buffer.tell()  # type: ignore[attr-defined, no-any-return]
    except (AttributeError, OSError, ValueError):
        return 0


def _merge_into(first: imp.ParsedRow, later: imp.ParsedRow) -> None:
    """Later non-empty values win, as on re-import; tags and notes accumulate."""
    if first.email_key and "email" in later.fields:
        later.fields.pop("email")  # same person: keep the first spelling of the address
    first.fields.update(later.fields)
    first.custom.update(later.custom)
    known = {t.lower() for t in first.tags}
    first.tags.extend(t for t in later.tags if t.lower() not in known)
    if later.note and later.note != first.note:
        first.note = f"{first.note}\n\n{later.note}" if first.note else later.note
    first.email_key = first.email_key or later.email_key
    first.linkedin_key = first.linkedin_key or later.linkedin_key


def _flush(
    db: Session,
    workspace_id: int,
    batch: list[_Pending],
    report: ImportReport,
    icp: ICP,
    now: datetime,
) -> None:
    # 1. Merge rows of this batch that name the same person.
    by_email: dict[str, _Pending] = {}
    by_link: dict[str, _Pending] = {}
    unique: list[_Pending] = []
    for item in batch:
        r = item.row
        target = (by_email.get(r.email_key) if r.email_key else None) or (
            by_link.get(r.linkedin_key) if r.linkedin_key else None
        )
        if target is not None:
            if r.email_key and target.row.email_key and r.email_key != target.row.email_key:
                # Same LinkedIn profile, other email: keep both people apart, flag it.
                _warn(
                    report,
                    item.line,
                    f"LinkedIn URL also on line {target.line} with another email; "
                    "LinkedIn URL not kept",
                )
                r.fields.pop("linkedin_url", None)
                r.linkedin_key = None
            else:
                _merge_into(target.row, r)
                report.merged_in_file += 1
                if r.email_key:
                    by_email.setdefault(r.email_key, target)
                if r.linkedin_key:
                    by_link.setdefault(r.linkedin_key, target)
                continue
        unique.append(item)
        if r.email_key:
            by_email[r.email_key] = item
        if r.linkedin_key:
            by_link[r.linkedin_key] = item

    for attempt in range(_WRITE_TRIES):
        saved = (report.created, report.updated, report.unchanged, report.warning_count)
        kept_warnings = len(report.warnings)
        try:
            # BEGIN IMMEDIATE on SQLite: a second import waits for the write lock (busy
            # timeout) like any writer, and then reads the first one's rows: no "database
            # is locked", no duplicate.
            with write_unit(db):
                _write_batch(db, workspace_id, unique, report, icp, now)
            return
        except ConflictError:
            # PostgreSQL: another import inserted the same person after this batch looked.
            # Rolled back; looking again finds it, and the row becomes an update.
            report.created, report.updated, report.unchanged, report.warning_count = saved
            del report.warnings[kept_warnings:]
            if attempt == _WRITE_TRIES - 1:
                raise


def _write_batch(
    db: Session,
    workspace_id: int,
    unique: list[_Pending],
    report: ImportReport,
    icp: ICP,
    now: datetime,
) -> None:
    """Match a batch's people against the database, insert the new, update the changed."""
    # 2. Match against the database.
    existing = repo.leads_by_keys(
        db,
        workspace_id,
        (p.row.email_key for p in unique if p.row.email_key),
        (p.row.linkedin_key for p in unique if p.row.linkedin_key),
    )
    db_email = {e["email_key"]: e for e in existing if e["email_key"]}
    db_link = {e["linkedin_key"]: e for e in existing if e["linkedin_key"]}

    new_rows: list[dict[str, Any]] = []
    new_items: list[_Pending] = []
    updates: list[tuple[_Pending, dict[str, Any], dict[str, Any]]] = []
    for item in unique:
        r = item.row
        match = (db_email.get(r.email_key) if r.email_key else None) or (
            db_link.get(r.linkedin_key) if r.linkedin_key else None
        )
        if match is None:
            values = {
                "workspace_id": workspace_id,
                **r.fields,
                "email_key": r.email_key,
                "linkedin_key": r.linkedin_key,
                "custom_fields": r.custom,
                "created_at": now,
                "updated_at": now,
                "stage": r.fields.get("stage", "NEW"),
            }
            values.update(grade_values(icp, values, Engagement(), now))
            new_rows.append(values)
            new_items.append(item)
            continue
        changes = _changes(match, r, item.line, report, db_link)
        updates.append((item, match, changes))

    # 3. Insert new leads; ids are looked up only when tags or notes need them.
    if new_rows:
        repo.insert_leads(db, new_rows)
        report.created += len(new_rows)
        ids: list[int] = []
        new_items = [it for it in new_items if it.row.tags or it.row.note]
        if new_items:
            ids_by_email, ids_by_link = repo.lead_ids_by_keys(
                db,
                workspace_id,
                (it.row.email_key for it in new_items if it.row.email_key),
                (it.row.linkedin_key for it in new_items if it.row.linkedin_key),
            )
            ids = [
                ids_by_email[it.row.email_key]
                if it.row.email_key
                else ids_by_link[it.row.linkedin_key or ""]
                for it in new_items
            ]
        tag_rows = [
            (lead_id, t) for lead_id, it in zip(ids, new_items, strict=True) for t in it.row.tags
        ]
        repo.add_tags(db, workspace_id, tag_rows)
        notes = [
            _note_row(workspace_id, lead_id, it.row.note, now)
            for lead_id, it in zip(ids, new_items, strict=True)
            if it.row.note
        ]
        if notes:
            db.execute(insert(_NOTES), notes)

    # 4. Update matched leads: only what changed, regraded with their engagement.
    if updates:
        lead_ids = [m["id"] for _, m, _ in updates]
        engagement = repo.engagement_for(db, workspace_id, lead_ids)
        have_tags = repo.tags_for(db, lead_ids)
        have_notes = repo.existing_notes(db, [m["id"] for it, m, _ in updates if it.row.note])
        params: list[dict[str, Any]] = []
        tag_rows = []
        notes = []
        for item, match, changes in updates:
            lead_id = match["id"]
            known = {t.lower() for t in have_tags.get(lead_id, [])}
            new_tags = [t for t in item.row.tags if t.lower() not in known]
            tag_rows.extend((lead_id, t) for t in new_tags)
            if item.row.note and (lead_id, item.row.note) not in have_notes:
                notes.append(_note_row(workspace_id, lead_id, item.row.note, now))
            if not changes and not new_tags and not (notes and notes[-1]["lead_id"] == lead_id):
                report.unchanged += 1
                continue
            report.updated += 1
            merged = {**match, **changes}
            merged.update(
                grade_values(icp, merged, engagement.get(lead_id, Engagement()), now),
                updated_at=now,
            )
            params.append({"_id": lead_id, **{c: merged.get(c) for c in _WRITABLE}})
        if params:
            upd = (
                update(_LEADS)
                .where(_LEADS.c.id == bindparam("_id"))
                .values({c: bindparam(c) for c in _WRITABLE})
            )
            db.execute(upd, params, execution_options={"synchronize_session": False})
        repo.add_tags(db, workspace_id, tag_rows)
        if notes:
            db.execute(insert(_NOTES), notes)


def _note_row(workspace_id: int, lead_id: int, body: str, now: datetime) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "lead_id": lead_id,
        "body": body,
        "author": "import",
        "created_at": now,
    }


def _changes(
    match: dict[str, Any],
    r: imp.ParsedRow,
    line: int,
    report: ImportReport,
    db_link: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    """Field values that differ from the stored lead; empty cells never erase."""
    changes: dict[str, Any] = {}
    for name, value in r.fields.items():
        if name == "email":
            if match["email_key"] and match["email_key"] != r.email_key:
                _warn(
                    report,
                    line,
                    f"email {value} differs from lead #{match['id']}'s email; kept the stored one",
                )
                continue
            if not match["email_key"]:
                changes["email"], changes["email_key"] = value, r.email_key
            continue
        if name == "linkedin_url":
            owner = db_link.get(r.linkedin_key) if r.linkedin_key else None
            if owner is not None and owner["id"] != match["id"]:
                _warn(
                    report,
                    line,
                    f"LinkedIn URL belongs to lead #{owner['id']}; "
                    f"not copied to lead #{match['id']}",
                )
                continue
            if match["linkedin_key"] and match["linkedin_key"] != r.linkedin_key:
                _warn(
                    report,
                    line,
                    f"LinkedIn URL differs from lead #{match['id']}'s; kept the stored one",
                )
                continue
            if match["linkedin_url"] != value:
                changes["linkedin_url"], changes["linkedin_key"] = value, r.linkedin_key
            continue
        if match.get(name) != value:
            changes[name] = value
    if r.custom:
        current = dict(match.get("custom_fields") or {})
        merged = {**current, **r.custom}
        if merged != current:
            changes["custom_fields"] = merged
    return changes


def _warn(report: ImportReport, line: int, message: str) -> None:
    report.warning_count += 1
    if len(report.warnings) < KEEP_WARNINGS:
        report.warnings.append(RowProblem(line, message))
