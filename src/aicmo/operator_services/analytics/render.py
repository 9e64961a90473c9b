"""A report as a file: a self-contained HTML page, a PDF, or tidy CSV rows.

- HTML: one file with its style inline and the charts as inline SVG; it loads nothing
  from anywhere (no script, no font, no CDN) and every value is escaped by Jinja2's
  autoescape (a campaign called ``<script>…`` shows as text).
- PDF: fpdf2 lays out the text and tables (real, selectable text in matplotlib's own
  DejaVu Sans, so any script prints without a system font) and embeds each chart as a
  PNG drawn by matplotlib. Pure Python: no system package, no browser.
- CSV: one row per number, ``section, day, step, channel, metric, value``; a text cell
  that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``) gets a leading
  apostrophe.

An empty period gives a report that says so, with no chart drawn over zeros.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from jinja2 import Environment
from markupsafe import Markup

from aicmo.errors import ValidationError
from aicmo.operator_services.analytics.charts import chart_png, chart_svg
from aicmo.operator_services.analytics.report import Cell, Report, Section

if TYPE_CHECKING:
    from fpdf import FPDF

ReportFormat = Literal["html", "pdf", "csv"]
FORMATS: tuple[ReportFormat, ...] = ("html", "pdf", "csv")


@dataclass(frozen=True, slots=True)
class RenderedReport:
    """The bytes of a report and how to serve or save them."""

    content: bytes
    media_type: str
    filename: str


MEDIA_TYPES: dict[ReportFormat, str] = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
}

CSV_COLUMNS = ("section", "day", "step", "channel", "metric", "value")

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Campaign report: {{ report.campaign.name }}</title>
<style>
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d2330; margin: 0 auto; max-width: 62rem; padding: 1.5rem; }
header { border-bottom: 2px solid #0072B2; margin-bottom: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; }
.meta { color: #5a6272; margin: 0 0 1rem; }
.empty { background: #fff7e0; border-left: 4px solid #E69F00; padding: .6rem .9rem; }
figure { margin: 1rem 0; }
figure svg { width: 100%; height: auto; }
figcaption { color: #5a6272; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; margin: .5rem 0 1rem; }
th, td { border-bottom: 1px solid #e3e6ec; padding: .35rem .5rem; text-align: left;
         overflow-wrap: anywhere; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
th { background: #f3f5f8; }
footer { color: #5a6272; font-size: .85rem; margin-top: 2rem; }
</style>
</head>
<body>
<header>
<h1>{{ report.campaign.name }}</h1>
<p class="meta">Campaign report, {{ report.since.isoformat() }} to
{{ report.until.isoformat() }} (both days included) · campaign #{{ report.campaign.id }},
{{ report.campaign.status }}</p>
</header>
{% if not report.has_data %}
<p class="empty" data-testid="no-data">There is no data for this period: no message was sent,
delivered or answered in this campaign between {{ report.since.isoformat() }} and
{{ report.until.isoformat() }}.</p>
{% endif %}
{% for section in report.sections %}
<section id="{{ section.key }}" data-section="{{ section.key }}">
<h2>{{ section.title }}</h2>
<p>{{ section.description }}</p>
{% if section.empty %}
<p class="empty">{{ section.empty }}</p>
{% else %}
{% for chart in section.charts %}
<figure class="chart" data-chart="{{ chart.key }}" role="img"
 aria-label="{{ chart.title }}">{{ svgs[chart.key] }}
<figcaption>{{ chart.title }}</figcaption></figure>
{% endfor %}
{% for table in section.tables %}
<table>
<thead><tr>{% for column in table.columns %}<th scope="col"
 {%- if loop.index > 1 %} class="n"{% endif %}>{{ column }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in table.rows %}<tr>{% for value in row %}<td
 {%- if loop.index > 1 %} class="n"{% endif %}>{{ value }}</td>{% endfor %}</tr>
{% endfor %}</tbody>
</table>
{% endfor %}
{% endif %}
</section>
{% endfor %}
<footer>Generated {{ generated }} from the daily rollups (metrics_daily). Rates are
percentages of the messages sent.</footer>
</body>
</html>
"""

_env = Environment(autoescape=True, keep_trailing_newline=True)
_template = _env.from_string(_PAGE)


