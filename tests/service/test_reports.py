"""Campaign reports from real rollups (SQLite and PostgreSQL): the numbers in the CSV are
the rollups' for that campaign and period only; an empty period says so; names are text,
never markup or formulas; a section is one function and one line."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from aicmo.cam.domain.events import EventType
from aicmo.cam.domain.rates import rate
from aicmo.errors import NotFoundError, ValidationError
from aicmo.operator_services import accounts
from aicmo.operator_services.analytics.performance import report_period
from aicmo.operator_services.analytics.render import render_csv, render_html, render_pdf
from aicmo.operator_services.analytics.report import (
    SECTIONS,
    Fact,
    Scope,
    Section,
    SectionSource,
    build_report,
)
from tests.report_data import ACTIVITY, CATEGORIES, expected_totals, seed_activity

DAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 20, 9, tzinfo=UTC)


def _sent(which: Callable[[tuple[int, int, str]], bool]) -> int:
    return sum(c.get(EventType.MESSAGE_SENT, 0) for key, c in ACTIVITY.items() if which(key))


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _value(rows: list[dict[str, str]], **match: str) -> float:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return float(found[0]["value"])


def test_the_csv_holds_the_rollups_numbers_of_that_campaign_and_period(db: Session) -> None:
    seeded = seed_activity(db, DAY)
    report = build_report(db, seeded.campaign_id, DAY, seeded.last_day, now=NOW)
    text = render_csv(report)
    rows = _rows(text)
    assert list(rows[0]) == ["section", "day", "step", "channel", "metric", "value"]

    totals = expected_totals()
    bounced = totals["bounced_hard"] + totals["bounced_soft"]
    for metric in ("sent", "delivered", "replied", "positive_replied", "meetings"):
        assert _value(rows, section="summary", metric=metric) == totals[metric], metric
    assert _value(rows, section="summary", metric="bounced") == bounced
    assert _value(rows, section="summary", metric="complained") == totals["complained"]
    assert _value(rows, section="summary", metric="unsubscribed") == totals["unsubscribed"]
    assert _value(rows, section="summary", metric="reply_rate") == rate(
        totals["replied"], totals["sent"]
    )
    assert _value(rows, section="summary", metric="bounce_rate") == rate(bounced, totals["sent"])
    assert totals["sent"] == 83  # the noise (another campaign, days outside) is not in it

    # Funnel: per step, labelled with the step's channel and subject.
    for step, label in ((0, "Step 1 · EMAIL · Quick question"), (1, "Step 2 · LINKEDIN")):
        assert _value(rows, section="funnel", step=label, metric="sent") == _sent(
            lambda key, step=step: key[1] == step  # type: ignore[misc]
        )
    positive = sum(b.get("positive_replied", 0) for k, b in CATEGORIES.items() if k[1] == 0)
    first = "Step 1 · EMAIL · Quick question"
    assert _value(rows, section="funnel", step=first, metric="positive_replied") == positive

    # Rates over time: one row per day and metric, every day of the period (day 2: zeros).
    for offset in range(4):
        day = (DAY + timedelta(days=offset)).isoformat()
        assert _value(rows, section="daily", day=day, metric="sent") == _sent(
            lambda key, offset=offset: key[0] == offset  # type: ignore[misc]
        )
    day1 = (DAY + timedelta(days=1)).isoformat()
    assert _value(rows, section="daily", day=day1, metric="reply_rate") == rate(3, 25)
    quiet = (DAY + timedelta(days=2)).isoformat()
    assert not [r for r in rows if r["day"] == quiet and r["metric"].endswith("_rate")]

    # Channels side by side.
    assert _value(rows, section="channels", channel="EMAIL", metric="sent") == 68
    assert _value(rows, section="channels", channel="LINKEDIN", metric="sent") == 15
    assert _value(rows, section="channels", channel="LINKEDIN", metric="reply_rate") == rate(4, 15)


def test_an_empty_period_gives_a_report_that_says_so(db: Session) -> None:
    seeded = seed_activity(db, DAY)
    since, until = date(2025, 1, 1), date(2025, 1, 31)
    report = build_report(db, seeded.campaign_id, since, until, now=NOW)
    assert not report.has_data
    assert all(section.empty for section in report.sections)
    assert all(not section.charts and not section.tables for section in report.sections)
    page = render_html(report)
    assert "There is no data for this period" in page
    assert "<svg" not in page
    rows = _rows(render_csv(report))
    assert _value(rows, section="summary", metric="sent") == 0  # true zeros, kept
    assert {r["section"] for r in rows} == {"summary"}
    assert render_pdf(report).startswith(b"%PDF-")


def test_names_are_shown_as_text_never_as_markup_or_formulas(db: Session) -> None:
    steps = [
        {"channel": "EMAIL", "template": {"subject": "<img src=x onerror=alert(2)>", "body": "b"}},
    ]
    seeded = seed_activity(db, DAY, name="<script>alert(1)</script> $x^2$", steps=steps)
    report = build_report(db, seeded.campaign_id, DAY, seeded.last_day, now=NOW)
    page = render_html(report)
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; $x^2$" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    steps_shown = {r["step"] for r in _rows(render_csv(report)) if r["step"]}
    assert "Step 1 · EMAIL · <img src=x onerror=alert(2)>" in steps_shown  # CSV: exact text
    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF-")


def test_a_new_section_is_one_function_and_one_line(db: Session) -> None:
    seeded = seed_activity(db, DAY)

    def get_extra(
        db: Session, campaign_id: int, since: date, until: date, *, workspace_id: int
    ) -> dict[str, Any]:
        return {"campaign": campaign_id, "days": (until - since).days + 1}

    def extra_section(data: dict[str, Any], scope: Scope) -> Section:
        facts = (Fact("days", data["days"]), Fact("n", 1, step="=SUM(A1)", channel="+1"))
        return Section("extra", "An extra part", "Added by a test.", facts=facts)

    sections = (
        *SECTIONS,
        SectionSource(
            "extra",
            lambda db, s: get_extra(
                db, s.campaign_id, s.since, s.until, workspace_id=s.workspace_id
            ),
            extra_section,
        ),
    )
    report = build_report(db, seeded.campaign_id, DAY, seeded.last_day, now=NOW, sections=sections)
    assert [s.key for s in report.sections] == [
        "summary",
        "funnel",
        "daily",
        "channels",
        "variants",
        "attribution",
        "extra",
    ]
    assert 'data-section="extra"' in render_html(report)
    rows = _rows(render_csv(report))
    assert _value(rows, section="extra", metric="days") == 4
    # A cell a spreadsheet would run as a formula is kept as text.
    assert _value(rows, section="extra", step="'=SUM(A1)", channel="'+1", metric="n") == 1


def test_a_report_names_a_campaign_of_its_own_workspace_only(db: Session) -> None:
    seeded = seed_activity(db, DAY)
    other = accounts.create_workspace(db, "other")
    with pytest.raises(NotFoundError):
        build_report(db, seeded.campaign_id, DAY, DAY, now=NOW, workspace_id=other["id"])
    with pytest.raises(NotFoundError):
        build_report(db, "no such campaign", DAY, DAY, now=NOW)
    by_name = build_report(db, "Spring outreach", DAY, seeded.last_day, now=NOW)
    assert by_name.campaign["id"] == seeded.campaign_id


def test_the_period_is_checked_and_defaults_to_thirty_days() -> None:
    assert report_period(None, None, today=DAY) == (DAY - timedelta(days=29), DAY)
    assert report_period(DAY, None, today=DAY + timedelta(days=3)) == (
        DAY,
        DAY + timedelta(days=3),
    )
    with pytest.raises(ValidationError, match="before it starts"):
        report_period(DAY, DAY - timedelta(days=1), today=DAY)
    with pytest.raises(ValidationError, match="at most 366 days"):
        report_period(DAY - timedelta(days=366), DAY, today=DAY)
