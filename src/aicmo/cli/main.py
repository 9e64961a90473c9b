"""Command groups: init, db, leads (many), lead (one person), icp, channels, demo."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, DownloadColumn, TextColumn, TimeRemainingColumn
from rich.table import Table

from aicmo import operator_services as ops
from aicmo.bootstrap import engine_for, initialize
from aicmo.cli.common import (
    EXIT_STOPPED,
    EXIT_UNUSABLE,
    cell,
    console,
    db_session,
    err_console,
    esc,
    fail,
    leads_table,
    open_for_writing,
    progress_bar,
    read_text_file,
)
from aicmo.cli.first_admin import first_admin
from aicmo.config import get_settings
from aicmo.db import migrate
from aicmo.errors import AicmoError, ImportFileError, ValidationError
from aicmo.operator_services.crm.importing import ImportReport, RowProblem
from aicmo.operator_services.crm.workspace import icp_to_yaml, parse_icp_yaml
from aicmo.operator_services.leads import EXPORT_COLUMNS, resolve_lead

app = typer.Typer(
    help="aicmo: self-hosted multi-channel outreach with a mini-CRM.",
    epilog=(
        "Exit codes: 0 done; 1 an operation failed, an import rejected rows or a check said "
        "no; 2 unusable input (bad usage, a file that cannot be read, written or used); "
        "3 an import stopped by an error (the batches before it are kept: run it again)."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(
    help="Database schema: upgrade, downgrade, show the revision.", no_args_is_help=True
)
leads_app = typer.Typer(
    help="Many leads at once: import, export, grade, list.", no_args_is_help=True
)
lead_app = typer.Typer(
    help="One person: show, add, set, stage, tag, note, export (JSON), forget (GDPR).",
    no_args_is_help=True,
)
icp_app = typer.Typer(help="The ideal-customer profile used for grading.", no_args_is_help=True)
channels_app = typer.Typer(help="Channel switches and rate limits.", no_args_is_help=True)
suppress_app = typer.Typer(
    help="The do-not-contact list: addresses, domains, LinkedIn profiles.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(leads_app, name="leads")
app.add_typer(lead_app, name="lead")
app.add_typer(icp_app, name="icp")
app.add_typer(channels_app, name="channels")
app.add_typer(suppress_app, name="suppress")
mailbox_app = typer.Typer(help="Sender mailboxes: SMTP out, IMAP in.", no_args_is_help=True)
inbox_app = typer.Typer(
    help="Read replies, bounces and complaints from the mailboxes.", no_args_is_help=True
)
app.add_typer(mailbox_app, name="mailbox")
campaign_app = typer.Typer(
    help="Campaigns: create from YAML, validate, start, pause, status.", no_args_is_help=True
)
attempts_app = typer.Typer(help="Attempts that need the operator.", no_args_is_help=True)
app.add_typer(campaign_app, name="campaign")
app.add_typer(attempts_app, name="attempts")
app.add_typer(inbox_app, name="inbox")

#: The person a ``lead …`` command acts on.
LeadArg = Annotated[str, typer.Argument(help="Lead id, email or LinkedIn URL")]
#: The filters ``leads list`` and ``leads export`` share.
GradesOpt = Annotated[list[str] | None, typer.Option(help="Only these grades. Repeatable.")]
StagesOpt = Annotated[list[str] | None, typer.Option(help="Only these stages. Repeatable.")]
TagOpt = Annotated[str | None, typer.Option(help="Only leads with this tag")]


# --- init / db ---------------------------------------------------------------------------


@app.command()
def init() -> None:
    """Create the database (or bring it up to date), the secret key and the defaults."""
    settings = get_settings()
    info = initialize(settings)
    console.print(f"[bold green]aicmo is ready.[/] Database: {esc(info['database_url'])}")
    console.print(f"Schema revision: {info['revision']} (was {info['revision_before'] or 'empty'})")
    if info["secret_key_written"]:
        console.print(
            f"Secret key written to {esc(info['secret_key_written'])} (mode 0600); keep it safe."
        )
    created = info["created"]
    if created["channel_configs"]:
        console.print(
            f"Channel configs created: {', '.join(created['channel_configs'])} (100/hour, 500/day)"
        )
    if created["sequence"]:
        console.print("Sequence 'default' created: Email → LinkedIn → Contact form")
    if created["icp"]:
        console.print("Default ideal-customer profile stored (see `aicmo icp show`).")
    for path in info["made_private"]:
        console.print(f"Made {esc(path)} readable by its owner only (0600).")
    if info["data_dir_note"]:
        err_console.print(f"[yellow]warning:[/] {esc(info['data_dir_note'])}")
    first_admin()


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="Target revision")] = "head") -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    engine = engine_for()
    migrate.upgrade(engine, revision)
    console.print(f"Database at revision {migrate.current_revision(engine)}.")


@db_app.command("downgrade")
def db_downgrade(
    revision: Annotated[str, typer.Argument(help="Target revision, e.g. base or -1")],
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this drops data")] = False,
) -> None:
    """Revert migrations down to REVISION (drops the tables they created)."""
    if not yes:
        err_console.print("[red]downgrade drops tables and their data; add --yes to confirm[/]")
        raise typer.Exit(2)
    engine = engine_for()
    migrate.downgrade(engine, revision)
    console.print(f"Database at revision {migrate.current_revision(engine) or 'base (empty)'}.")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the latest one this aicmo knows."""
    engine = engine_for()
    console.print(
        f"current: {migrate.current_revision(engine) or 'empty'}  head: {migrate.head_revision()}"
    )


