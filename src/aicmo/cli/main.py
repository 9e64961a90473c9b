"""Command groups: init, db, leads (many), lead (one person), icp, channels, demo."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from aicmo import operator_services as ops
from aicmo.app import engine_for, initialize, open_session
from aicmo.cli.common import console, db_session, err_console, leads_table
from aicmo.config import get_settings
from aicmo.db import migrate
from aicmo.operator_services import campaigns as ops_campaigns
from aicmo.operator_services import mailboxes as ops_mailboxes
from aicmo.operator_services.engine import list_unknown_attempts
from aicmo.operator_services.importing import ImportReport
from aicmo.operator_services.inbox import check_mailbox, poll_all, poll_mailbox
from aicmo.operator_services.leads import EXPORT_COLUMNS, resolve_lead
from aicmo.operator_services.workspace import icp_to_yaml, parse_icp_yaml
from aicmo.web.app import create_app
from aicmo.worker import WorkerOptions, configure_logging, run_worker

app = typer.Typer(
    help="aicmo: self-hosted multi-channel outreach with a mini-CRM.",
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


# --- init / db ---------------------------------------------------------------------------


@app.command()
def init() -> None:
    """Create the database (or bring it up to date), the secret key and the defaults."""
    settings = get_settings()
    info = initialize(settings)
    console.print(f"[bold green]aicmo is ready.[/] Database: {info['database_url']}")
    console.print(f"Schema revision: {info['revision']} (was {info['revision_before'] or 'empty'})")
    if info["secret_key_written"]:
        console.print(
            f"Secret key written to {info['secret_key_written']} (mode 0600); keep it safe."
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
    console.print(f"[dim]Columns: {mapped}[/]")
    delim = {"\t": "tab"}.get(report.delimiter, report.delimiter)
    console.print(f"[dim]Encoding {report.encoding}, delimiter '{delim}'[/]")
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
        table = Table(title="Rejected rows (nothing was imported from these lines)")
        table.add_column("line", justify="right")
        table.add_column("reason")
        for problem in report.rejected[:max_lines]:
            table.add_row(str(problem.line), problem.message)
        console.print(table)
        if report.rejected_count > max_lines:
            console.print(
                f"… and {report.rejected_count - max_lines} more: "
                "use --rejects FILE to get them all"
            )
    if report.warnings:
        table = Table(title="Warnings (rows imported; the value was kept as a custom field)")
        table.add_column("line", justify="right")
        table.add_column("warning")
        for problem in report.warnings[:max_lines]:
            table.add_row(str(problem.line), problem.message)
        console.print(table)
        if report.warning_count > max_lines:
            console.print(f"… and {report.warning_count - max_lines} more warnings")


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
    """Import leads from a CSV. Exit code 0: all rows fine, 1: some rejected, 2: file unusable."""
    size = file.stat().st_size if file.is_file() else 0
    rejects_fh = rejects.open("w", encoding="utf-8", newline="") if rejects else None
    try:
        with db_session() as db:
            progress = Progress(
                TextColumn("[bold]importing[/]"),
                BarColumn(),
                DownloadColumn(),
                TimeRemainingColumn(),
                console=err_console,
                transient=True,
                disable=json_out or not err_console.is_terminal,
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
    grade: Annotated[list[str] | None, typer.Option(help="Only these grades. Repeatable.")] = None,
    stage: Annotated[list[str] | None, typer.Option(help="Only these stages. Repeatable.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only leads with this tag")] = None,
) -> None:
    """Write leads as CSV (re-importable; custom fields as custom:NAME columns)."""
    with db_session() as db:
        if file is None:
            count = ops.export_leads_csv(db, sys.stdout, grade=grade, stage=stage, tag=tag)
        else:
            with file.open("w", encoding="utf-8", newline="") as fh:
                count = ops.export_leads_csv(db, fh, grade=grade, stage=stage, tag=tag)
    err_console.print(f"exported {count} lead(s)" + (f" to {file}" if file else ""))


@leads_app.command("grade")
def leads_grade(
    show: Annotated[int, typer.Option(help="Show the N best leads afterwards (0: none)")] = 20,
) -> None:
    """Regrade every lead against the ideal-customer profile and their engagement."""
    with db_session() as db:
        total = ops.count_leads(db)
        with Progress(
            TextColumn("[bold]grading[/]"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
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
    grade: Annotated[list[str] | None, typer.Option(help="Only these grades. Repeatable.")] = None,
    stage: Annotated[list[str] | None, typer.Option(help="Only these stages. Repeatable.")] = None,
    tag: Annotated[str | None, typer.Option(help="Only leads with this tag")] = None,
    search: Annotated[str | None, typer.Option(help="Text in name, email or company")] = None,
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
            table.add_row(key, str(lead[key]))
    if lead.get("tags"):
        table.add_row("tags", ", ".join(lead["tags"]))
    for name, value in (lead.get("custom_fields") or {}).items():
        table.add_row(f"custom: {name}", str(value))
    console.print(table)
    if lead.get("grade_reasons"):
        console.print("Why " + (lead.get("grade") or "?") + ": " + ", ".join(lead["grade_reasons"]))
    for note in lead.get("notes") or []:
        console.print(
            f"[dim]{note['created_at']:%Y-%m-%d %H:%M} {note.get('author') or ''}[/] {note['body']}"
        )


@lead_app.command("show")
def lead_show(ref: Annotated[str, typer.Argument(help="Lead id, email or LinkedIn URL")]) -> None:
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
    ref: Annotated[str, typer.Argument(help="Lead id, email or LinkedIn URL")],
    fields: Annotated[list[str], typer.Argument(help="field=value pairs; field= clears it")],
) -> None:
    """Change fields of a lead (it is regraded)."""
    with db_session() as db:
        lead = resolve_lead(db, ref)
        _show(ops.update_lead(db, lead.id, **_fields(fields)))


@lead_app.command("stage")
def lead_stage(
    ref: Annotated[str, typer.Argument(help="Lead id, email or LinkedIn URL")],
    stage: Annotated[str, typer.Argument(help="NEW CONTACTED ENGAGED QUALIFIED MEETING WON LOST")],
) -> None:
    """Move a lead to another stage."""
    with db_session() as db:
        lead = resolve_lead(db, ref)
        result = ops.set_stage(db, lead.id, stage)
    console.print(f"Lead #{result['id']} is now {result['stage']}.")


@lead_app.command("tag")
def lead_tag(
    ref: Annotated[str, typer.Argument(help="Lead id, email or LinkedIn URL")],
    tags: Annotated[list[str], typer.Argument(help="Tags to add")],
    remove: Annotated[bool, typer.Option("--remove", help="Remove these tags instead")] = False,
) -> None:
    """Add (or --remove) tags."""
    with db_session() as db:
        lead = resolve_lead(db, ref)
        result = ops.remove_tags(db, lead.id, tags) if remove else ops.add_tags(db, lead.id, tags)
    console.print(f"Lead #{result['id']} tags: {', '.join(result['tags']) or '(none)'}")


@lead_app.command("note")
def lead_note(
    ref: Annotated[str, typer.Argument(help="Lead id, email or LinkedIn URL")],
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
    ref: Annotated[str, typer.Argument(help="Lead id, email or LinkedIn URL")],
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
        file.write_text(text, encoding="utf-8")
        os.chmod(file, 0o600)
        err_console.print(f"Wrote {file}")


@lead_app.command("forget")
def lead_forget(
    ref: Annotated[str, typer.Argument(help="Lead id, email or LinkedIn URL")],
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
        f"({', '.join(result['suppressed_by_hash'])})."
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
    console.print(f"{row['kind'].lower()} {row['value']}: {state} ({row['reason']})")


@suppress_app.command("remove")
def suppress_remove(
    value: Annotated[str, typer.Argument(help="Email, domain or LinkedIn URL")],
) -> None:
    """Lift a suppression (recorded on the audit trail)."""
    with db_session() as db:
        row = ops.remove_suppression(db, value)
    console.print(f"{row['kind'].lower()} {row['value']} removed from the suppression list")


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
            r["kind"], r["value"], r["reason"], r["source"] or "", f"{r['created_at']:%Y-%m-%d}"
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
        console.print(f"{value}: not suppressed")
        return
    console.print(f"{value}: suppressed ({hit['kind'].lower()} {hit['value']}, {hit['reason']})")
    raise typer.Exit(1)


# --- mailboxes and inbox --------------------------------------------------------------------


def _secret_from_env(name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise typer.BadParameter(f"environment variable {name} (for the {what}) is not set")
    return value


@mailbox_app.command("add")
def mailbox_add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. sales")],
    from_address: Annotated[
        str, typer.Option("--from", help="From address, e.g. alex@acme.example")
    ],
    from_name: Annotated[str | None, typer.Option(help="Display name")] = None,
    reply_to: Annotated[str | None, typer.Option(help="Reply-To address")] = None,
    smtp_host: Annotated[str | None, typer.Option(help="SMTP server")] = None,
    smtp_port: Annotated[
        int | None, typer.Option(help="SMTP port (default 587/465/25 by security)")
    ] = None,
    smtp_security: Annotated[str, typer.Option(help="starttls, tls or none")] = "starttls",
    smtp_user: Annotated[str | None, typer.Option(help="SMTP user name")] = None,
    smtp_password_env: Annotated[
        str | None, typer.Option(help="Name of the environment variable holding the SMTP password")
    ] = None,
    smtp_token_env: Annotated[
        str | None, typer.Option(help="Name of the environment variable holding an OAuth2 token")
    ] = None,
    imap_host: Annotated[
        str | None, typer.Option(help="IMAP server (for replies and bounces)")
    ] = None,
    imap_port: Annotated[int | None, typer.Option(help="IMAP port (default 993/143)")] = None,
    imap_security: Annotated[str, typer.Option(help="tls, starttls or none")] = "tls",
    imap_user: Annotated[
        str | None, typer.Option(help="IMAP user (default: the from address)")
    ] = None,
    imap_password_env: Annotated[
        str | None, typer.Option(help="Name of the environment variable holding the IMAP password")
    ] = None,
    imap_folder: Annotated[str, typer.Option(help="Folder to watch")] = "INBOX",
    daily_cap: Annotated[int, typer.Option(help="Most emails per day from this mailbox")] = 50,
    hourly_cap: Annotated[int, typer.Option(help="Most emails per hour")] = 20,
    min_gap: Annotated[
        int, typer.Option(help="Seconds at least between two emails of this mailbox")
    ] = 0,
    dkim_domain: Annotated[str | None, typer.Option(help="DKIM signing domain")] = None,
    dkim_selector: Annotated[str | None, typer.Option(help="DKIM selector")] = None,
    dkim_key_file: Annotated[Path | None, typer.Option(help="PEM private key for DKIM")] = None,
) -> None:
    """Add a sender mailbox. Secrets are read from environment variables (never the command
    line, which other users can see) and stored encrypted."""
    smtp_password = _secret_from_env(smtp_password_env, "SMTP password")
    if smtp_host and smtp_user and not (smtp_password_env or smtp_token_env):
        smtp_password = typer.prompt("SMTP password", hide_input=True)
    with db_session() as db:
        mb = ops_mailboxes.add_mailbox(
            db,
            name,
            from_address,
            from_name=from_name,
            reply_to=reply_to,
            smtp_host=smtp_host,
            smtp_port=smtp_port,
            smtp_security=smtp_security,
            smtp_username=smtp_user,
            smtp_password=smtp_password,
            smtp_oauth2_token=_secret_from_env(smtp_token_env, "SMTP token"),
            imap_host=imap_host,
            imap_port=imap_port,
            imap_security=imap_security,
            imap_username=imap_user,
            imap_password=_secret_from_env(imap_password_env, "IMAP password"),
            imap_folder=imap_folder,
            daily_cap=daily_cap,
            hourly_cap=hourly_cap,
            min_gap_seconds=min_gap,
            dkim_domain=dkim_domain,
            dkim_selector=dkim_selector,
            dkim_private_key_pem=dkim_key_file.read_text(encoding="ascii")
            if dkim_key_file
            else None,
        )
    console.print(
        f"Mailbox {mb['name']} (#{mb['id']}) added: {mb['from_address']}. "
        f"Check it with `aicmo mailbox test {mb['name']}`."
    )


@mailbox_app.command("list")
def mailbox_list() -> None:
    """Show the mailboxes (secrets only as set / not set)."""
    with db_session() as db:
        rows = ops_mailboxes.list_mailboxes(db)
    if not rows:
        console.print(
            "No mailbox: email goes to the local outbox (not delivered). "
            "Add one with `aicmo mailbox add`."
        )
        return
    table = Table(title="Mailboxes")
    for col in ("name", "from", "smtp", "imap", "caps", "dkim", "on"):
        table.add_column(col)
    for m in rows:
        sm = m["smtp"]
        smtp_s = f"{sm['host']}:{sm['port']} {sm['security']} ({sm['secret']})" if sm else "-"
        imap_s = (
            f"{m['imap']['host']}:{m['imap']['port']} {m['imap']['folder']}" if m["imap"] else "-"
        )
        table.add_row(
            m["name"],
            m["from_address"],
            smtp_s,
            imap_s,
            f"{m['hourly_cap']}/h {m['daily_cap']}/d"
            + (f", gap {m['min_gap_seconds']}s" if m["min_gap_seconds"] else ""),
            m["dkim"] or "-",
            "yes" if m["enabled"] else "no",
        )
    console.print(table)


@mailbox_app.command("test")
def mailbox_test(name: Annotated[str, typer.Argument(help="Mailbox name or id")]) -> None:
    """Connect, do TLS and log in (SMTP and IMAP) without sending; say what failed."""
    with db_session() as db:
        report = check_mailbox(db, name)
    failed = False
    for proto in ("smtp", "imap"):
        if proto in report:
            r = report[proto]
            mark = "[green]ok[/]" if r["ok"] else f"[red]failed at {r['stage']}[/]"
            console.print(f"{proto.upper()}: {mark} - {r['message']}")
            failed = failed or not r["ok"]
    if failed:
        raise typer.Exit(1)


@inbox_app.command("poll")
def inbox_poll(
    mailbox: Annotated[str | None, typer.Option(help="Only this mailbox (default: all)")] = None,
    from_start: Annotated[
        bool, typer.Option(help="On the first poll, read the whole folder instead of starting now")
    ] = False,
) -> None:
    """Fetch new mail and apply it: replies, auto-replies, bounces, complaints, opt-outs."""
    with db_session() as db:
        results = (
            [poll_mailbox(db, mailbox, from_start=from_start)]
            if mailbox
            else poll_all(db, from_start=from_start)
        )
    if not results:
        console.print("No mailbox with IMAP configured.")
    for r in results:
        if "error" in r:
            console.print(f"[red]{r['mailbox']}: {r['error']}[/]")
        elif r["initialised"]:
            console.print(f"{r['mailbox']}: first poll, cursor set; mail from now on will be read")
        else:
            kinds = (
                ", ".join(f"{k.lower()} {n}" for k, n in sorted(r["kinds"].items()))
                or "nothing new"
            )
            console.print(
                f"{r['mailbox']}: {r['fetched']} message(s): {kinds}; "
                f"{r['delivered']} marked delivered"
            )


# --- icp / channels ----------------------------------------------------------------------------


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
    """Store a new ideal-customer profile and regrade the leads."""
    icp = parse_icp_yaml(file.read_text(encoding="utf-8"))
    with db_session() as db:
        ops.set_icp(db, icp)
        console.print("Ideal-customer profile stored.")
        if regrade:
            result = ops.grade_leads(db)
            console.print(f"Regraded {result['graded']} lead(s), {result['changed']} changed.")


@channels_app.command("list")
def channels_list() -> None:
    """Show each channel's switch and limits."""
    with db_session() as db:
        configs = ops.list_channel_configs(db)
    table = Table(title="Channels")
    for col in (
        "channel",
        "enabled",
        "per hour",
        "per day",
        "per lead",
        "min gap h",
        "retries",
        "backoff h",
    ):
        table.add_column(col)
    for c in configs:
        table.add_row(
            c["channel"],
            "yes" if c["enabled"] else "no",
            str(c["rate_limit_per_hour"]),
            str(c["rate_limit_per_day"]),
            f"{c['per_lead_limit']}/{c['per_lead_period_hours']}h",
            str(c["min_gap_hours"]),
            str(c["max_retries"]),
            ", ".join(str(h) for h in c["backoff_hours"]),
        )
    console.print(table)


