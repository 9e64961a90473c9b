"""The import page in a real browser: upload, the mapping step pre-filled from the file's
headers, the run, and the row report with line-numbered rejections; bad files refused
with a reason and nothing imported."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, expect

from aicmo.operator_services import leads as lead_service
from tests.dashboard import XSS, XSS_SCRIPT, Site, screenshot, signed_in_page

#: Line 1 is the header; lines 3, 4 and 6 are bad (an address without @, markup as the
#: address, no identity); line 5 has a company size that is not a number (a warning).
CSV = (
    "Work Email,First Name,Company Name,Job Title,Employees,Fav Color\n"
    "ana@alpha.example,Ana,Alpha,CEO,51-200,blue\n"
    "not-an-email,Bob,Beta,CTO,10,red\n"
    f"{XSS_SCRIPT},{XSS},Evil,CEO,10,red\n"
    f"cy@gamma.example,{XSS_SCRIPT},Gamma,Founder,lots,green\n"
    ",Nobody,Delta,,,\n"
    "dee@delta.example,Dee,Delta,VP Sales,,\n"
)


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The server's temporary directory (it runs in this process), to see it cleaned."""
    path = tmp_path / "tmp"
    path.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


def test_an_import_maps_the_columns_runs_and_reports_each_bad_row_by_line(
    browser: Browser, site: Site, tmp_path: Path, temp_dir: Path
) -> None:
    upload = tmp_path / "apollo export.csv"
    upload.write_text(CSV, encoding="utf-8")
    with signed_in_page(browser, site) as (page, watch):
        page.goto(f"{site.base}/import")
        page.get_by_label("CSV file").set_input_files(str(upload))
        page.get_by_role("button", name="Upload and check the columns").click()

        # The mapping step: the file's columns, a sample each, the field the import chose.
        expect(page.get_by_role("heading", level=1)).to_have_text("Import apollo export.csv")
        expect(page.get_by_label("Work Email")).to_have_value("email")
        expect(page.get_by_label("First Name")).to_have_value("first_name")
        expect(page.get_by_label("Company Name")).to_have_value("company")
        expect(page.get_by_label("Job Title")).to_have_value("title")
        expect(page.get_by_label("Employees")).to_have_value("company_size")
        expect(page.get_by_label("Fav Color")).to_have_value("custom")
        expect(page.locator("table.mapping tbody tr").first).to_contain_text("ana@alpha.example")
        assert list(temp_dir.iterdir()), "the upload waits in a temporary directory"

        # A mapping that names nobody is refused before anything runs.
        page.get_by_label("Work Email").select_option("-")
        page.get_by_role("button", name="Start the import").click()
        expect(page.get_by_role("alert")).to_contain_text("no column is mapped to Email")
        page.get_by_label("Work Email").select_option("email")
        page.get_by_label("Fav Color").select_option("-")  # skip it
        page.get_by_label("Tag every imported lead (optional)").fill("expo")
        page.get_by_role("button", name="Start the import").click()

        report = page.locator("#import-status")
        expect(report.get_by_role("heading", name="Import report")).to_be_visible(timeout=10_000)
        tiles = page.locator(".tiles li")
        expect(tiles.filter(has_text="Rows read")).to_contain_text("6")
        expect(tiles.filter(has_text="Created")).to_contain_text("3")
        expect(tiles.filter(has_text="Rejected")).to_contain_text("3")
        expect(tiles.filter(has_text="Warnings")).to_contain_text("1")
        rejected = page.locator("#rejected + .table-wrap tbody tr")
        expect(rejected.locator("td:first-child")).to_have_text(["3", "4", "6"])
        expect(rejected.nth(0)).to_contain_text("invalid email 'not-an-email'")
        # The markup in the file is shown as text in the report.
        expect(rejected.nth(1)).to_contain_text(f"invalid email '{XSS_SCRIPT}'")
        expect(rejected.nth(2)).to_contain_text("no email address and no LinkedIn URL")
        warnings = page.locator("#warnings ~ .table-wrap tbody tr").first
        expect(warnings).to_contain_text("5")
        expect(warnings).to_contain_text("lots")
        screenshot(page, "import-report")
        watch.assert_clean()

    # The uploaded file is deleted after the import; the job's state (its report) stays.
    assert not list(temp_dir.rglob("*.csv")), "the uploaded file is deleted after the import"
    assert sorted(p.name for p in temp_dir.glob("*/*")) == ["job.json", "started"]
    with site.db() as db:
        found = {lead["email"]: lead for lead in lead_service.find_leads(db)}
    assert sorted(found) == ["ana@alpha.example", "cy@gamma.example", "dee@delta.example"]
    assert found["ana@alpha.example"]["company_size"] == 51
    assert found["cy@gamma.example"]["first_name"] == XSS_SCRIPT
    assert found["cy@gamma.example"]["custom_fields"] == {"company_size": "lots"}
    assert all(lead["tags"] == ["expo"] for lead in found.values())
    assert "Fav Color" not in found["ana@alpha.example"]["custom_fields"]


def _signed_in(client: httpx.Client, site: Site) -> str:
    client.post("/login", data={"email": site.email, "password": site.password})
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/import").text)
    assert found
    return found.group(1)


#: Files an import cannot use, and what the page says about each.
BAD_FILES = [
    ("empty.csv", b"", "is empty"),
    ("header-only.csv", b"email,first_name\n", "has a header but no rows"),
    ("picture.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not a text CSV"),
    ("book.csv", b"PK\x03\x04" + b"\x00" * 40, "spreadsheet workbook"),
    ("prose.csv", b"Dear team, here are the leads.\nBest, Jo\n", "does not look like"),
    ("excel.csv", "email,company\njo@a.example,Café\n".encode("cp1252"), "encoding below"),
]


def test_a_bad_file_is_refused_with_the_reason_and_nothing_is_kept(
    site: Site, temp_dir: Path
) -> None:
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        token = _signed_in(client, site)
        for name, content, says in BAD_FILES:
            answer = client.post(
                "/import",
                data={"csrf_token": token},
                files={"file": (name, content, "text/csv")},
            )
            assert answer.status_code == 422, (name, answer.text)
            assert says in answer.text, name
            assert name in answer.text
            assert list(temp_dir.iterdir()) == [], name
    with site.db() as db:
        assert lead_service.count_leads(db) == 0


def test_the_encoding_chosen_on_the_form_is_used_and_uploads_need_the_token(
    site: Site, temp_dir: Path
) -> None:
    content = "email,company\njo@a.example,Café\n".encode("cp1252")
    with httpx.Client(base_url=site.base, follow_redirects=False) as client:
        token = _signed_in(client, site)
        refused = client.post("/import", files={"file": ("x.csv", content, "text/csv")})
        assert refused.status_code == 403
        answer = client.post(
            "/import",
            data={"csrf_token": token, "encoding": "cp1252"},
            files={"file": ("excel.csv", content, "text/csv")},
        )
        assert answer.status_code == 303
        mapping = client.get(answer.headers["location"])
        assert "Café" in mapping.text  # the sample, read in the chosen encoding
        job = answer.headers["location"]
        discarded = client.post(f"{job}/discard", data={"csrf_token": token})
        assert discarded.status_code == 303
        assert client.get(job).status_code == 404
    assert list(temp_dir.iterdir()) == []
