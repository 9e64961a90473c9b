"""The sending side of the command line: mailboxes, the inbox, channel limits, campaigns,
the worker and the web server. The command groups are declared in :mod:`aicmo.cli.main`
(so ``aicmo --help`` lists them in one order); their commands are here.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from aicmo import operator_services as ops
from aicmo.bootstrap import open_session
from aicmo.cli.common import (
    EXIT_FAILED,
    EXIT_UNUSABLE,
    CampaignArg,
    cell,
    console,
    db_session,
    err_console,
    esc,
    fail,
    read_text_file,
)
from aicmo.cli.main import (
    app,
    attempts_app,
    campaign_app,
    channels_app,
    inbox_app,
    mailbox_app,
)
from aicmo.config import get_settings
from aicmo.errors import ValidationError
from aicmo.operator_services import campaigns as ops_campaigns
from aicmo.operator_services.analytics.steps import get_step_metrics
from aicmo.operator_services.channels import mailboxes as ops_mailboxes
from aicmo.operator_services.engine.tick import list_unknown_attempts
from aicmo.operator_services.inbound.imap_poll import check_mailbox, poll_all, poll_mailbox
from aicmo.worker import WorkerOptions, configure_logging, run_worker

MailboxArg = Annotated[str, typer.Argument(help="Mailbox name or id")]


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
    allow_plaintext: Annotated[
        bool,
        typer.Option(
            "--allow-plaintext",
            help="Allow a password over security 'none' to a host other than this machine",
        ),
    ] = False,
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
            allow_plaintext=allow_plaintext,
        )
    console.print(
        f"Mailbox {esc(mb['name'])} (#{mb['id']}) added: {esc(mb['from_address'])}. "
        f"Check it with `aicmo mailbox test {esc(mb['name'])}`."
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
            cell(m["name"]),
            cell(m["from_address"]),
            cell(smtp_s),
            cell(imap_s),
            f"{m['hourly_cap']}/h {m['daily_cap']}/d"
            + (f", gap {m['min_gap_seconds']}s" if m["min_gap_seconds"] else ""),
            cell(m["dkim"] or "-"),
            "yes" if m["enabled"] else "no",
        )
    console.print(table)


@mailbox_app.command("disable")
def mailbox_disable(
    name: MailboxArg,
) -> None:
    """Stop sending from a mailbox and polling it (settings and secrets are kept). With
    every mailbox disabled, email waits until one is enabled again."""
    with db_session() as db:
        mb = ops_mailboxes.set_mailbox_enabled(db, name, False)
        paused = ops_mailboxes.every_mailbox_disabled(db)
    console.print(f"Mailbox {esc(mb['name'])} is disabled.")
    if paused:
        console.print("Every mailbox is disabled: email waits until one is enabled.")


@mailbox_app.command("enable")
def mailbox_enable(name: MailboxArg) -> None:
    """Send from a disabled mailbox again."""
    with db_session() as db:
        mb = ops_mailboxes.set_mailbox_enabled(db, name, True)
    console.print(f"Mailbox {esc(mb['name'])} is enabled.")


@mailbox_app.command("set-password")
def mailbox_set_password(
    name: MailboxArg,
    imap: Annotated[
        bool, typer.Option("--imap", help="Change the IMAP password (default: SMTP)")
    ] = False,
    password_env: Annotated[
        str | None,
        typer.Option(help="Name of the environment variable holding the new password"),
    ] = None,
    allow_plaintext: Annotated[
        bool,
        typer.Option(
            "--allow-plaintext",
            help="Allow a password over security 'none' to a host other than this machine",
        ),
    ] = False,
) -> None:
    """Replace a stored password: read from a prompt or an environment variable, never
    from the command line (other users can see it), and stored encrypted."""
    proto = "imap" if imap else "smtp"
    secret = _secret_from_env(password_env, f"{proto.upper()} password")
    if secret is None:
        secret = typer.prompt(
            f"New {proto.upper()} password", hide_input=True, confirmation_prompt=True
        )
    with db_session() as db:
        mb = ops_mailboxes.set_mailbox_secret(
            db, name, secret, protocol=proto, allow_plaintext=allow_plaintext
        )
    console.print(
        f"{proto.upper()} password of mailbox {esc(mb['name'])} changed (stored encrypted). "
        f"Check it with `aicmo mailbox test {esc(mb['name'])}`."
    )


@mailbox_app.command("test")
def mailbox_test(name: MailboxArg) -> None:
    """Connect, do TLS and log in (SMTP and IMAP) without sending; say what failed."""
    with db_session() as db:
        report = check_mailbox(db, name)
    failed = False
    for proto in ("smtp", "imap"):
        if proto in report:
            r = report[proto]
            mark = "[green]ok[/]" if r["ok"] else f"[red]failed at {esc(r['stage'])}[/]"
            console.print(f"{proto.upper()}: {mark} - {esc(r['message'])}")
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
    """Fetch new mail and apply it: replies, auto-replies, bounces, complaints, opt-outs.
    Exit code 1 when a mailbox could not be read (the others are still read)."""
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
            console.print(f"[red]{esc(r['mailbox'])}: {esc(r['error'])}[/]")
        elif r["initialised"]:
            console.print(
                f"{esc(r['mailbox'])}: first poll, cursor set; mail from now on will be read"
            )
        else:
            kinds = (
                ", ".join(f"{k.lower()} {n}" for k, n in sorted(r["kinds"].items()))
                or "nothing new"
            )
            console.print(
                f"{esc(r['mailbox'])}: {r['fetched']} message(s): {esc(kinds)}; "
                f"{r['delivered']} marked delivered"
            )
    if any("error" in r for r in results):
        raise typer.Exit(EXIT_FAILED)


# --- icp / channels ----------------------------------------------------------------------------


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
    """Create a DRAFT campaign from a YAML file. Exit code 2: the file cannot be read or
    is not a valid campaign (the key is named); 1: the name is taken."""
    text = read_text_file(file, "campaign file")
    try:
        data = ops_campaigns.parse_campaign_yaml(text)
        with db_session() as db:
            c = ops_campaigns.create_campaign(db, **data)
    except ValidationError as err:
        fail(f"{file}: {err.message}", EXIT_UNUSABLE)
    console.print(
        f"Campaign {esc(c['name'])} (#{c['id']}) created as DRAFT. "
        f"Next: `aicmo campaign validate {esc(c['name'])}` then `aicmo campaign start`."
    )


@campaign_app.command("validate")
def campaign_validate(name: CampaignArg) -> None:
    """Check templates, channels and every lead's addresses before anything is sent."""
    with db_session() as db:
        if err_console.is_terminal:
            with err_console.status("checking the campaign and its audience…"):
                report = ops_campaigns.validate_campaign(db, name)
        else:
            report = ops_campaigns.validate_campaign(db, name)
    for error in report["errors"]:
        console.print(f"[red]error:[/] {esc(error)}")
    for p in report["lead_problems"]:
        console.print(
            f"[yellow]lead #{p['lead_id']}[/] {esc(p['email'] or '')}: {esc(p['problem'])}"
        )
    state = "[green]ready[/]" if report["ok"] else "[red]not ready[/]"
    console.print(
        f"{state}: {report['leads']} lead(s) in the audience, "
        f"{len(report['lead_problems'])} with a problem"
    )
    if not report["ok"]:
        raise typer.Exit(1)