@channels_app.command("set")
def channels_set(
    channel: Annotated[str, typer.Argument(help="EMAIL, LINKEDIN or CONTACT_FORM")],
    per_hour: Annotated[int | None, typer.Option("--per-hour", help="rate_limit_per_hour")] = None,
    per_day: Annotated[int | None, typer.Option("--per-day", help="rate_limit_per_day")] = None,
    enabled: Annotated[
        bool | None, typer.Option("--enabled/--disabled", help="Switch the channel")
    ] = None,
    max_retries: Annotated[int | None, typer.Option(help="Retries of a transient failure")] = None,
    min_gap_hours: Annotated[
        int | None, typer.Option(help="Minimum hours between two touches of a lead")
    ] = None,
) -> None:
    """Change a channel's limits."""
    changes: dict[str, Any] = {
        k: v
        for k, v in {
            "rate_limit_per_hour": per_hour,
            "rate_limit_per_day": per_day,
            "enabled": enabled,
            "max_retries": max_retries,
            "min_gap_hours": min_gap_hours,
        }.items()
        if v is not None
    }
    with db_session() as db:
        c = ops.update_channel_config(db, channel, **changes)
    console.print(
        f"{c['channel']}: {c['rate_limit_per_hour']}/hour, {c['rate_limit_per_day']}/day, "
        f"{'enabled' if c['enabled'] else 'disabled'}"
    )


