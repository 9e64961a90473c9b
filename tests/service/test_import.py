"""The CSV import against a real database (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.cam.db_models import EventDB, LeadDB, LeadNoteDB, LeadTagDB
from aicmo.errors import ImportFileError


def write(tmp_path: Path, text: str, name: str = "leads.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def lead_count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(LeadDB)) or 0)


def test_bad_rows_are_reported_by_physical_line_and_good_rows_land(
    db: Session, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "Email,First Name,Notes\n"
        "ok1@example.com,Ann,\n"  # line 2
        "not-an-email,Bob,\n"  # line 3: rejected
        'ok2@example.com,Cid,"two\nline note"\n'  # lines 4-5: one record
        ",Dan,\n"  # line 6: rejected (no identity)
        'ok3@example.com,"Eve\r\nBcc: x@example.com",\n'  # line 7-8: control char in a name
        "ok4@example.com,Fay,\n",  # line 9
    )
    report = ops.import_leads_csv(db, path)
    assert report.created == 3
    assert [(p.line, p.message.split(":")[0]) for p in report.rejected] == [
        (3, "invalid email 'not-an-email'"),
        (6, "no email address and no LinkedIn URL"),
        (
            7,
            "first_name contains a control character (line break or similar); "
            "remove it and import again",
        ),
    ]
    assert report.exit_code == 1
    emails = set(db.scalars(select(LeadDB.email)))
    assert emails == {"ok1@example.com", "ok2@example.com", "ok4@example.com"}
    assert db.scalar(select(LeadNoteDB.body)) == "two\nline note"


def test_reimport_updates_instead_of_duplicating(db: Session, tmp_path: Path) -> None:
    first = write(
        tmp_path,
        "Email,First Name,Title\njane@example.com,Jane,Engineer\njoe@example.com,Joe,\n",
        "a.csv",
    )
    ops.import_leads_csv(db, first)
    again = ops.import_leads_csv(db, first)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    second = write(tmp_path, "EMAIL,first name,Title\nJANE@EXAMPLE.COM,,VP Sales\n", "b.csv")
    report = ops.import_leads_csv(db, second)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert lead_count(db) == 2
    jane = db.scalar(select(LeadDB).where(LeadDB.email_key == "jane@example.com"))
    assert jane is not None
    db.refresh(jane)
    assert jane.title == "VP Sales"
    assert jane.first_name == "Jane"  # the empty cell did not erase the name
    assert jane.email == "jane@example.com"  # spelling of the first import is kept
    assert jane.grade is not None and any("VP" in r for r in jane.grade_reasons)


def test_same_linkedin_profile_dedupes_across_spellings(db: Session, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "LinkedIn,Name\n"
        "https://www.linkedin.com/in/Jane-Doe/,Jane Doe\n"
        "linkedin.com/in/jane-doe?trk=x,Jane D.\n",
    )
    report = ops.import_leads_csv(db, path)
    assert (report.created, report.merged_in_file) == (1, 1)
    report2 = ops.import_leads_csv(
        db,
        write(
            tmp_path,
            "Profile URL,Email\nhttps://fr.linkedin.com/in/jane-doe,jane@example.com\n",
            "2.csv",
        ),
    )
    assert (report2.created, report2.updated) == (0, 1)
    lead = db.scalar(select(LeadDB))
    assert lead is not None and lead.email == "jane@example.com"


@pytest.mark.parametrize(("delim", "bom"), [(",", False), (";", True), ("\t", False), ("|", True)])
def test_delimiters_and_bom_are_handled(db: Session, tmp_path: Path, delim: str, bom: bool) -> None:
    text = (
        delim.join(["Email", "First Name", "Company"])
        + "\n"
        + delim.join(["a@example.com", "Ann", "Acme, Inc"])
        + "\n"
    )
    if delim == ",":
        text = text.replace("Acme, Inc", '"Acme, Inc"')
    path = write(tmp_path, ("\ufeff" if bom else "") + text)
    report = ops.import_leads_csv(db, path)
    assert report.created == 1 and report.rejected_count == 0
    assert db.scalar(select(LeadDB.company)) == "Acme, Inc"


def test_excel_cp1252_file_gets_a_clear_error_and_imports_nothing(
    db: Session, tmp_path: Path
) -> None:
    path = write(tmp_path, "Email,First Name\njose@example.com,José\n", encoding="cp1252")
    with pytest.raises(ImportFileError, match=r"line 2.*--encoding cp1252.*Nothing was imported"):
        ops.import_leads_csv(db, path)
    assert lead_count(db) == 0
    report = ops.import_leads_csv(db, path, encoding="cp1252")
    assert report.created == 1
    assert db.scalar(select(LeadDB.first_name)) == "José"


def test_utf16_excel_unicode_text_is_detected(db: Session, tmp_path: Path) -> None:
    path = write(
        tmp_path, "\ufeffEmail\tFirst Name\r\nzoe@example.com\tZoë\r\n", encoding="utf-16-le"
    )
    report = ops.import_leads_csv(db, path)
    assert report.created == 1
    assert db.scalar(select(LeadDB.first_name)) == "Zoë"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("First Name,Company\nJane,Acme\n", "no column for an email"),
        ("jane@example.com,Jane\njoe@example.com,Joe\n", "looks like data"),
    ],
)
def test_unusable_files_are_refused_as_a_whole(
    db: Session, tmp_path: Path, content: str, message: str
) -> None:
    with pytest.raises(ImportFileError, match=message):
        ops.import_leads_csv(db, write(tmp_path, content))
    assert lead_count(db) == 0


def test_missing_file_is_a_clear_error(db: Session, tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match="no such file"):
        ops.import_leads_csv(db, tmp_path / "nope.csv")


def test_a_nul_byte_or_huge_field_rejects_only_that_row(db: Session, tmp_path: Path) -> None:
    huge = "x" * 1_100_000
    path = write(
        tmp_path, f"Email,Notes\na@example.com,ok\nb@example.com,{huge}\nc@example.com,fine\n"
    )
    report = ops.import_leads_csv(db, path)
    assert report.created == 2
    assert [p.line for p in report.rejected] == [3]
    assert (
        "field larger than field limit" in report.rejected[0].message
        or "too long" in report.rejected[0].message
    )


def test_unknown_columns_are_kept_as_custom_fields(db: Session, tmp_path: Path) -> None:
    path = write(tmp_path, "Email,Favourite Color,City\na@example.com,blue,Lyon\n")
    ops.import_leads_csv(db, path)
    assert db.scalar(select(LeadDB.custom_fields)) == {"Favourite Color": "blue", "City": "Lyon"}


def test_tags_from_column_and_option_accumulate_without_duplicates(
    db: Session, tmp_path: Path
) -> None:
    path = write(tmp_path, "Email,Tags\na@example.com,saas; Founders\n")
    ops.import_leads_csv(db, path, tags=["expo-2026", "founders"])
    ops.import_leads_csv(db, path, tags=["expo-2026"])
    tags = sorted(db.scalars(select(LeadTagDB.tag)))
    assert tags == ["Founders", "expo-2026", "saas"]


def test_rejects_file_gets_every_bad_row_with_its_cells(db: Session, tmp_path: Path) -> None:
    path = write(tmp_path, "Email,First Name\nbad,Ann\ngood@example.com,Bo\nworse,Cy\n")
    out = io.StringIO()
    ops.import_leads_csv(db, path, rejects_out=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "line,reason,Email,First Name"
    assert lines[1].startswith("2,") and lines[1].endswith(",bad,Ann")
    assert lines[2].startswith("4,")


def test_an_import_is_on_the_audit_trail(db: Session, tmp_path: Path) -> None:
    ops.import_leads_csv(db, write(tmp_path, "Email\na@example.com\nbad\n"))
    event = db.scalar(select(EventDB).where(EventDB.type == "LEADS_IMPORTED"))
    assert event is not None
    assert event.detail["created"] == 1 and event.detail["rejected"] == 1


def test_batches_larger_than_one_and_duplicates_across_batches(db: Session, tmp_path: Path) -> None:
    rows = "".join(f"user{i}@example.com,Name{i}\n" for i in range(25))
    rows += "user3@example.com,Renamed\n"  # in a later batch than the first user3
    path = write(tmp_path, "Email,First Name\n" + rows)
    report = ops.import_leads_csv(db, path, batch_size=7)
    assert report.created == 25
    assert report.updated == 1
    assert lead_count(db) == 25
    assert (
        db.scalar(select(LeadDB.first_name).where(LeadDB.email_key == "user3@example.com"))
        == "Renamed"
    )


def test_export_then_import_gives_back_the_same_leads(db: Session, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Email,First Name,Phone,Company,Tags,Shoe size,Deal Value\n"
        'a@example.com,Ann,+33 1 23 45 67 89,"=HYPERLINK(""x"")",vip;saas,42,"1,200.50"\n'
        "b@example.com,Bob,,-minus corp,,,\n",
    )
    ops.import_leads_csv(db, path)
    out = io.StringIO()
    assert ops.export_leads_csv(db, out) == 2
    exported = out.getvalue()
    assert "'=HYPERLINK" in exported and "'+33 1 23" in exported  # spreadsheet-safe
    assert "custom:Shoe size" in exported.splitlines()[0]
    again = write(tmp_path, exported, "export.csv")
    report = ops.import_leads_csv(db, again)
    assert (report.created, report.updated, report.unchanged, report.rejected_count) == (0, 0, 2, 0)
    lead = db.scalar(select(LeadDB).where(LeadDB.email_key == "a@example.com"))
    assert lead is not None
    assert lead.phone == "+33 1 23 45 67 89"
    assert lead.company == '=HYPERLINK("x")'
    assert str(lead.deal_value) == "1200.50"


def test_a_name_with_a_bidirectional_override_rejects_its_row_by_line_and_field(
    db: Session, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "Email,First Name,Last Name,Company\n"
        "ok@example.com,Ann,Lee,Acme\n"
        "evil@example.com,Bob,\u202etxt.exe,Acme\n"  # line 3: shows as "exe.txt"
        "also@example.com,Cy,Doe,\u2067Beta\u2069\n"  # line 4: an isolate in the company
        "rtl@example.com,\u200fשרה,כהן,Acme\n",  # line 5: real right-to-left text, kept
    )
    report = ops.import_leads_csv(db, path)
    assert report.created == 2
    assert [(p.line, p.message.split(" contains")[0]) for p in report.rejected] == [
        (3, "last_name"),
        (4, "company"),
    ]
    assert "U+202E RIGHT-TO-LEFT OVERRIDE" in report.rejected[0].message
    assert "U+2067 RIGHT-TO-LEFT ISOLATE" in report.rejected[1].message
