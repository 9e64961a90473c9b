"""What the commands share: the console, a session, tables, and the one way data is shown.

Rich reads ``[...]`` as markup and ``:name:`` as an emoji code. Our own messages use
markup; data (a lead's fields, a file name, an error message that quotes a value) must
never be read as markup: ``[/bad]`` would crash the command and ``[link=…]`` would make a
clickable link. Every value that comes from data goes through :func:`esc` (inside a
markup string) or :func:`cell` (a table cell or a whole line); both also show control
characters (an ESC would otherwise reach the terminal) as ``\\xNN``.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any, NoReturn

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, ProgressColumn
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from aicmo.bootstrap import open_session

#: Exit codes (documented in ``aicmo --help`` and the README).
EXIT_OK = 0
#: An operation failed, an import rejected rows, or a check said no.
EXIT_FAILED = 1
#: Unusable input: bad usage, a file that cannot be read, written or used.
EXIT_UNUSABLE = 2
#: An import stopped by an error: the batches before it are kept; run it again.
EXIT_STOPPED = 3

#: Largest campaign or ICP file read (they are a few kilobytes; this bounds a mistake).
MAX_TEXT_FILE = 1 << 20

# emoji=False: ":smile:" in a company name is text, not a picture.
console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, emoji=False)

#: ``--workspace/-w``: the workspace a command acts in (the commands give it a default).
WorkspaceOpt = Annotated[str, typer.Option("--workspace", "-w", help="Workspace slug or id")]
#: The campaign a ``campaign …`` command acts on, declared once so its help reads the same.
CampaignArg = Annotated[str, typer.Argument(help="Campaign name or id")]

# C0 controls but tab and newline, DEL, C1 controls: shown, never sent to the terminal.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _visible(value: object) -> str:
    text = "" if value is None else str(value)
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def esc(value: object) -> str:
    """A data value to put inside a markup string: shown as it is, never as markup."""
    return escape(_visible(value))


def cell(value: object, style: str = "") -> Text:
    """A data value as a table cell or a line of its own: exact text, no markup at all."""
    return Text(_visible(value), style=style)


def fail(message: str, code: int = EXIT_UNUSABLE) -> NoReturn:
    """Print ``error: message`` (as data, never markup) and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {esc(message)}", soft_wrap=True)
    raise typer.Exit(code)


def file_problem(err: OSError) -> str:
    """What went wrong with which file, and what to do, for an OSError on a user's path."""
    name = err.filename if err.filename is not None else "the file"
    reason = err.strerror or str(err)
    hint = {
        errno.ENOENT: "check the path",
        errno.EISDIR: "give a file, not a folder",
        errno.ENOTDIR: "a part of the path is not a folder",
        errno.EACCES: "check its permissions or choose another path",
        errno.EPERM: "check its permissions or choose another path",
        errno.EROFS: "the file system is read-only: choose another path",
        errno.ENOSPC: "the disk is full: free space or choose another path",
    }.get(err.errno or 0, "check the path")
    return f"{name}: {reason.lower()}; {hint}"


def read_text_file(path: Path, what: str) -> str:
    """A small UTF-8 text file the user named (a campaign, an ICP), or a clear exit 2.

    Refuses a missing file, a folder, a file over 1 MiB, and binary or non-UTF-8 content
    (a NUL byte or an undecodable byte: the wrong file was given).
    """
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_TEXT_FILE + 1)
    except OSError as err:
        fail(f"cannot read the {what}: {file_problem(err)}")
    if len(data) > MAX_TEXT_FILE:
        fail(
            f"{path} is over {MAX_TEXT_FILE // 1024} KiB, too large for the {what}: the wrong file?"
        )
    if b"\0" in data:
        fail(f"{path} is a binary file; the {what} is YAML text: the wrong file?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        fail(
            f"{path} is not UTF-8 text (byte 0x{data[err.start]:02x} at offset {err.start}): "
            f"save the {what} as UTF-8"
        )


def open_for_writing(path: Path, what: str) -> IO[str]:
    """Open a file the user named for writing before any work starts, or a clear exit 2."""
    try:
        return path.open("w", encoding="utf-8", newline="")
    except OSError as err:
        fail(f"cannot write the {what}: {file_problem(err)}")


def progress_bar(*columns: str | ProgressColumn, hidden: bool = False) -> Progress:
    """A progress display on stderr, so stdout stays the command's output: gone once done,
    and not drawn at all when stderr is not a terminal (a pipe or a log gets no redraws)."""
    return Progress(
        *columns,
        console=err_console,
        transient=True,
        disable=hidden or not err_console.is_terminal,
    )


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
            cell(lead["id"]),
            cell(name),
            *([cell(lead.get("email") or lead.get("linkedin_url") or "")] if wide else []),
            cell(lead.get("company") or ""),
            cell(lead.get("title") or ""),
            cell(grade, colors.get(grade, "")),
            cell(lead.get("score") if lead.get("score") is not None else ""),
        ]
        if reasons:
            row.append(cell(", ".join(short_reason(r) for r in lead.get("grade_reasons") or [])))
        table.add_row(*row)
    return table