# --- campaigns and the worker -----------------------------------------------------------------


@campaign_app.command("create")
def campaign_create(
    file: Annotated[Path, typer.Argument(help="Campaign YAML: name, steps or sequence, audience")],
) -> None:
    """Create a DRAFT campaign from a YAML file."""
    data = ops_campaigns.parse_campaign_yaml(file.read_text(encoding="utf-8"))
    with db_session() as db:
        c = ops_campaigns.create_campaign(db, **data)
    console.print(
        f"Campaign {c['name']} (#{c['id']}) created as DRAFT. "
        f"Next: `aicmo campaign validate {c['name']}` then `aicmo campaign start`."
    )


@campaign_app.command("validate")
def campaign_validate(name: Annotated[str, typer.Argument(help="Campaign name or id")]) -> None:
    """Check templates, channels and every lead's addresses before anything is sent."""
    with db_session() as db:
        report = ops_campaigns.validate_campaign(db, name)
    for error in report["errors"]:
        console.print(f"[red]error:[/] {error}")
    for p in report["lead_problems"]:
        console.print(f"[yellow]lead #{p['lead_id']}[/] {p['email'] or ''}: {p['problem']}")
    state = "[green]ready[/]" if report["ok"] else "[red]not ready[/]"
    console.print(
        f"{state}: {report['leads']} lead(s) in the audience, "
        f"{len(report['lead_problems'])} with a problem"
    )
    if not report["ok"]:
        raise typer.Exit(1)


