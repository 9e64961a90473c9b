"""``aicmo tasks …`` (work for a person) and ``aicmo linkedin …`` (provider accounts)."""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer
from rich.table import Table

from aicmo.cli.common import cell, console, db_session, esc
from aicmo.cli.main import app
from aicmo.operator_services.channels import linkedin_accounts as ops_linkedin
from aicmo.operator_services.channels import tasks as ops_tasks
from aicmo.operator_services.channels.contact_form import inspect_site
from aicmo.operator_services.uow import utcnow
from aicmo.transports import unipile as U

tasks_app = typer.Typer(
    help="Steps a person does: LinkedIn touches, forms a robot must not fill.",
    no_args_is_help=True,
)
linkedin_app = typer.Typer(
    help="LinkedIn through a provider account (Unipile); without one, LinkedIn steps become tasks.",
    no_args_is_help=True,
)
app.add_typer(tasks_app, name="tasks")
app.add_typer(linkedin_app, name="linkedin")

TaskArg = Annotated[int, typer.Argument(help="Task id")]


@tasks_app.command("list")
def tasks_list(
    status: Annotated[str, typer.Option(help="OPEN, DONE, SKIPPED, CANCELLED or ALL")] = "OPEN",
    overdue: Annotated[bool, typer.Option("--overdue", help="Only open tasks past due")] = False,
    campaign: Annotated[int | None, typer.Option(help="Only this campaign id")] = None,
    full: Annotated[bool, typer.Option("--full", help="Print each task's text in full")] = False,
    limit: Annotated[int, typer.Option(help="At most this many")] = 100,
) -> None:
    """Tasks to do, the most urgent first; overdue ones in red."""
    now = utcnow()
    with db_session() as db:
        ops_tasks.cancel_stale_tasks(db, now=now)
        rows = ops_tasks.list_tasks(
            db,
            status=None if status.upper() == "ALL" else status,
            overdue=overdue,
            campaign_id=campaign,
            limit=limit,
            now=now,
        )
    if not rows:
        console.print("No task." if status.upper() != "OPEN" else "Nothing to do: no open task.")
        return
    if full:
        for t in rows:
            due = (
                f"[red]overdue since {t['due_at']:%Y-%m-%d %H:%M}[/]"
                if t["overdue"]
                else (f"due {t['due_at']:%Y-%m-%d %H:%M}")
            )
            console.rule(f"#{t['id']} {esc(t['title'])}")
            console.print(f"{t['status']} · {due} · {esc(t['url'] or '')}")
            console.print(f"[dim]why a person: {esc(t['reason'])}[/]")
            if t["body"]:
                console.print(cell(t["body"]))
        return
    table = Table(title=f"Tasks ({status.upper()})")
    for col in ("id", "task", "link", "due", "status"):
        table.add_column(col, overflow="fold")
    for t in rows:
        due = f"{t['due_at']:%Y-%m-%d %H:%M}"
        table.add_row(
            str(t["id"]),
            cell(t["title"]),
            cell(t["url"] or ""),
            f"[red]{due} overdue[/]" if t["overdue"] else due,
            t["status"],
        )
    console.print(table)
    console.print(
        "Show the text with `aicmo tasks list --full`; then `aicmo tasks done ID` or "
        '`aicmo tasks skip ID --reason "…"`.'
    )


@tasks_app.command("done")
def tasks_done(
    task_id: TaskArg,
    note: Annotated[str | None, typer.Option(help="What you did, for the record")] = None,
) -> None:
    """Mark a task done: the message counts as sent now and the sequence goes on."""
    with db_session() as db:
        t = ops_tasks.complete_task(db, task_id, note=note)
    _print_task(t, "done")


@tasks_app.command("skip")
def tasks_skip(
    task_id: TaskArg,
    reason: Annotated[str, typer.Option(help="Why it will not be done")],
) -> None:
    """Skip a task: nothing was sent and the step falls back to its next channel."""
    with db_session() as db:
        t = ops_tasks.skip_task(db, task_id, reason=reason)
    _print_task(t, "skipped")


def _print_task(t: dict[str, Any], what: str) -> None:
    """One line on what became of a task, and of the sequence waiting on it."""
    after = f"; the sequence: {t['sequence']}" if t["sequence"] else ""
    console.print(f"Task #{t['id']} {what}{esc(after)}.")


@linkedin_app.command("add")
def linkedin_add(
    name: Annotated[str, typer.Argument(help="A short name, e.g. alex")],
    dsn: Annotated[str, typer.Option(help="Your Unipile DSN, e.g. https://api8.unipile.com:13851")],
    account_id: Annotated[str, typer.Option(help="The Unipile account id of the LinkedIn account")],
    api_key_env: Annotated[
        str, typer.Option(help="Name of the environment variable holding the Unipile API key")
    ] = "UNIPILE_API_KEY",
    invites_per_day: Annotated[int, typer.Option(help="Most connection requests per day")] = (
        U.DEFAULT_LIMITS.invitations_per_day
    ),
    invites_per_week: Annotated[
        int, typer.Option(help="Most connection requests per week (LinkedIn caps weekly)")
    ] = U.DEFAULT_LIMITS.invitations_per_week,
    messages_per_day: Annotated[int, typer.Option(help="Most messages per day")] = (
        U.DEFAULT_LIMITS.messages_per_day
    ),
) -> None:
    """Add a LinkedIn account reached through Unipile (the key is read from the
    environment, never the command line, and stored encrypted)."""
    key = os.environ.get(api_key_env)
    if not key:
        raise typer.BadParameter(f"environment variable {api_key_env} (the API key) is not set")
    with db_session() as db:
        acc = ops_linkedin.add_linkedin_account(
            db,
            name,
            base_url=dsn,
            account_ref=account_id,
            api_key=key,
            invites_per_day=invites_per_day,
            invites_per_week=invites_per_week,
            messages_per_day=messages_per_day,
        )
    console.print(
        f"LinkedIn account {esc(acc['name'])} (#{acc['id']}) added: LinkedIn steps now go through "
        "Unipile instead of becoming tasks."
    )


