"""``aicmo report`` and ``aicmo digest send`` as a person runs them."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from aicmo.db.connect import make_engine, session_factory
from tests.e2e.test_cli import aicmo
from tests.report_data import expected_totals, seed_activity

DAY = date(2026, 3, 2)


def _seed(tmp_path: Path) -> None:
    assert aicmo(tmp_path, "init").returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        with session_factory(engine)() as db:
            seed_activity(db, DAY, name="Spring [bold]outreach[/]")
    finally:
        engine.dispose()


def test_report_writes_each_format_where_asked(tmp_path: Path) -> None:
    _seed(tmp_path)
    period = ("--from", "2026-03-02", "--to", "2026-03-05")
    out = tmp_path / "r.csv"
    run = aicmo(
        tmp_path, "report", "-c", "Spring [bold]outreach[/]", *period, "-f", "csv", "-o", str(out)
    )
    assert run.returncode == 0, run.stderr
    assert "Spring [bold]outreach[/]" in run.stdout  # the name as data, not markup
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    [sent] = [r for r in rows if r["section"] == "summary" and r["metric"] == "sent"]
    assert int(sent["value"]) == expected_totals()["sent"]
    pdf = tmp_path / "r.pdf"
    assert (
        aicmo(tmp_path, "report", "-c", "1", *period, "-f", "pdf", "-o", str(pdf)).returncode == 0
    )
    assert pdf.read_bytes().startswith(b"%PDF-")
    page = aicmo(tmp_path, "report", "-c", "1", *period, "-o", "-")
    assert page.returncode == 0 and page.stdout.startswith("<!DOCTYPE html>")
    empty = aicmo(
        tmp_path,
        "report",
        "-c",
        "1",
        "--from",
        "2025-01-01",
        "--to",
        "2025-01-02",
        "-o",
        str(tmp_path / "e.html"),
    )
    assert empty.returncode == 0 and "no data in this period" in empty.stdout


def test_report_errors_say_what_to_do(tmp_path: Path) -> None:
    _seed(tmp_path)
    bad_day = aicmo(tmp_path, "report", "-c", "1", "--from", "02/03/2026")
    assert bad_day.returncode == 2 and "YYYY-MM-DD" in bad_day.stderr
    bad_format = aicmo(tmp_path, "report", "-c", "1", "-f", "docx")
    assert bad_format.returncode == 2 and "html, pdf, csv" in bad_format.stderr
    backwards = aicmo(tmp_path, "report", "-c", "1", "--from", "2026-03-05", "--to", "2026-03-01")
    assert backwards.returncode == 1 and "before it starts" in backwards.stderr
    missing = aicmo(tmp_path, "report", "-c", "nope")
    assert missing.returncode == 1 and "no campaign 'nope'" in missing.stderr


def test_digest_send_says_when_it_only_wrote_to_the_outbox(tmp_path: Path) -> None:
    _seed(tmp_path)
    run = aicmo(tmp_path, "digest", "send", "--to", "boss@agency.example")
    assert run.returncode == 0, run.stderr
    assert "written to the local outbox" in run.stdout and "not delivered" in run.stdout
    assert "accepted by the SMTP server" not in run.stdout
    assert list((tmp_path / "data" / "outbox").rglob("*.eml"))
    nobody = aicmo(tmp_path, "digest", "send")
    assert nobody.returncode == 2 and "--to ADDRESS" in nobody.stderr
