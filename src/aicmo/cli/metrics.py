"""``aicmo metrics …``: the daily rollups every rate is read from (rebuild them from the
events); ``aicmo retention …``: how long message texts are kept."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn

from aicmo.cli.common import console, db_session, fail, progress_bar
from aicmo.cli.main import app
from aicmo.operator_services import accounts
from aicmo.operator_services.analytics import rollups
from aicmo.operator_services.crm import retention

metrics_app = typer.Typer(
    help="The daily rollups (metrics_daily) that every count and rate is read from.",
    no_args_is_help=True,
)
app.add_typer(metrics_app, name="metrics")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a day as YYYY-MM-DD, got {value!r}")


@metrics_app.command("rebuild")
def metrics_rebuild(
    from_: Annotated[
        str | None,
        typer.Option("--from", help="First day (YYYY-MM-DD, UTC); default the oldest event's"),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Last day (YYYY-MM-DD, UTC); default today")
    ] = None,
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", "-w", help="Workspace slug or id; default every workspace"),
    ] = None,
) -> None:
    """Recompute the rollups of a range of days from the events table.

    Safe while workers run: each day is rebuilt in its own transaction, which holds the
    rollups' lock, so a worker waits for one day at most and no event is lost or counted
    twice. Run it after restoring a backup or upgrading, or when a count looks wrong.
    """
    first, last = _day(from_, "--from"), _day(to, "--to")
    with db_session() as db:
        ws_id = accounts.resolve_workspace(db, workspace).id if workspace else None
        first, last = rollups.rebuild_range(db, first, last, workspace_id=ws_id)
        total = (last - first).days + 1
        with progress_bar(
            TextColumn("[bold]rebuilding[/] {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        ) as progress:
            task = progress.add_task("", total=total)

            def advance(day: date, _done: dict[str, int]) -> None:
                progress.update(task, advance=1, description=day.isoformat())

            report = rollups.rebuild_rollups(
                db, first=first, last=last, workspace_id=ws_id, progress=advance
            )
    console.print(
        f"Rebuilt {report['days']} day(s), {report['first']} to {report['last']}: "
        f"{report['events']} event(s) read, {report['rows']} rollup row(s) written."
    )


retention_app = typer.Typer(
    help="Retention: how long message texts are kept (AICMO_RETENTION_DAYS).",
    no_args_is_help=True,
)
app.add_typer(retention_app, name="retention")


@retention_app.command("prune")
def retention_prune(
    days: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=36_500,
            help="Keep this many days of texts; default AICMO_RETENTION_DAYS",
        ),
    ] = None,
) -> None:
    """Blank message texts older than the retention period, now.

    Sent subjects and bodies, replies' texts, raw notifications, closed tasks' texts and
    the local outbox's files go; every event, attempt row and daily count stays. The
    worker does this once a day by itself when AICMO_RETENTION_DAYS is set.
    """
    with db_session() as db:
        report = retention.prune_message_bodies(db, days=days)
    console.print(
        f"Pruned texts older than {report['cutoff'][:19]} UTC: {report['attempts']} sent "
        f"message(s), {report['inbound_messages']} received, {report['events_raw']} raw "
        f"event payload(s), {report['tasks']} task(s), {report['outbox_files']} outbox file(s)."
    )


__all__ = ["metrics_app", "retention_app"]
