"""``aicmo costs …`` and ``aicmo attribution``: what sending costs, and what it earned."""

from __future__ import annotations

import csv
import sys
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from aicmo.cli.common import WorkspaceOpt, cell, console, db_session, err_console, esc, fail
from aicmo.cli.main import app
from aicmo.operator_services import accounts
from aicmo.operator_services.analytics import costs
from aicmo.operator_services.analytics.attribution import attribution_report

costs_app = typer.Typer(
    help=(
        "What sending costs, per channel, mailbox or LinkedIn account: a monthly fee and/or "
        "a price per send, in the workspace's one currency (see docs/attribution.md)."
    ),
    no_args_is_help=True,
)
app.add_typer(costs_app, name="costs")

ChannelOpt = Annotated[
    str | None, typer.Option("--channel", help="A channel: EMAIL, LINKEDIN, CONTACT_FORM")
]
MailboxOpt = Annotated[str | None, typer.Option("--mailbox", help="A mailbox, by name")]
AccountOpt = Annotated[
    str | None, typer.Option("--linkedin-account", help="A LinkedIn provider account, by name")
]
_MODELS = "first_touch, last_touch, linear or position_based"


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def _count(value: Decimal | int) -> str:
    text = f"{Decimal(value):.4f}".rstrip("0").rstrip(".")
    return text or "0"


@costs_app.command("set")
def costs_set(
    channel: ChannelOpt = None,
    mailbox: MailboxOpt = None,
    linkedin_account: AccountOpt = None,
    monthly: Annotated[
        str | None, typer.Option("--monthly", help="Monthly fee, e.g. 30 or 12.50")
    ] = None,
    per_action: Annotated[
        str | None, typer.Option("--per-action", help="Price per send, e.g. 0.001")
    ] = None,
    currency: Annotated[
        str | None,
        typer.Option("--currency", help="ISO 4217 code; default: the workspace's, else USD"),
    ] = None,
    workspace: WorkspaceOpt = "default",
) -> None:
    """Set the cost of one channel, mailbox or LinkedIn account (a value left out is kept)."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        rate = costs.set_cost(
            db,
            channel=channel,
            mailbox=mailbox,
            linkedin_account=linkedin_account,
            monthly=monthly,
            per_action=per_action,
            currency=currency,
            workspace_id=ws.id,
        )
    console.print(
        f"{rate['scope'].lower().replace('_', ' ')} {esc(rate['name'])}: "
        f"{rate['monthly']} {rate['currency']} a month, "
        f"{rate['per_action']} {rate['currency']} per send."
    )


@costs_app.command("remove")
def costs_remove(
    channel: ChannelOpt = None,
    mailbox: MailboxOpt = None,
    linkedin_account: AccountOpt = None,
    workspace: WorkspaceOpt = "default",
) -> None:
    """Remove the cost of one channel, mailbox or LinkedIn account."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        costs.remove_cost(
            db,
            channel=channel,
            mailbox=mailbox,
            linkedin_account=linkedin_account,
            workspace_id=ws.id,
        )
    console.print("Cost removed.")