@campaign_app.command("start")
def campaign_start(name: CampaignArg) -> None:
    """Validate, enroll the audience and activate; `aicmo worker` then sends. Stopped
    midway, it leaves the campaign as it was with part of the audience enrolled: run it
    again to enroll the rest (nobody is enrolled twice)."""
    # The total is the audience: leads enrolled before (a second start) are not counted
    # in the progress, so the bar may end short of it.
    progress = Progress(
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    with db_session() as db, progress:
        task = progress.add_task("checking", total=None)
        c = ops_campaigns.start_campaign(
            db,
            name,
            on_progress=lambda done, total: progress.update(
                task, description="enrolling", completed=done, total=total
            ),
        )
    console.print(f"Campaign {esc(c['name'])} is ACTIVE: {c['enrolled']} lead(s) enrolled.")


@campaign_app.command("pause")
def campaign_pause(name: CampaignArg) -> None:
    """Stop new sends (within one worker tick)."""
    with db_session() as db:
        c = ops_campaigns.set_campaign_status(db, name, "PAUSED")
    console.print(f"Campaign {esc(c['name'])} is PAUSED.")


@campaign_app.command("resume")
def campaign_resume(name: CampaignArg) -> None:
    """Resume a paused campaign."""
    with db_session() as db:
        c = ops_campaigns.set_campaign_status(db, name, "ACTIVE")
    console.print(f"Campaign {esc(c['name'])} is ACTIVE.")


@campaign_app.command("list")
def campaign_list_cmd() -> None:
    """Every campaign with its status and when it started or finished."""
    rows: list[dict[str, Any]] = []
    with db_session() as db:
        after: int | None = None
        while page := ops_campaigns.list_campaigns(db, after_id=after, limit=500):
            rows.extend(page)
            after = page[-1]["id"]
    if not rows:
        console.print("No campaigns yet: create one with `aicmo campaign create FILE.yaml`.")
        return
    table = Table("id", "name", "status", "started", "finished")
    for c in rows:
        table.add_row(
            str(c["id"]),
            cell(c["name"]),
            str(c["status"]),
            cell(f"{c['started_at']:%Y-%m-%d %H:%M}" if c["started_at"] else ""),
            cell(f"{c['finished_at']:%Y-%m-%d %H:%M}" if c["finished_at"] else ""),
        )
    console.print(table)


@campaign_app.command("status")
def campaign_status_cmd(
    name: CampaignArg,
    days: Annotated[
        int, typer.Option(min=1, max=3660, help="Days of per-step figures to show")
    ] = 30,
) -> None:
    """Enrollments by state and step, then each step's figures (from the daily rollups)."""
    with db_session() as db:
        st = ops_campaigns.campaign_status(db, name)
        steps = get_step_metrics(db, st["id"], days)
    console.print(f"{esc(st['name'])}: {st['status']}")
    for state, n in sorted(st["enrollments"].items()):
        console.print(f"  {state}: {n}")
    for step, n in sorted(st["by_step"].items()):
        console.print(f"  at step {step + 1}: {n}")
    if not steps:
        return
    table = Table(
        "step",
        "channel",
        "sent",
        "replied",
        "positive",
        "meetings",
        "bounced",
        "forms",
        "reply %",
        "positive %",
        title=f"Last {days} day(s), per step",
    )
    for r in steps:
        table.add_row(
            "-" if r["step"] is None else str(r["step"] + 1),
            cell(r["channel"]),
            str(r["sent"]),
            str(r["replied"]),
            str(r["positive_replied"]),
            str(r["meetings"]),
            str(r["bounced"]),
            str(r["forms_submitted"]),
            f"{r['reply_rate']:.2f}",
            f"{r['positive_reply_rate']:.2f}",
        )
    console.print(table)


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
            cell(r["recipient"] or ""),
            str(r["campaign_id"] or ""),
            cell(r["error"] or ""),
        )
    console.print(table)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    with_worker: Annotated[
        bool,
        typer.Option(
            "--with-worker",
            help="Also run the worker in this process (small installs: one command to run)",
        ),
    ] = False,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Serving processes: each answers requests on its own core (one per core "
            "is typical). The --with-worker worker still runs once, in the parent.",
        ),
    ] = 1,
) -> None:
    """Serve the web dashboard (/), the REST API (/api/v1, docs at /docs), the unsubscribe
    pages and the provider webhooks (AICMO_PUBLIC_URL must point here); with --with-worker,
    send too."""
    console.print(
        f"Serving on http://{esc(host)}:{port} (public URL: {esc(get_settings().public_url)})"
    )
    console.print(
        f"Dashboard: http://{esc(host)}:{port}/ — API: http://{esc(host)}:{port}/api/v1, "
        f"its documentation: http://{esc(host)}:{port}/docs"
    )
    serve_app(host, port, with_worker=with_worker, workers=workers)


