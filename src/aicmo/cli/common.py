"""What the commands share: the console, a session, tables."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy.orm import Session

from aicmo.bootstrap import open_session

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@contextmanager
def db_session() -> Iterator[Session]:
    with open_session() as db:
        yield db


def short_reason(reason: str) -> str:
    """'+30 title is VP (VP Sales)' → '+30 title is VP': the table keeps one line per lead."""
    return reason.split(" (", 1)[0]


def leads_table(
    leads: list[dict[str, Any]], *, title: str | None = None, reasons: bool = True
) -> Table:
    wide = console.width >= 150
    reasons = reasons and wide
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("id", justify="right", style="dim", min_width=2, no_wrap=True)
    table.add_column("name", no_wrap=True, min_width=8, max_width=16, overflow="ellipsis")
    if wide:
        table.add_column("email / LinkedIn", no_wrap=True, max_width=34, overflow="ellipsis")
    table.add_column("company", no_wrap=True, min_width=8, max_width=16, overflow="ellipsis")
    table.add_column("title", no_wrap=True, min_width=8, max_width=18, overflow="ellipsis")
    table.add_column("grade", justify="center", min_width=5, no_wrap=True)
    table.add_column("score", justify="right", min_width=5, no_wrap=True)
    if reasons:
        table.add_column("why", no_wrap=True, overflow="ellipsis", max_width=70)
    colors = {"A": "bold green", "B": "green", "C": "yellow", "D": "red"}
    for lead in leads:
        name = " ".join(p for p in (lead.get("first_name"), lead.get("last_name")) if p)
        grade = lead.get("grade") or "-"
        row = [
            str(lead["id"]),
            name,
            *([lead.get("email") or lead.get("linkedin_url") or ""] if wide else []),
            lead.get("company") or "",
            lead.get("title") or "",
            f"[{colors.get(grade, '')}]{grade}[/]" if grade in colors else grade,
            str(lead.get("score") if lead.get("score") is not None else ""),
        ]
        if reasons:
            row.append(", ".join(short_reason(r) for r in lead.get("grade_reasons") or []))
        table.add_row(*row)
    return table
