"""``aicmo report`` (a campaign's report as HTML, PDF or CSV) and ``aicmo digest``."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from aicmo.cli.common import WorkspaceOpt, console, db_session, esc, fail, file_problem
from aicmo.cli.main import app
from aicmo.errors import AicmoError
from aicmo.operator_services.accounts import resolve_workspace
from aicmo.operator_services.analytics.digest import send_digest
from aicmo.operator_services.analytics.performance import report_period
from aicmo.operator_services.analytics.render import FORMATS, render_report
from aicmo.operator_services.analytics.report import build_report
from aicmo.operator_services.uow import utcnow

digest_app = typer.Typer(
    help="The weekly digest: each campaign's last 7 days, emailed to the operators.",
    no_args_is_help=True,
)
app.add_typer(digest_app, name="digest")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} takes a day as YYYY-MM-DD, got {value!r}")


@app.command()
def report(
    campaign: Annotated[str, typer.Option("--campaign", "-c", help="Campaign name or id")],
    since: Annotated[
        str | None,
        typer.Option("--from", help="First day, YYYY-MM-DD (default: 29 days before --to)"),
    ] = None,
    until: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD (default: today, UTC)")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="html, pdf or csv")] = "html",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="File to write ('-' for standard output; default: a file named after the "
            "campaign and the period, in the current folder)",
        ),
    ] = None,
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="Attribution model: first_touch, last_touch, linear or position_based",
        ),
    ] = "linear",
    workspace: WorkspaceOpt = "default",
) -> None:
    """A campaign's report: summary, funnel per step, rates per day, channels compared,
    A/B tests with their verdict, attribution and ROI.

    The numbers are the daily rollups' (both days included, UTC days). HTML is one
    self-contained file (charts inline, nothing loaded from the network); PDF prints;
    CSV has one row per number (section, day, step, channel, metric, value).
    """
    choice = fmt.strip().lower()
    if choice not in FORMATS:
        fail(f"--format is one of {', '.join(FORMATS)}, not {fmt!r}")
    now = utcnow()
    start, end = report_period(_day(since, "--from"), _day(until, "--to"), today=now.date())
    with db_session() as db:
        ws = resolve_workspace(db, workspace)
        built = build_report(db, campaign, start, end, now=now, workspace_id=ws.id, model=model)
    rendered = render_report(built, choice)
    if out is not None and str(out) == "-":
        if choice == "pdf" and sys.stdout.isatty():
            fail("a PDF is binary: give --out FILE, or redirect standard output to a file")
        sys.stdout.buffer.write(rendered.content)
        sys.stdout.flush()
        return
    target = out or Path(rendered.filename)
    try:
        target.write_bytes(rendered.content)
    except OSError as err:
        fail(f"cannot write the report: {file_problem(err)}")
    note = "" if built.has_data else " (no data in this period: the report says so)"
    console.print(
        f"Report of {esc(built.campaign['name'])}, {start.isoformat()} to {end.isoformat()}, "
        f"written to {esc(target)}{note}."
    )


@digest_app.command("send")
def digest_send(
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="An address to send it to (repeat for more)"),
    ] = None,
    user: Annotated[
        list[str] | None,
        typer.Option("--user", help="A user account (its sign-in address) of the workspace"),
    ] = None,
    mailbox: Annotated[
        str | None,
        typer.Option(help="Mailbox (name or id) to send through; default: the local outbox"),
    ] = None,
    workspace: WorkspaceOpt = "default",
) -> None:
    """Send the digest now: each campaign's last 7 days and the change from the week
    before. Without --mailbox it is written to the local outbox, not delivered.

    The worker sends it weekly by itself when AICMO_DIGEST_TO or AICMO_DIGEST_USERS is
    set (AICMO_DIGEST_WEEKDAY, AICMO_DIGEST_HOUR, AICMO_DIGEST_MAILBOX).
    """
    if not to and not user:
        fail("say who gets the digest: --to ADDRESS and/or --user ACCOUNT")
    with db_session() as db:
        ws = resolve_workspace(db, workspace)
        result = send_digest(
            db, to=to or [], users=user or [], mailbox=mailbox, now=utcnow(), workspace_id=ws.id
        )
    period = f"{result['since'].isoformat()} to {result['until'].isoformat()}"
    console.print(f"Digest of {period} ({result['campaigns']} campaigns).")
    for item in result["sent"]:
        if result["transport"] == "outbox":
            console.print(
                f"  {esc(item['to'])}: written to the local outbox {esc(item['path'])} "
                "[yellow](not delivered: no mailbox was given)[/]"
            )
        else:
            console.print(
                f"  {esc(item['to'])}: accepted by the SMTP server of mailbox "
                f"{esc(result['mailbox'])} ({esc(item['response'])})"
            )
    for item in result["failed"]:
        console.print(f"  [red]{esc(item['to'])}: not sent: {esc(item['error'])}[/]")
    if result["failed"]:
        raise AicmoError(f"{len(result['failed'])} of {len(result['recipients'])} not sent")