# --- leads ---------------------------------------------------------------------------------


def print_import_report(report: ImportReport, *, max_lines: int = 50) -> None:
    mapped = ", ".join(f"{h} → {t}" for h, t in report.mapping)
    console.print(f"[dim]Columns: {esc(mapped)}[/]")
    delim = {"\t": "tab"}.get(report.delimiter, report.delimiter)
    console.print(f"[dim]Encoding {esc(report.encoding)}, delimiter '{esc(delim)}'[/]")
    summary = Table(title="Import report", show_header=False)
    summary.add_row("rows read", str(report.rows))
    summary.add_row("[green]imported (new)[/]", str(report.created))
    summary.add_row("updated", str(report.updated))
    summary.add_row("skipped duplicates (nothing new)", str(report.unchanged))
    summary.add_row("merged duplicates within the file", str(report.merged_in_file))
    summary.add_row("[red]rejected[/]", str(report.rejected_count))
    summary.add_row("warnings", str(report.warning_count))
    console.print(summary)
    if report.rejected:
        _print_row_problems(
            "Rejected rows (nothing was imported from these lines)",
            "reason",
            report.rejected,
            report.rejected_count,
            "more: use --rejects FILE to get them all",
            max_lines,
        )
    if report.warnings:
        _print_row_problems(
            "Warnings (rows imported; the value was kept as a custom field)",
            "warning",
            report.warnings,
            report.warning_count,
            "more warnings",
            max_lines,
        )


def _print_row_problems(
    title: str,
    column: str,
    problems: list[RowProblem],
    total: int,
    more: str,
    max_lines: int,
) -> None:
    """The first ``max_lines`` problem rows of an import, then how many were not shown
    (``total`` counts them all: the report keeps only the first thousand)."""
    table = Table(title=title)
    table.add_column("line", justify="right")
    table.add_column(column)
    for problem in problems[:max_lines]:
        table.add_row(str(problem.line), cell(problem.message))
    console.print(table)
    if total > max_lines:
        console.print(f"… and {total - max_lines} {more}")


