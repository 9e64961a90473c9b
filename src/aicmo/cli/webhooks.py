"""``aicmo webhook …``: endpoints that receive signed events, their deliveries, replays."""

from __future__ import annotations

import signal
import threading
from datetime import timedelta
from types import FrameType
from typing import Annotated, Any

import typer
from rich.table import Table

from aicmo.cli.common import WorkspaceOpt, console, db_session, err_console, esc
from aicmo.cli.main import app
from aicmo.operator_services import accounts, webhooks
from aicmo.operator_services.uow import utcnow
from aicmo.worker import worker_name

webhook_app = typer.Typer(
    help="Webhooks out: HTTPS endpoints that receive signed events (see docs/webhooks.md).",
    no_args_is_help=True,
)
app.add_typer(webhook_app, name="webhook")

EndpointArg = Annotated[int, typer.Argument(help="The endpoint's id (see `aicmo webhook list`)")]


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}" if value else ""


def _print_secret(endpoint: dict[str, Any], what: str) -> None:
    err_console.print(
        f"Webhook #{endpoint['id']} {what} for {esc(endpoint['url'])}. "
        "Its signing secret, shown this once (verify `webhook-signature` with it):"
    )
    # The secret alone on stdout, so `SECRET=$(aicmo webhook add …)` works.
    print(endpoint["secret"])


@webhook_app.command("add")
def webhook_add(
    url: Annotated[str, typer.Argument(help="https URL that receives the POSTs")],
    events: Annotated[
        str,
        typer.Option(
            "--events",
            "-e",
            help="Comma-separated event names, e.g. email.replied,lead.unsubscribed ('*': all)",
        ),
    ],
    description: Annotated[str | None, typer.Option(help="What the endpoint is for")] = None,
    workspace: WorkspaceOpt = "default",
) -> None:
    """Register an endpoint; its signing secret is printed once."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        endpoint = webhooks.register_webhook(
            db, url, events, workspace_id=ws.id, description=description
        )
    _print_secret(endpoint, "registered")


@webhook_app.command("list")
def webhook_list(workspace: WorkspaceOpt = "default") -> None:
    """The workspace's endpoints: events, state, deliveries by status."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        rows = webhooks.list_webhooks(db, workspace_id=ws.id)
    table = Table("id", "url", "events", "state", "deliveries", "last success")
    for e in rows:
        state = "enabled" if e["enabled"] else "DISABLED"
        if e["enabled"] and e["failing_since"]:
            state = f"failing since {_when(e['failing_since'])}"
        counts = ", ".join(f"{k.lower()} {v}" for k, v in sorted(e["deliveries"].items()))
        table.add_row(
            str(e["id"]),
            esc(e["url"]),
            esc(", ".join(e["events"])),
            state,
            counts,
            _when(e["last_success_at"]),
        )
    console.print(table)
    for e in rows:
        if not e["enabled"]:
            console.print(f"[yellow]#{e['id']}: {esc(e['disabled_reason'] or 'disabled')}[/]")


@webhook_app.command("remove")
def webhook_remove(endpoint_id: EndpointArg, workspace: WorkspaceOpt = "default") -> None:
    """Delete an endpoint, its pending deliveries and their log."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        gone = webhooks.delete_webhook(db, endpoint_id, workspace_id=ws.id)
    console.print(f"Webhook #{gone['id']} ({esc(gone['url'])}) removed.")


@webhook_app.command("rotate-secret")
def webhook_rotate(endpoint_id: EndpointArg, workspace: WorkspaceOpt = "default") -> None:
    """A new signing secret (the old one keeps signing beside it for 24 hours)."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        endpoint = webhooks.rotate_secret(db, endpoint_id, workspace_id=ws.id)
    _print_secret(endpoint, "has a new secret")


@webhook_app.command("enable")
def webhook_enable(endpoint_id: EndpointArg, workspace: WorkspaceOpt = "default") -> None:
    """Enable an endpoint that was disabled after days of failures."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        webhooks.enable_webhook(db, endpoint_id, workspace_id=ws.id)
    console.print(f"Webhook #{endpoint_id} enabled.")


@webhook_app.command("deliveries")
def webhook_deliveries(
    endpoint_id: EndpointArg,
    status: Annotated[
        str | None, typer.Option(help="PENDING, SUCCEEDED, FAILED or SKIPPED")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    workspace: WorkspaceOpt = "default",
) -> None:
    """The endpoint's latest deliveries, each attempt with its status code and duration."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        rows = webhooks.list_deliveries(
            db, endpoint_id, workspace_id=ws.id, status=status, limit=limit
        )
    table = Table("id", "event", "webhook-id", "status", "attempts", "next / done", "attempt log")
    for d in rows:
        attempts = "\n".join(
            f"{_when(a['started_at'])} "
            + (f"HTTP {a['status_code']}" if a["status_code"] else "no answer")
            + (f" {a['duration_ms']} ms" if a["duration_ms"] is not None else "")
            + (f" {esc(a['error'])}" if a["error"] else "")
            for a in d["log"]
        )
        table.add_row(
            str(d["id"]),
            d["type"] or "",
            d["webhook_id"],
            d["status"],
            str(d["attempts"]),
            _when(d["delivered_at"] or d["next_attempt_at"]),
            attempts,
        )
    console.print(table)


@webhook_app.command("replay")
def webhook_replay(
    endpoint_id: EndpointArg,
    delivery_id: Annotated[
        int, typer.Argument(help="The delivery's id (`aicmo webhook deliveries`)")
    ],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Send a delivery again at the next worker tick (same webhook-id, fresh retry budget)."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        d = webhooks.replay_delivery(db, endpoint_id, delivery_id, workspace_id=ws.id)
    console.print(f"Delivery #{d['id']} ({d['type']}) queued again.")


@webhook_app.command("deliver")
def webhook_deliver(
    loop: Annotated[bool, typer.Option(help="Keep delivering until Ctrl-C / SIGTERM")] = False,
    interval: Annotated[float, typer.Option(min=0.05, help="Seconds between rounds")] = 2.0,
    lease: Annotated[
        float, typer.Option(min=1.0, help="Seconds a claimed delivery is ours")
    ] = webhooks.LEASE.total_seconds(),
) -> None:
    """Deliver what is due now (the worker does this every tick; this is the sender alone)."""
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    name = worker_name()
    total: dict[str, int] = {}
    while True:
        with db_session() as db:
            counts = webhooks.deliver_due(
                db, worker=name, now=utcnow(), lease=timedelta(seconds=lease)
            )
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
        if not loop or stop.wait(interval):
            break
    summary = ", ".join(f"{k} {v}" for k, v in sorted(total.items())) or "nothing due"
    console.print(f"Webhooks: {summary}.")


__all__ = ["webhook_app"]