#: The web app's factory, as uvicorn imports it.
APP_FACTORY = "aicmo.web.app:serving_app"


def serve_app(
    host: str, port: int, *, with_worker: bool, workers: int = 1, log_level: str = "info"
) -> None:
    """Serve the app on the settings' database until Ctrl-C, from ``workers`` processes;
    with the worker in a thread of this process, stop only after the send in flight."""
    # Once, here: serving processes started together on a new database would each try
    # to create it; an outdated schema is refused before any of them starts.
    with open_session():
        pass
    stop = threading.Event()
    worker: threading.Thread | None = None
    if with_worker:
        configure_logging("text")
        worker = threading.Thread(
            target=run_worker,
            args=(open_session, WorkerOptions(), stop),
            name="aicmo-worker",
            daemon=True,
        )
        worker.start()
        console.print("Worker running in this process (stops with the server).")
    if worker is not None:
        # uvicorn shuts down on SIGINT/SIGTERM, then raises the signal again for the
        # handler that was there before it: ours, so that the process does not die
        # before the worker has finished the send in flight.
        def _stop(*_: Any) -> None:
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    try:
        # By name, so that uvicorn imports the app (FastAPI, its schemas, every route) only
        # when serving: the other commands start ~0.5 s sooner.
        uvicorn.run(
            APP_FACTORY,
            factory=True,
            host=host,
            port=port,
            log_level=log_level,
            workers=workers,
        )
    finally:
        stop.set()
        if worker is not None:
            worker.join(timeout=120)