@costs_app.command("list")
def costs_list(workspace: WorkspaceOpt = "default") -> None:
    """The workspace's costs."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        rates = costs.list_costs(db, workspace_id=ws.id)
    if not rates:
        console.print("No cost set. Set one: aicmo costs set --channel EMAIL --monthly 30")
        return
    table = Table("scope", "name", "channel", "monthly", "per send", "currency", box=box.SIMPLE)
    for r in rates:
        table.add_row(
            r["scope"].lower(),
            cell(r["name"]),
            r["channel"],
            str(r["monthly"]),
            str(r["per_action"]),
            r["currency"],
        )
    console.print(table)


def _parse_day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date like 2026-11-01, got {value!r}")


_CSV_COLUMNS = (
    "campaign",
    "step",
    "channel",
    "variant",
    "sends",
    "replies",
    "positive_replies",
    "meetings",
    "won_deals",
    "won_value",
    "cost",
    "cost_per_positive_reply",
    "cost_per_meeting",
    "cost_per_won_deal",
    "roi",
)


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        # A campaign named "=HYPERLINK(...)" must stay text in a spreadsheet.
        return "'" + value
    return str(value)


def _write_csv(report: dict[str, Any]) -> None:
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(_CSV_COLUMNS)
    for row in report["rows"]:
        step = row["step_index"]
        shown = {**row, "step": "" if step is None else step + 1}  # numbered from 1, as shown
        out.writerow([_csv_value(shown[c]) for c in _CSV_COLUMNS])
    totals = report["totals"]
    out.writerow(
        ["TOTAL", "", "", ""] + [_csv_value(totals[c]) for c in _CSV_COLUMNS[4:]],
    )


def _print_table(report: dict[str, Any]) -> None:
    currency = report["currency"] or ""
    title = (
        f"Attribution ({report['model']}), {report['from']} to {report['to']}, "
        f"lookback {report['lookback_days']} days"
    )
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for name in ("campaign", "step", "channel", "variant", "sends", "replies", "positive"):
        table.add_column(name, justify="right" if name in ("step", "sends") else "left")
    for name in ("meetings", "won", "won value", "cost", "cost/positive", "cost/meeting", "ROI"):
        table.add_column(name, justify="right")

    def figures(r: dict[str, Any]) -> list[str]:
        roi = "" if r["roi"] is None else f"{r['roi'] * 100:,.1f}%"
        return [
            str(r["sends"]),
            _count(r["replies"]),
            _count(r["positive_replies"]),
            _count(r["meetings"]),
            _count(r["won_deals"]),
            _money(r["won_value"]),
            _money(r["cost"]),
            _money(r["cost_per_positive_reply"]),
            _money(r["cost_per_meeting"]),
            roi,
        ]

    for r in report["rows"]:
        campaign = r["campaign"] if r["campaign_id"] is not None else "(no campaign)"
        step = "" if r["step_index"] is None else str(r["step_index"] + 1)
        table.add_row(cell(campaign), step, r["channel"], cell(r["variant"] or ""), *figures(r))
    table.add_section()
    table.add_row("total", "", "", "", *figures(report["totals"]))
    console.print(table)
    if currency:
        console.print(f"Money in {currency}.", end=" ")
    unallocated = report["totals"]["unallocated_cost"]
    if unallocated:
        console.print(
            f"{_money(unallocated)} of cost had no send in the period to share it"
            + (" (in the total)." if report["campaign"] is None else " (not in this campaign).")
        )
    else:
        console.print()
    missed = {k: v for k, v in report["unattributed"]["by_kind"].items() if v["count"]}
    if missed:
        parts = ", ".join(f"{v['count']} {k.replace('_', ' ')}" for k, v in missed.items())
        console.print(
            f"[yellow]Unattributed (no touch in the {report['lookback_days']}-day lookback):[/] "
            f"{esc(parts)}"
        )
        for item in report["unattributed"]["listed"][:20]:
            console.print(
                cell(f"  lead #{item['lead_id']}: {item['kind']} at {item['at']:%Y-%m-%d %H:%M}")
            )


@app.command("attribution")
def attribution(
    date_from: Annotated[str, typer.Option("--from", help="First day, e.g. 2026-11-01 (UTC)")],
    date_to: Annotated[str, typer.Option("--to", help="Last day, included (UTC)")],
    model: Annotated[str, typer.Option("--model", "-m", help=_MODELS)] = "linear",
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Only this campaign's rows")
    ] = None,
    lookback: Annotated[
        int | None,
        typer.Option(
            "--lookback-days",
            help="Touches older than this before an outcome earn nothing "
            "(default: AICMO_ATTRIBUTION_LOOKBACK_DAYS, 90)",
        ),
    ] = None,
    output: Annotated[str, typer.Option("--format", help="table or csv")] = "table",
    workspace: WorkspaceOpt = "default",
) -> None:
    """Replies, positive replies, meetings and won deals credited to each campaign, step,
    channel and variant by an attribution model, with cost, cost per outcome and ROI."""
    if output not in ("table", "csv"):
        fail(f"--format must be table or csv, got {output!r}")
    start, end = _parse_day(date_from, "--from"), _parse_day(date_to, "--to")
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        report = attribution_report(
            db,
            model=model,
            date_from=start,
            date_to=end,
            campaign=campaign,
            workspace_id=ws.id,
            lookback_days=lookback,
        )
    if output == "csv":
        _write_csv(report)
        missed = sum(v["count"] for v in report["unattributed"]["by_kind"].values())
        if missed:
            err_console.print(f"{missed} outcome(s) unattributed (no touch in the lookback).")
        return
    _print_table(report)