def _file_stem(report: Report) -> str:
    # ASCII only: the name travels in a Content-Disposition header and in shell commands.
    name = "".join(
        c if (c.isascii() and c.isalnum()) or c in "-_" else "-" for c in report.campaign["name"]
    )
    name = "-".join(part for part in name.split("-") if part)[:60] or "campaign"
    return f"report-{name}-{report.since.isoformat()}-{report.until.isoformat()}"


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page."""
    svgs = {
        chart.key: Markup(chart_svg(chart))  # noqa: S704 -- matplotlib's own SVG, text as paths
        for section in report.sections
        if section.empty is None
        for chart in section.charts
    }
    generated = report.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return _template.render(report=report, svgs=svgs, generated=generated)


def _safe_csv(value: str) -> str:
    """Text that a spreadsheet would run as a formula is kept as text."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def render_csv(report: Report) -> str:
    """Tidy rows, one per number: section, day, step, channel, metric, value."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for section in report.sections:
        for fact in section.facts:
            writer.writerow(
                (
                    section.key,
                    fact.day.isoformat() if fact.day else "",
                    _safe_csv(fact.step),
                    _safe_csv(fact.channel),
                    fact.metric,
                    fact.value,
                )
            )
    return out.getvalue()


_FONT = "DejaVu"


def _font_dir() -> Path:
    import matplotlib  # lazy: see _pdf_class

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


@cache
def _pdf_class() -> type[FPDF]:
    """fpdf2's document with our footer; built on first use (see :func:`_font_dir`)."""
    from fpdf import FPDF

    class _Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(_FONT, size=8)
            self.set_text_color(110)
            self.cell(0, 6, f"Page {self.page_no()}/{{nb}}", align="C")

    return _Pdf


def _pdf_table(pdf: FPDF, columns: tuple[str, ...], rows: tuple[tuple[Cell, ...], ...]) -> None:
    from fpdf.fonts import FontFace

    pdf.set_font(_FONT, size=7.5)
    first = 2.2 if len(columns) > 4 else 1.6
    widths = (first, *([1.0] * (len(columns) - 1)))
    with pdf.table(
        col_widths=widths,
        text_align=("LEFT", *(["RIGHT"] * (len(columns) - 1))),
        line_height=4.2,
        first_row_as_headings=True,
        headings_style=FontFace(emphasis="BOLD", fill_color=(243, 245, 248)),
    ) as table:
        table.row([str(c) for c in columns])
        for values in rows:
            table.row([str(v) for v in values])
    pdf.ln(3)


def _pdf_section(pdf: FPDF, section: Section) -> None:
    from fpdf.enums import XPos, YPos

    pdf.set_font(_FONT, "B", 13)
    pdf.set_text_color(20)
    pdf.multi_cell(0, 7, section.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, size=9)
    pdf.set_text_color(70)
    pdf.multi_cell(0, 4.5, section.description, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_text_color(20)
    if section.empty:
        pdf.set_fill_color(255, 247, 224)
        pdf.multi_cell(0, 6, section.empty, fill=True, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.ln(4)
        return
    for chart in section.charts:
        width = pdf.epw
        height = width * 3.4 / 8.0
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
        pdf.image(io.BytesIO(chart_png(chart)), w=width, h=height)
        pdf.set_font(_FONT, size=8)
        pdf.set_text_color(100)
        pdf.cell(0, 5, chart.title, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_text_color(20)
        pdf.ln(2)
    for table in section.tables:
        _pdf_table(pdf, table.columns, table.rows)
    pdf.ln(3)


def render_pdf(report: Report) -> bytes:
    """The report as an A4 PDF: text and tables as text, charts as images."""
    from fpdf.enums import XPos, YPos

    pdf = _pdf_class()(format="A4")
    pdf.set_creation_date(report.generated_at.astimezone(UTC))
    pdf.set_title(f"Campaign report: {report.campaign['name']}")
    pdf.set_author("aicmo")
    fonts = _font_dir()
    pdf.add_font(_FONT, "", fonts / "DejaVuSans.ttf")
    pdf.add_font(_FONT, "B", fonts / "DejaVuSans-Bold.ttf")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.set_margins(16, 16, 16)
    pdf.add_page()
    pdf.set_font(_FONT, "B", 18)
    pdf.multi_cell(0, 9, str(report.campaign["name"]), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(_FONT, size=9.5)
    pdf.set_text_color(90)
    pdf.multi_cell(
        0,
        5,
        f"Campaign report, {report.since.isoformat()} to {report.until.isoformat()} "
        f"(both days included) · campaign #{report.campaign['id']}, "
        f"{report.campaign['status']}",
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(20)
    pdf.ln(4)
    if not report.has_data:
        pdf.set_font(_FONT, "B", 11)
        pdf.multi_cell(
            0,
            6,
            "There is no data for this period: no message was sent, delivered or answered "
            "in this campaign.",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        pdf.ln(4)
    for section in report.sections:
        _pdf_section(pdf, section)
    return bytes(pdf.output())


def render_report(report: Report, fmt: str) -> RenderedReport:
    """The report in one of :data:`FORMATS`.

    Raises:
        ValidationError: an unknown format.
    """
    stem = _file_stem(report)
    if fmt == "html":
        return RenderedReport(
            render_html(report).encode("utf-8"), MEDIA_TYPES["html"], stem + ".html"
        )
    if fmt == "pdf":
        return RenderedReport(render_pdf(report), MEDIA_TYPES["pdf"], stem + ".pdf")
    if fmt == "csv":
        return RenderedReport(render_csv(report).encode("utf-8"), MEDIA_TYPES["csv"], stem + ".csv")
    raise ValidationError(f"the format is one of {', '.join(FORMATS)}, not {fmt!r}", field="format")
