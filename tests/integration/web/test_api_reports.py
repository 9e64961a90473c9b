"""``GET /api/v1/campaigns/{id}/report`` over real HTTP: each format with its content type
and download name, typed query parameters, and the caller's workspace only."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from sqlalchemy.orm import Session

from aicmo.config import get_settings
from aicmo.operator_services import accounts
from aicmo.web.app import create_app
from tests.http_server import serve
from tests.report_data import expected_totals, seed_activity

DAY = date(2026, 3, 2)


@pytest.fixture
def api(db: Session, db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AICMO_DATABASE_URL", db_url)
    get_settings.cache_clear()
    with serve(create_app()) as base:
        yield base


def _key(db: Session, workspace_id: int = 1, role: str = "viewer") -> dict[str, str]:
    key = accounts.create_api_key(db, workspace_id=workspace_id, name=role, role=role)
    return {"Authorization": f"Bearer {key['key']}"}


def test_each_format_comes_with_its_type_and_a_file_name(api: str, db: Session) -> None:
    seeded = seed_activity(db, DAY, name="Spring é <b>")
    viewer = _key(db)
    url = f"{api}/api/v1/campaigns/{seeded.campaign_id}/report"
    period = {"from": DAY.isoformat(), "to": seeded.last_day.isoformat()}
    stem = f"report-Spring-b-{DAY.isoformat()}-{seeded.last_day.isoformat()}"

    page = httpx.get(url, params=period, headers=viewer, timeout=60)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-disposition"] == f'inline; filename="{stem}.html"'
    assert "Spring é &lt;b&gt;" in page.text and "<svg" in page.text

    pdf = httpx.get(url, params={**period, "format": "pdf"}, headers=viewer, timeout=60)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == f'attachment; filename="{stem}.pdf"'
    assert pdf.content.startswith(b"%PDF-")

    sheet = httpx.get(url, params={**period, "format": "csv"}, headers=viewer, timeout=60)
    assert sheet.headers["content-type"] == "text/csv; charset=utf-8"
    assert sheet.headers["content-disposition"] == f'attachment; filename="{stem}.csv"'
    rows = list(csv.DictReader(io.StringIO(sheet.text)))
    [sent] = [r for r in rows if r["section"] == "summary" and r["metric"] == "sent"]
    assert int(sent["value"]) == expected_totals()["sent"]


def test_bad_parameters_are_problems_that_name_the_field(api: str, db: Session) -> None:
    seeded = seed_activity(db, DAY)
    viewer = _key(db)
    url = f"{api}/api/v1/campaigns/{seeded.campaign_id}/report"
    for params, field in (
        ({"format": "docx"}, "format"),
        ({"from": "2026-02-30"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "1066-10-14"}, "from"),
    ):
        r = httpx.get(url, params=params, headers=viewer)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert field in r.text, (params, r.text)
    backwards = httpx.get(url, params={"from": "2026-03-05", "to": "2026-03-01"}, headers=viewer)
    assert backwards.status_code == 422
    assert "before it starts" in backwards.json()["detail"]
    too_long = httpx.get(url, params={"from": "2024-01-01", "to": "2026-01-01"}, headers=viewer)
    assert too_long.status_code == 422


def test_another_workspace_gets_no_report(api: str, db: Session) -> None:
    seeded = seed_activity(db, DAY)
    other = accounts.create_workspace(db, "rival")
    stranger = _key(db, other["id"], "admin")
    r = httpx.get(f"{api}/api/v1/campaigns/{seeded.campaign_id}/report", headers=stranger)
    assert r.status_code == 404
    assert "Spring" not in r.text
    none = httpx.get(f"{api}/api/v1/campaigns/{seeded.campaign_id}/report")
    assert none.status_code == 401
