"""A report opens with its charts drawn: the HTML in headless Chromium (the SVG charts
have plotted bars and lines, the page is not blank, it asks for nothing on the network)
and the PDF rasterised (its pages carry the charts, not blank paper)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pypdfium2
from PIL import Image
from playwright.sync_api import Browser, Dialog
from sqlalchemy.orm import Session

from aicmo.operator_services.analytics.render import render_html, render_pdf
from aicmo.operator_services.analytics.report import build_report
from tests.browser import ink, new_page
from tests.report_data import seed_activity

DAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 20, 9, tzinfo=UTC)

#: The plotted shapes of one chart, as Chromium laid them out: filled bars (matplotlib's
#: patches, less the white backgrounds) and data lines, each with a real size on screen.
SHAPES = """(key) => {
  const svg = document.querySelector(`figure[data-chart="${key}"] svg`);
  const sized = (p) => { const b = p.getBoundingClientRect(); return b.width > 1 && b.height > 1; };
  const bars = [...svg.querySelectorAll('g[id*="patch"] path')].filter(
    (p) => !/fill: *#ffffff/i.test(p.getAttribute("style") || "") && sized(p));
  const lines = [...svg.querySelectorAll('g[id*="line2d"] path')].filter(sized);
  return {bars: bars.length, lines: lines.length};
}"""
#: At least this many bars and lines per chart, for the seeded activity (3 of 4 days with
#: sends, 3 steps, 2 channels).
EXPECTED = {
    "funnel": (10, 0),
    "daily-rates": (0, 3),
    "daily-sent": (3, 0),
    "channels": (6, 0),
}


def test_the_html_report_draws_its_charts_with_data(
    browser: Browser, db: Session, tmp_path: Path
) -> None:
    seeded = seed_activity(db, DAY, name="<script>alert(1)</script> Spring")
    report = build_report(db, seeded.campaign_id, DAY, seeded.last_day, now=NOW)
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(report), encoding="utf-8")
    url = page_file.as_uri()
    with new_page(browser, allow=(url,)) as (page, outside):
        dialogs: list[str] = []

        def on_dialog(dialog: Dialog) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.goto(url)
        charts = page.eval_on_selector_all("figure.chart", "els => els.map(e => e.dataset.chart)")
        assert charts == ["funnel", "daily-rates", "daily-sent", "channels"]
        for key in charts:
            box = page.locator(f'figure[data-chart="{key}"] svg').bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 100, key
            shapes = page.evaluate(SHAPES, key)
            bars, lines = EXPECTED[key]
            assert shapes["bars"] >= bars and shapes["lines"] >= lines, (key, shapes)
        # The four days' sends are four bars of different heights in the daily chart.
        heights = page.evaluate(
            "() => [...document.querySelectorAll("
            '\'figure[data-chart="daily-sent"] svg g[id*="patch"] path\')]'
            ".map((p) => Math.round(p.getBBox().height)).filter((h) => h > 0)"
        )
        assert len(set(heights)) >= 3, heights
        title = page.locator("h1").inner_text()
        assert title == "<script>alert(1)</script> Spring"  # shown as text, never run
        assert dialogs == []
        shot = page.screenshot(full_page=True)
        for key in charts:
            assert ink(page.locator(f'figure[data-chart="{key}"]').screenshot()) > 10, key
        assert outside == []  # self-contained: no font, script or image fetched
    assert ink(shot) > 10


def test_an_empty_report_shows_no_chart_in_the_browser(
    browser: Browser, db: Session, tmp_path: Path
) -> None:
    seeded = seed_activity(db, DAY)
    report = build_report(db, seeded.campaign_id, date(2025, 1, 1), date(2025, 1, 7), now=NOW)
    page_file = tmp_path / "empty.html"
    page_file.write_text(render_html(report), encoding="utf-8")
    with new_page(browser, allow=(page_file.as_uri(),)) as (page, outside):
        page.goto(page_file.as_uri())
        assert page.locator("svg").count() == 0
        assert "There is no data for this period" in page.get_by_test_id("no-data").inner_text()
        assert outside == []


def _page_images(pdf: bytes, scale: float = 1.0) -> list[Image.Image]:
    document = pypdfium2.PdfDocument(io.BytesIO(pdf))
    try:
        return [document[i].render(scale=scale).to_pil() for i in range(len(document))]
    finally:
        document.close()


def _saturated(image: Image.Image) -> int:
    """Pixels of a strong colour (the charts' palette), as opposed to grey text or white."""
    rgb = np.asarray(image.convert("RGB")).astype(int)
    return int(((rgb.max(axis=2) - rgb.min(axis=2)) > 80).sum())


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_the_pdf_report_rasterises_to_pages_with_charts(db: Session) -> None:
    seeded = seed_activity(db, DAY)
    report = build_report(db, seeded.campaign_id, DAY, seeded.last_day, now=NOW)
    pages = _page_images(render_pdf(report))
    assert len(pages) >= 2
    first = pages[0]
    assert ink(_png(first)) > 10
    # The funnel chart sits below the summary table: its region holds colour (the bars
    # are drawn in the palette's blue and orange), not only black text on white.
    assert _saturated(first) > 2000  # saturated pixels: bars, not grey text


def test_an_empty_pdf_report_is_a_page_of_text_without_charts(db: Session) -> None:
    seeded = seed_activity(db, DAY)
    report = build_report(db, seeded.campaign_id, date(2025, 1, 1), date(2025, 1, 7), now=NOW)
    [page] = _page_images(render_pdf(report))
    assert ink(_png(page)) > 3  # the words "no data" are there
    assert _saturated(page) < 200  # the notes' pale fill is not saturated: no chart
