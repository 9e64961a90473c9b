"""The CSV import on broken files: a quote left open, UTF-16/32 without a byte-order
mark, binary files, repeated headers. Each is either a clear refusal before any write,
or a rejected line (with the line number) while every other row lands."""

from __future__ import annotations

import codecs
import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import LeadDB, LeadNoteDB
from aicmo.errors import ImportFileError


def write(tmp_path: Path, data: str | bytes, name: str = "leads.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def emails(db: Session) -> set[str]:
    return set(db.scalars(select(LeadDB.email)))


def test_a_quote_left_open_to_the_end_of_the_file_loses_only_its_own_line(
    db: Session, tmp_path: Path
) -> None:
    rows = [f"p{i}@acme.example,P{i},Acme" for i in range(20_000)]
    path = write(
        tmp_path,
        "Email,First Name,Company\n" + 'open@acme.example,"Ann,Acme\n' + "\n".join(rows) + "\n",
    )
    out = io.StringIO()
    report = ops.import_leads_csv(db, path, rejects_out=out)

    assert report.created == 20_000 and report.rows == 20_001
    assert [p.line for p in report.rejected] == [2]
    message = report.rejected[0].message
    assert "opens on this line" in message and "end of the file" in message
    assert "swallowing 20000 line(s)" in message
    assert "open@acme.example" not in emails(db) and "p19999@acme.example" in emails(db)
    rejected = list(csv.reader(io.StringIO(out.getvalue())))
    assert rejected[1][0] == "2" and rejected[1][2] == 'open@acme.example,"Ann,Acme'  # as written


def test_a_quote_closed_by_a_stray_quote_lines_later_gives_the_rows_back(
    db: Session, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "Email,First Name,Notes\n"
        "a@acme.example,Ann,ok\n"  # 2
        'b@acme.example,"Bob,x\n'  # 3: the quote opens here...
        "c@acme.example,Cy,y\n"  # 4
        "d@acme.example,Di,5'11\"\n"  # 5: ...and a stray quote closes it
        "e@acme.example,Ed,z\n",  # 6
    )
    report = ops.import_leads_csv(db, path)
    assert [p.line for p in report.rejected] == [3]
    assert "runs to line 5, swallowing 2 line(s)" in report.rejected[0].message
    assert emails(db) == {"a@acme.example", "c@acme.example", "d@acme.example", "e@acme.example"}


def test_a_real_multi_line_note_is_still_one_note(db: Session, tmp_path: Path) -> None:
    note = "Met at the expo.\nCall back Monday, 10:00.\n\nAsked for pricing"
    path = write(tmp_path, f'Email,Notes\na@acme.example,"{note}"\nb@acme.example,x\n')
    report = ops.import_leads_csv(db, path)
    assert report.rejected_count == 0 and report.created == 2
    assert db.scalar(select(LeadNoteDB.body).where(LeadNoteDB.body.like("Met%"))) == note


def test_a_header_whose_quote_never_closes_is_refused_before_any_write(
    db: Session, tmp_path: Path
) -> None:
    path = write(tmp_path, 'Email,"First Name\n' + "a@acme.example,Ann\n" * 30)
    with pytest.raises(ImportFileError, match="line 1 is not closed"):
        ops.import_leads_csv(db, path)
    assert not emails(db)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_utf16_and_utf32_without_a_byte_order_mark_are_read_as_such(
    db: Session, tmp_path: Path, encoding: str
) -> None:
    text = "Email,First Name,Company\nzoe@acme.example,Zoë,Ünal GmbH\n"
    report = ops.import_leads_csv(db, write(tmp_path, text.encode(encoding)))
    assert report.encoding == encoding and report.created == 1
    lead = db.scalars(select(LeadDB)).one()
    assert (lead.first_name, lead.company) == ("Zoë", "Ünal GmbH")


def test_utf32_with_its_byte_order_mark_is_not_taken_for_utf16(db: Session, tmp_path: Path) -> None:
    data = codecs.BOM_UTF32_LE + "Email\nzoe@acme.example\n".encode("utf-32-le")
    report = ops.import_leads_csv(db, write(tmp_path, data))
    assert report.encoding == "utf-32" and report.created == 1


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "spreadsheet workbook"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(50), "NUL bytes"),
    ],
    ids=["xlsx", "png"],
)
def test_a_binary_file_is_refused_with_what_it_is(
    db: Session, tmp_path: Path, data: bytes, words: str
) -> None:
    with pytest.raises(ImportFileError, match=words):
        ops.import_leads_csv(db, write(tmp_path, data))
    assert not emails(db)


def test_a_repeated_header_is_refused(db: Session, tmp_path: Path) -> None:
    path = write(tmp_path, "Email,Company,company\na@acme.example,Acme,Beta\n")
    with pytest.raises(ImportFileError, match=r"repeats the column 'company' \(columns 2 and 3\)"):
        ops.import_leads_csv(db, path)
    assert int(db.scalar(select(func.count()).select_from(LeadDB)) or 0) == 0
