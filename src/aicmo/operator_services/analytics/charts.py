"""A report's charts drawn with matplotlib: SVG for the HTML page, PNG for the PDF.

No pyplot and no global state: each chart is its own ``Figure`` rendered straight to
bytes (a lock serialises drawing, since matplotlib's font and text caches are shared and
the API renders from several threads). Labels are data (campaign and step names), so
mathtext is off for every text (a ``$`` in a subject stays a dollar sign) and the SVG
draws text as paths: it holds no text or markup of its own to inject. Each SVG's ids are
prefixed with the chart's key, so several charts inline in one page never share an id.
Works offline: the fonts are matplotlib's own (DejaVu Sans). matplotlib is imported on
the first chart, not with the module: it costs most of a second, and every CLI command
would pay it at start-up.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from aicmo.operator_services.analytics.report import Chart

if TYPE_CHECKING:
    from matplotlib.figure import Figure

#: Okabe & Ito's palette: told apart by people with colour-blindness, and in grey print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
#: Inches: fits an A4 page's text width and a laptop screen.
SIZE = (8.0, 3.4)
#: Characters of a category label kept on the axis (the table has the full text).
LABEL_CHARS = 28

_lock = threading.Lock()
_ID = re.compile(r'\bid="([^"]+)"')
_REF = re.compile(r'(url\(#|href="#)([^")]+)')


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def _every(n: int, most: int = 12) -> int:
    """Show every k-th category label so at most ``most`` are written."""
    return max(1, -(-n // most))


def _figure(chart: Chart) -> Figure:
    from matplotlib.figure import Figure  # lazy: see the module doc
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    positions = list(range(len(chart.categories)))
    count = max(1, len(chart.series))
    width = 0.8 / count
    for index, series in enumerate(chart.series):
        colour = PALETTE[index % len(PALETTE)]
        if chart.kind == "bar":
            offset = (index - (count - 1) / 2) * width
            ax.bar(
                [p + offset for p in positions],
                series.values,
                width=width,
                label=series.name,
                color=colour,
            )
        else:
            ax.plot(
                positions,
                series.values,
                label=series.name,
                color=colour,
                linewidth=1.8,
                marker="o" if len(positions) <= 31 else None,
                markersize=3.5,
            )
    step = _every(len(positions))
    shown = positions[::step]
    labels: Sequence[str] = [_short(chart.categories[p]) for p in shown]
    rotate = any(len(label) > 10 for label in labels) or len(shown) > 6
    ax.set_xticks(
        shown,
        labels,
        parse_math=False,
        rotation=30 if rotate else 0,
        ha="right" if rotate else "center",
        fontsize=8,
    )
    ax.set_ylabel(chart.unit, parse_math=False)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=chart.unit != "%"))
    if chart.unit == "%":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g} %"))
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if len(chart.series) > 1:
        legend = ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1, 1))
        for text in legend.get_texts():
            text.set_parse_math(False)
    return fig


def chart_svg(chart: Chart) -> str:
    """The chart as an ``<svg>`` element to inline in HTML (no XML prologue)."""
    buffer = io.BytesIO()
    with _lock:
        _figure(chart).savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue().decode("utf-8")
    svg = text[text.index("<svg") :]
    prefix = re.sub(r"[^A-Za-z0-9_-]", "-", chart.key) + "-"
    svg = _ID.sub(lambda m: f'id="{prefix}{m.group(1)}"', svg)
    return _REF.sub(lambda m: f"{m.group(1)}{prefix}{m.group(2)}", svg)


def chart_png(chart: Chart, *, dpi: int = 200) -> bytes:
    """The chart as a PNG image (for the PDF)."""
    buffer = io.BytesIO()
    with _lock:
        _figure(chart).savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()