@campaign_app.command("start")
def campaign_start(name: Annotated[str, typer.Argument(help="Campaign name or id")]) -> None:
    """Validate, enroll the audience and activate; `aicmo worker` then sends."""
    with db_session() as db:
        c = ops_campaigns.start_campaign(db, name)
    console.print(f"Campaign {c['name']} is ACTIVE: {c['enrolled']} lead(s) enrolled.")


@campaign_app.command("pause")
def campaign_pause(name: Annotated[str, typer.Argument(help="Campaign name or id")]) -> None:
    """Stop new sends (within one worker tick)."""
    with db_session() as db:
        c = ops_campaigns.set_campaign_status(db, name, "PAUSED")
    console.print(f"Campaign {c['name']} is PAUSED.")


@campaign_app.command("resume")
def campaign_resume(name: Annotated[str, typer.Argument(help="Campaign name or id")]) -> None:
    """Resume a paused campaign."""
    with db_session() as db:
        c = ops_campaigns.set_campaign_status(db, name, "ACTIVE")
    console.print(f"Campaign {c['name']} is ACTIVE.")


@campaign_app.command("status")
def campaign_status_cmd(name: Annotated[str, typer.Argument(help="Campaign name or id")]) -> None:
    """Enrollments by state and step."""
    with db_session() as db:
        st = ops_campaigns.campaign_status(db, name)
    console.print(f"{st['name']}: {st['status']}")
    for state, n in sorted(st["enrollments"].items()):
        console.print(f"  {state}: {n}")
    for step, n in sorted(st["by_step"].items()):
        console.print(f"  at step {step + 1}: {n}")


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="One tick, then exit")] = False,
    interval: Annotated[float, typer.Option(help="Seconds between ticks")] = 5.0,
    batch: Annotated[int, typer.Option(help="Enrollments claimed per tick")] = 100,
    lease: Annotated[
        float,
        typer.Option(
            help="Seconds a claim lasts; a dead worker's claims and sends are taken over after it"
        ),
    ] = 300.0,
    concurrency: Annotated[
        int, typer.Option(min=1, max=32, help="Loops in this process (threads), each claiming")
    ] = 1,
    log_format: Annotated[
        str, typer.Option(help="text (key=value) or json (one object per line)")
    ] = "text",
    verbose: Annotated[bool, typer.Option("--verbose", help="Log idle ticks too")] = False,
) -> None:
    """Send what is due, read the mailboxes and LinkedIn replies; stops cleanly on Ctrl-C
    or SIGTERM (the send in flight finishes). Health: `aicmo serve` → /healthz."""
    if log_format not in ("text", "json"):
        raise typer.BadParameter("--log-format is text or json")
    configure_logging(log_format, logging.DEBUG if verbose else logging.INFO)
    stop = threading.Event()

    def _stop(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # Ctrl-C also finishes the send in flight
    options = WorkerOptions(
        batch=batch,
        interval=interval,
        lease=timedelta(seconds=lease),
        once=once,
        concurrency=concurrency,
    )
    run_worker(open_session, options, stop)


@attempts_app.command("unknown")
def attempts_unknown() -> None:
    """Attempts whose outcome is unknown (a worker stopped mid-send): never resent blindly."""
    with db_session() as db:
        rows = list_unknown_attempts(db)
    if not rows:
        console.print("No attempt with an unknown outcome.")
        return
    table = Table(title="Attempts with an unknown outcome")
    for col in ("id", "channel", "recipient", "campaign", "why"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["channel"],
            r["recipient"] or "",
            str(r["campaign_id"] or ""),
            r["error"] or "",
        )
    console.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
) -> None:
    """Serve the web endpoints (unsubscribe pages; AICMO_PUBLIC_URL must point here)."""
    console.print(f"Serving on http://{host}:{port} (public URL: {get_settings().public_url})")
    uvicorn.run(create_app(), host=host, port=port, log_level="info")


__all__ = ["app", "print_import_report"]
