"""Properties of the CSV importer and the campaign loader on generated input: never a
traceback (only their own clear errors), and no row lost without a word (every line is
imported, counted as a duplicate, or rejected with its line number)."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import LeadDB
from aicmo.errors import AicmoError, ImportFileError
from aicmo.operator_services.campaigns import create_campaign, parse_campaign_yaml

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
    ],
)
_run = itertools.count()

# Cell text with every character that matters to CSV and to us, but no delimiter or
# newline: a line read alone is then always a valid row, so a line that is neither
# imported nor rejected on its own number was lost.
_CELL = st.lists(st.sampled_from([*"ab Z\"'[]/é€\t;|:=+-@", "  ", '""', "x" * 40]), max_size=8).map(
    "".join
)


def _accounted(report: Any) -> None:
    """Every record read is rejected, merged into another, created, updated or unchanged."""
    assert report.rows == (
        report.rejected_count
        + report.merged_in_file
        + report.created
        + report.updated
        + report.unchanged
    )


@FUZZ
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 30), st.lists(_CELL, min_size=0, max_size=4)),
        min_size=1,
        max_size=40,
    ),
    delimiter=st.sampled_from([",", ";", "\t"]),
    blank_every=st.integers(0, 7),
)
def test_every_line_is_imported_or_rejected_with_its_number(
    db: Session, tmp_path: Path, rows: list[tuple[int, list[str]]], delimiter: str, blank_every: int
) -> None:
    run = next(_run)
    domain = f"run{run}.fuzz.example"
    header = delimiter.join(["Email", "First Name", "Company", "Notes", "Extra"])
    lines = [header]
    expected: list[tuple[int, str]] = []  # (physical line, email)
    for i, (who, cells) in enumerate(rows):
        if blank_every and i % blank_every == blank_every - 1:
            lines.append("")
        email = f"p{who}@{domain}"  # a small pool: duplicates within the file happen
        expected.append((len(lines) + 1, email))
        cells = [c.replace(delimiter, "") for c in cells]
        lines.append(delimiter.join([email, *cells]))
    path = tmp_path / f"fuzz{run}.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    report = ops.import_leads_csv(db, path, delimiter=delimiter)

    _accounted(report)
    rejected = {p.line for p in report.rejected}
    assert report.rejected_count == len(rejected) <= len(rows)
    stored = set(db.scalars(select(LeadDB.email_key).where(LeadDB.email_key.like(f"%@{domain}"))))
    for line, email in expected:
        assert email in stored or line in rejected, (line, email, report.rejected, lines)


@FUZZ
@given(
    records=st.lists(
        st.lists(st.text(max_size=15), min_size=1, max_size=5), min_size=1, max_size=20
    ),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_a_well_formed_csv_of_any_text_loses_no_record(
    db: Session, tmp_path: Path, records: list[list[str]], delimiter: str
) -> None:
    run = next(_run)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(["Email", "First Name", "Notes", "Company", "Extra"])
    for i, cells in enumerate(records):
        writer.writerow([f"q{i}@run{run}.fuzz.example", *cells])
    path = tmp_path / f"wf{run}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    try:
        report = ops.import_leads_csv(db, path, delimiter=delimiter)
    except ImportFileError:
        return  # e.g. a control character that cannot be stored: refused as a whole
    _accounted(report)
    assert report.rows + report.blank == len(records)


@FUZZ
@given(data=st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
def test_any_bytes_are_imported_or_refused_clearly(
    db: Session, tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / f"any{next(_run)}.csv"
    path.write_bytes(b"Email,Notes\n" + data)
    try:
        report = ops.import_leads_csv(db, path)
    except ImportFileError:
        return  # refused as a whole, with its message: nothing was written
    _accounted(report)


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=10)
    | st.dates()
    | st.binary(max_size=5)
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=6) | st.integers(0, 3), inner, max_size=3)
    ),
    max_leaves=12,
)
_STEP = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(["EMAIL", "email", "LINKEDIN", "FAX"]) | _VALUES,
        "template": st.fixed_dictionaries({"subject": _VALUES, "body": st.text(max_size=8)})
        | _VALUES,
    },
    optional={
        "delay_hours": st.floats() | st.integers(-5, 10**30) | _VALUES,
        "fallback": _VALUES,
        "condition": _VALUES,
    },
)
_CAMPAIGN = st.fixed_dictionaries(
    {"name": st.text(min_size=1, max_size=10) | _VALUES},
    optional={
        "description": _VALUES,
        "steps": st.lists(_STEP, max_size=3) | _VALUES,
        "sequence": _VALUES,
        "audience": st.fixed_dictionaries(
            {},
            optional={
                "grade": _VALUES,
                "stage": _VALUES,
                "tag": _VALUES,
                "min_score": _VALUES,
                "lead_ids": _VALUES,
            },
        )
        | _VALUES,
        "settings": st.fixed_dictionaries(
            {},
            optional={
                "window": st.fixed_dictionaries(
                    {},
                    optional={
                        "timezone": _VALUES,
                        "days": _VALUES,
                        "start": _VALUES,
                        "end": _VALUES,
                        "jitter_seconds": _VALUES,
                    },
                )
                | _VALUES
            },
        )
        | _VALUES,
        "extra": _VALUES,
    },
)


@FUZZ
@given(campaign=_CAMPAIGN, anchors=st.booleans())
def test_any_campaign_file_is_created_or_refused_clearly(
    db: Session, campaign: dict[str, Any], anchors: bool
) -> None:
    if anchors:  # the same objects twice: YAML writes an anchor and an alias
        shared = campaign.get("settings")
        campaign["description"] = shared
    text = yaml.dump(campaign, allow_unicode=True)
    with contextlib.suppress(AicmoError):  # our own clear error; anything else fails
        create_campaign(db, **parse_campaign_yaml(text))


@FUZZ
@given(text=st.text(max_size=300))
def test_any_text_as_a_campaign_file_is_created_or_refused_clearly(db: Session, text: str) -> None:
    with contextlib.suppress(AicmoError):  # our own clear error; anything else fails
        create_campaign(db, **parse_campaign_yaml(text))