@leads_app.command("import")
def leads_import(
    file: Annotated[
        Path, typer.Argument(help="CSV file (Apollo, Sales Navigator, HubSpot or your own)")
    ],
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map", help='Map a column: "Source Column=field" (field "-" skips it). Repeatable.'
        ),
    ] = None,
    encoding: Annotated[
        str | None, typer.Option(help="File encoding (default: UTF-8, BOM or not)")
    ] = None,
    delimiter: Annotated[
        str | None, typer.Option(help="Delimiter (default: sniffed from , ; tab | :)")
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="Source to record on new leads, e.g. apollo-2026-11")
    ] = None,
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="Tag every imported lead. Repeatable.")
    ] = None,
    rejects: Annotated[
        Path | None, typer.Option(help="Write every rejected row (line, reason, cells) to this CSV")
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Import leads from a CSV. Exit code 0: every row imported or a known duplicate;
    1: some rows rejected (listed with their line); 2: the file is unusable (nothing
    imported); 3: an error stopped the import (the batches before it are kept: run it
    again, nothing is duplicated). Another writer holding the database is waited for."""
    size = file.stat().st_size if file.is_file() else 0
    rejects_fh = open_for_writing(rejects, "rejects file") if rejects else None
    try:
        with db_session() as db:
            progress = progress_bar(
                TextColumn("[bold]importing[/]"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                hidden=json_out,
            )
            with progress:
                task = progress.add_task("import", total=size or None)
                report = ops.import_leads_csv(
                    db,
                    file,
                    column_map=map_ or (),
                    encoding=encoding,
                    delimiter=delimiter,
                    source=source,
                    tags=tag or (),
                    rejects_out=rejects_fh,
                    on_progress=lambda done: progress.update(task, completed=done),
                )
    except ImportFileError:
        raise
    except AicmoError as err:
        fail(
            f"the import stopped: {err.message}. The batches before it are kept; run the "
            "same command again to complete it (nothing is duplicated).",
            EXIT_STOPPED,
        )
    finally:
        if rejects_fh is not None:
            rejects_fh.close()
    if json_out:
        data = report.as_dict()
        data["rejected_rows"] = [{"line": p.line, "reason": p.message} for p in report.rejected]
        data["warning_rows"] = [{"line": p.line, "warning": p.message} for p in report.warnings]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        print_import_report(report)
    raise typer.Exit(report.exit_code)


@leads_app.command("export")
def leads_export(
    file: Annotated[
        Path | None, typer.Argument(help="Output CSV (default: standard output)")
    ] = None,
    grade: GradesOpt = None,
    stage: StagesOpt = None,
    tag: TagOpt = None,
) -> None:
    """Write leads as CSV (re-importable; custom fields as custom:NAME columns)."""
    with db_session() as db:
        if file is None:
            count = ops.export_leads_csv(db, sys.stdout, grade=grade, stage=stage, tag=tag)
        else:
            with open_for_writing(file, "export file") as fh:
                count = ops.export_leads_csv(db, fh, grade=grade, stage=stage, tag=tag)
    err_console.print(f"exported {count} lead(s)" + (f" to {esc(file)}" if file else ""))


@leads_app.command("grade")
def leads_grade(
    show: Annotated[int, typer.Option(help="Show the N best leads afterwards (0: none)")] = 20,
) -> None:
    """Regrade every lead against the ideal-customer profile and their engagement."""
    with db_session() as db:
        total = ops.count_leads(db)
        with progress_bar(
            TextColumn("[bold]grading[/]"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
        ) as progress:
            task = progress.add_task("grade", total=total)
            result = ops.grade_leads(db, on_progress=lambda n: progress.advance(task, n))
        g = result["grades"]
        console.print(
            f"Graded {result['graded']} lead(s), {result['changed']} changed: "
            f"[bold green]A {g['A']}[/]  [green]B {g['B']}[/]  "
            f"[yellow]C {g['C']}[/]  [red]D {g['D']}[/]"
        )
        if show and result["graded"]:
            console.print(leads_table(ops.find_leads(db, limit=show), title=f"Top {show}"))


@leads_app.command("list")
def leads_list(
    grade: GradesOpt = None,
    stage: StagesOpt = None,
    tag: TagOpt = None,
    search: Annotated[
        str | None,
        typer.Option(help="Start of an email, first or last name, or company (any case)"),
    ] = None,
    limit: Annotated[int, typer.Option(help="How many")] = 50,
) -> None:
    """List leads, best grade first."""
    with db_session() as db:
        leads = ops.find_leads(db, grade=grade, stage=stage, tag=tag, search=search, limit=limit)
    console.print(leads_table(leads, reasons=False))


# --- lead ------------------------------------------------------------------------------------


#: Export columns `lead show` leaves out (shown elsewhere, or not useful on screen).
_NOT_SHOWN = frozenset({"id", "tags", "created_at", "updated_at"})


def _show(lead: dict[str, Any]) -> None:
    table = Table(show_header=False, title=f"Lead #{lead['id']}")
    for key in EXPORT_COLUMNS:
        if key in _NOT_SHOWN:
            continue
        if lead.get(key) not in (None, ""):
            table.add_row(key, cell(lead[key]))
    if lead.get("tags"):
        table.add_row("tags", cell(", ".join(lead["tags"])))
    for name, value in (lead.get("custom_fields") or {}).items():
        table.add_row(cell(f"custom: {name}"), cell(value))
    console.print(table)
    if lead.get("grade_reasons"):
        why = ", ".join(lead["grade_reasons"])
        console.print(cell(f"Why {lead.get('grade') or '?'}: {why}"))
    for note in lead.get("notes") or []:
        console.print(
            f"[dim]{note['created_at']:%Y-%m-%d %H:%M} {esc(note.get('author') or '')}[/] "
            f"{esc(note['body'])}"
        )


@lead_app.command("show")
def lead_show(ref: LeadArg) -> None:
    """Show one lead, its grade and why, its tags and notes."""
    with db_session() as db:
        _show(ops.get_lead(db, ref))


def _fields(pairs: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise typer.BadParameter(f"{pair!r}: write field=value")
        out[name.strip()] = value
    return out


@lead_app.command("add")
def lead_add(
    fields: Annotated[
        list[str],
        typer.Argument(help="field=value pairs, e.g. email=jo@acme.example first_name=Jo"),
    ],
    tag: Annotated[list[str] | None, typer.Option("--tag", help="Tag. Repeatable.")] = None,
) -> None:
    """Create a lead."""
    with db_session() as db:
        _show(ops.create_lead(db, tags=tag or (), **_fields(fields)))


@lead_app.command("set")
def lead_set(
    ref: LeadArg,
    fields: Annotated[list[str], typer.Argument(help="field=value pairs; field= clears it")],
) -> None:
    """Change fields of a lead (it is regraded)."""
    with db_session() as db:
        lead = resolve_lead(db, ref)
        _show(ops.update_lead(db, lead.id, **_fields(fields)))


@lead_app.command("stage")
def lead_stage(
    ref: LeadArg,
    stage: Annotated[str, typer.Argument(help="NEW CONTACTED ENGAGED QUALIFIED MEETING WON LOST")],
) -> None:
    """Move a lead to another stage."""
    with db_session() as db:
        lead = resolve_lead(db, ref)
        result = ops.set_stage(db, lead.id, stage)
    console.print(f"Lead #{result['id']} is now {result['stage']}.")


@lead_app.command("tag")
def lead_tag(
    ref: LeadArg,
    tags: Annotated[list[str], typer.Argument(help="Tags to add")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove these tags instead")] = False,
) -> None:
    """Add (or --remove) tags."""
    with db_session() as db:
        lead = resolve_lead(db, ref)
        result = ops.remove_tags(db, lead.id, tags) if remove else ops.add_tags(db, lead.id, tags)
    console.print(f"Lead #{result['id']} tags: {esc(', '.join(result['tags']) or '(none)')}")


@lead_app.command("note")
def lead_note(
    ref: LeadArg,
    text: Annotated[str, typer.Argument(help="The note")],
    author: Annotated[str | None, typer.Option(help="Who wrote it")] = None,
) -> None:
    """Add a note to a lead."""
    with db_session() as db:
        lead = resolve_lead(db, ref)
        ops.add_note(db, lead.id, text, author=author)
    console.print(f"Note added to lead #{lead.id}.")


@lead_app.command("export")
def lead_export(
    ref: LeadArg,
    file: Annotated[
        Path | None, typer.Argument(help="JSON file (default: standard output)")
    ] = None,
) -> None:
    """Write everything held about one person as JSON (GDPR access request)."""
    with db_session() as db:
        data = ops.export_person(db, ref)
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if file is None:
        sys.stdout.write(text)
    else:
        with open_for_writing(file, "export file") as fh:
            os.chmod(file, 0o600)  # personal data: before it is written
            fh.write(text)
        err_console.print(f"Wrote {esc(file)}")


@lead_app.command("forget")
def lead_forget(
    ref: LeadArg,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: this cannot be undone")] = False,
) -> None:
    """Erase a person (GDPR): their data goes, a salted hash keeps them suppressed."""
    if not yes:
        err_console.print("[red]forget erases this person's data for good; add --yes to confirm[/]")
        raise typer.Exit(2)
    with db_session() as db:
        result = ops.forget_person(db, ref)
    console.print(
        f"Lead #{result['lead_id']} erased: {result['messages_blanked']} message(s) and "
        f"{result['events_blanked']} event(s) blanked; suppressed by hash "
        f"({', '.join(result['suppressed_by_hash'])}); "
        f"{result['outbox_files_erased']} outbox file(s) deleted."
    )
    for left in result["outbox_files_left"]:
        err_console.print(f"[yellow]could not delete an outbox file, remove it by hand:[/] {left}")
    if result["wal_truncated"] is False:
        err_console.print(
            "[yellow]a reader kept the database busy: older copies of the erased data stay "
            "in the write-ahead log until its next checkpoint (stop `aicmo serve` and "
            "`aicmo worker`, then run any command)[/]"
        )


# --- suppression -----------------------------------------------------------------------------


@suppress_app.command("add")
def suppress_add(
    value: Annotated[str, typer.Argument(help="Email, domain (acme.example) or LinkedIn URL")],
    reason: Annotated[
        str, typer.Option(help="MANUAL, UNSUBSCRIBED, HARD_BOUNCE, COMPLAINED")
    ] = "MANUAL",
    note: Annotated[str | None, typer.Option(help="Why, for the record")] = None,
) -> None:
    """Never contact this address, domain or profile again, in any campaign."""
    with db_session() as db:
        row = ops.add_suppression(db, value, reason=reason, note=note)
    state = "added" if row["created"] else "already suppressed"
    console.print(f"{row['kind'].lower()} {esc(row['value'])}: {state} ({row['reason']})")


@suppress_app.command("remove")
def suppress_remove(
    value: Annotated[str, typer.Argument(help="Email, domain or LinkedIn URL")],
) -> None:
    """Lift a suppression (recorded on the audit trail)."""
    with db_session() as db:
        row = ops.remove_suppression(db, value)
    console.print(f"{row['kind'].lower()} {esc(row['value'])} removed from the suppression list")


@suppress_app.command("list")
def suppress_list(
    reason: Annotated[str | None, typer.Option(help="Only this reason")] = None,
    limit: Annotated[int, typer.Option(help="How many")] = 100,
) -> None:
    """Show the suppression list, newest first."""
    with db_session() as db:
        rows = ops.list_suppressions(db, reason=reason, limit=limit)
    table = Table(title="Suppression list")
    for col in ("kind", "value", "reason", "source", "since"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["kind"],
            cell(r["value"]),
            r["reason"],
            cell(r["source"] or ""),
            f"{r['created_at']:%Y-%m-%d}",
        )
    console.print(table)


@suppress_app.command("check")
def suppress_check(value: Annotated[str, typer.Argument(help="Email or LinkedIn URL")]) -> None:
    """Say whether an address or profile may be contacted. Exit 1 when suppressed."""
    with db_session() as db:
        if "linkedin.com" in value.lower():
            hit = ops.check_suppression(db, linkedin_url=value)
        else:
            hit = ops.check_suppression(db, email=value)
    if hit is None:
        console.print(f"{esc(value)}: not suppressed")
        return
    console.print(
        f"{esc(value)}: suppressed ({hit['kind'].lower()} {esc(hit['value'])}, {hit['reason']})"
    )
    raise typer.Exit(1)


# --- mailboxes and inbox --------------------------------------------------------------------


@icp_app.command("show")
def icp_show() -> None:
    """Print the profile as YAML (edit it and load it back with `aicmo icp set`)."""
    with db_session() as db:
        sys.stdout.write(icp_to_yaml(ops.get_icp(db)))


@icp_app.command("set")
def icp_set(
    file: Annotated[Path, typer.Argument(help="YAML file, as printed by `aicmo icp show`")],
    regrade: Annotated[bool, typer.Option(help="Regrade every lead afterwards")] = True,
) -> None:
    """Store a new ideal-customer profile and regrade the leads. Exit code 2: the file
    cannot be read or is not a valid profile (the field is named)."""
    try:
        icp = parse_icp_yaml(read_text_file(file, "ICP file"))
    except ValidationError as err:
        fail(f"{file}: {err.message}", EXIT_UNUSABLE)
    with db_session() as db:
        ops.set_icp(db, icp)
        console.print("Ideal-customer profile stored.")
        if regrade:
            result = ops.grade_leads(db)
            console.print(f"Regraded {result['graded']} lead(s), {result['changed']} changed.")


__all__ = ["app", "print_import_report"]
