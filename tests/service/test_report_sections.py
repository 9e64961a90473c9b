"""The report's A/B and attribution sections come from the same services as `aicmo
campaign ab` and `aicmo attribution`, on a real history (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from aicmo.cam import repository as repo
from aicmo.operator_services import campaigns
from aicmo.operator_services.analytics.abtest import variant_results
from aicmo.operator_services.analytics.attribution import attribution_report
from aicmo.operator_services.analytics.render import render_csv, render_html
from aicmo.operator_services.analytics.report import Section, build_report
from tests.attribution_history import make_history, set_costs

NOW = datetime(2026, 12, 5, 9, tzinfo=UTC)
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def section(report_sections: tuple[Section, ...], key: str) -> Section:
    (found,) = [s for s in report_sections if s.key == key]
    return found


def facts(text: str, section_key: str) -> dict[tuple[str, str], float]:
    rows = csv.DictReader(io.StringIO(text))
    return {
        (r["step"], r["metric"]): float(r["value"]) for r in rows if r["section"] == section_key
    }


def test_the_attribution_section_is_the_attribution_report_of_the_campaign(db: Session) -> None:
    history = make_history(db)
    set_costs(db)
    name = campaigns.campaign_status(db, history["campaign_id"])["name"]
    for model in ("linear", "first_touch"):
        report = build_report(db, name, *NOVEMBER, now=NOW, model=model)
        part = section(report.sections, "attribution")
        assert part.empty is None
        assert model.replace("_", " ") + " model" in part.description
        expected = attribution_report(
            db, model=model, date_from=NOVEMBER[0], date_to=NOVEMBER[1], campaign=name
        )
        (table,) = part.tables
        assert len(table.rows) == len(expected["rows"]) > 0
        got = facts(render_csv(report), "attribution")
        for metric in ("replies", "positive_replies", "meetings", "won_deals", "won_value"):
            assert got[("", metric)] == float(expected["totals"][metric]), (model, metric)
        assert got[("", "won_value")] > 0  # the won deal of the history is credited here


def test_the_variants_section_shows_each_arm_and_the_verdict(db: Session) -> None:
    steps = [
        {
            "channel": "EMAIL",
            "template": {"subject": "Hello", "body": "Body A"},
            "variants": [{"name": "A"}, {"name": "B", "body": "Body B"}],
        }
    ]
    start = datetime(2026, 11, 23, 9, tzinfo=UTC)
    created = campaigns.create_campaign(
        db,
        "AB report",
        steps=steps,
        settings={"ab_test": {"baseline_rate": 0.10, "min_effect": 0.10}},
        now=start,
    )
    day = start.date()
    for variant, sent, positive in (("A", 210, 15), ("B", 210, 42)):
        for column, n in (("sent", sent), ("positive_replied", positive)):
            repo.bump_metric(
                db,
                workspace_id=1,
                day=day,
                channel="EMAIL",
                column=column,
                campaign_id=created["id"],
                step_index=0,
                variant=variant,
                mailbox_id=None,
                by=n,
            )
    db.commit()
    report = build_report(db, "AB report", day, day + timedelta(days=1), now=NOW)
    part = section(report.sections, "variants")
    assert part.empty is None
    (step,) = variant_results(db, created["id"])["steps"]
    verdict, arms = part.tables
    assert verdict.rows == (("Step 1", step["verdict"]),)
    assert step["verdict"].startswith("B is better")
    assert [row[:4] for row in arms.rows] == [("A", 1, 210, 15), ("B", 1, 210, 42)]
    (chart,) = part.charts
    assert chart.categories == ("A", "B")
    assert chart.series[0].values == pytest.approx((100 * 15 / 210, 100 * 42 / 210))
    got = facts(render_csv(report), "variants")
    assert got[("Step 1", "variant_B_sent")] == 210
    assert got[("Step 1", "variant_B_successes")] == 42
    assert "B is better" in render_html(report)


def test_a_campaign_without_variants_says_so(db: Session) -> None:
    steps = [{"channel": "EMAIL", "template": {"subject": "Hi", "body": "One"}}]
    campaigns.create_campaign(db, "Plain", steps=steps, now=NOW)
    report = build_report(db, "Plain", *NOVEMBER, now=NOW)
    assert section(report.sections, "variants").empty == "No step of this campaign has variants."
    assert section(report.sections, "attribution").empty is not None
    assert report.has_data is False