@linkedin_app.command("list")
def linkedin_list() -> None:
    """The provider accounts, their caps and state (a paused account says why)."""
    with db_session() as db:
        rows = ops_linkedin.list_linkedin_accounts(db)
    if not rows:
        console.print(
            "No LinkedIn account: LinkedIn steps become tasks (`aicmo tasks list`). "
            "Add one with `aicmo linkedin add`."
        )
        return
    table = Table(title="LinkedIn accounts")
    for col in ("name", "provider", "account", "caps", "state"):
        table.add_column(col, overflow="fold")
    for a in rows:
        state = (
            "[green]active[/]"
            if a["status"] == "ACTIVE"
            else (f"[red]paused[/]: {esc(a['status_reason'])}")
        )
        table.add_row(
            cell(a["name"]),
            cell(f"{a['provider']} {a['base_url']}"),
            cell(a["account_ref"]),
            f"{a['invites_per_day']}/d {a['invites_per_week']}/wk invites, "
            f"{a['messages_per_day']}/d messages",
            state if a["enabled"] else "disabled",
        )
    console.print(table)


@linkedin_app.command("resume")
def linkedin_resume(name: Annotated[str, typer.Argument(help="Account name")]) -> None:
    """Send again from an account paused after a restriction (once you have fixed it)."""
    with db_session() as db:
        acc = ops_linkedin.resume_linkedin_account(db, name)
    console.print(f"LinkedIn account {esc(acc['name'])} is active again.")


@linkedin_app.command("poll")
def linkedin_poll() -> None:
    """Read new LinkedIn messages; a lead's reply stops their sequences."""
    with db_session() as db:
        r = ops_linkedin.poll_linkedin(db)
    console.print(
        f"{r['accounts']} account(s): {r['read']} message(s) read, {r['replies']} "
        f"repl(ies) from leads, {r['unmatched']} from people who are not leads."
    )
    for e in r["errors"]:
        console.print(f"[red]{esc(e)}[/]")
    if r["errors"]:
        raise typer.Exit(1)


form_app = typer.Typer(help="Contact forms on leads' websites.", no_args_is_help=True)
app.add_typer(form_app, name="form")


@form_app.command("check")
def form_check(
    url: Annotated[str, typer.Argument(help="A contact page, or a site's home page")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
    form_page: Annotated[
        bool,
        typer.Option(
            "--form-page",
            help="URL is the lead's form page (form_url): a blocked form there is a task",
        ),
    ] = False,
) -> None:
    """Dry run on one site: which page and form would be used and why, what blocks it,
    how each field would be filled. It decides the way a real send does. Nothing is
    submitted, nothing is recorded."""
    report = inspect_site(url, explicit=form_page)
    if as_json:
        console.print_json(json.dumps(report, default=str))
        return
    console.print(f"Page: {esc(report['page_url'])}")
    console.print(f"Looked at: {esc(', '.join(report['looked_at']))}", soft_wrap=True)
    console.print(f"Why: {esc(report['why'])}", soft_wrap=True)
    for b in report["blockers"]:
        console.print(f"[red]Blocked[/]: {esc(b)}")
    form = report["form"]
    if form is None:
        if report["decision"] == "task":
            console.print(
                f"[bold]This page would become an operator task: {esc(report['reason'])}[/]"
            )
        else:
            console.print("[red]No contact form to submit.[/]")
        raise typer.Exit(1)
    console.print(f"Form: {esc(form['method'])} {esc(form['action'])} ({esc(form['purpose'])})")
    table = Table()
    for col in ("field", "type", "label", "required", "filled as"):
        table.add_column(col, overflow="fold")
    for f in form["fields"]:
        role = cell("honeypot: left empty", "dim") if f["honeypot"] else cell(f["role"] or "")
        table.add_row(
            cell(f["name"] or ""),
            cell(f["kind"]),
            cell(f["label"] or ""),
            "yes" if f["required"] else "",
            role,
        )
    console.print(table)
    for p in report.get("problems", []):
        console.print(f"[yellow]note[/]: {esc(p)}")
    if report.get("unmapped_required"):
        console.print(f"[red]Cannot fill[/]: {esc(', '.join(report['unmapped_required']))}")
    verdict = {
        "submit": f"would be submitted ({form['method']} {report['target']})",
        "task": f"would become an operator task: {report['reason']}",
        "refuse": f"would not be sent: {report['reason']}",
    }.get(report["decision"], "has no contact form")
    console.print(f"[bold]This form {esc(verdict)}.[/]", soft_wrap=True)
    if not report["would_submit"]:
        raise typer.Exit(1)
