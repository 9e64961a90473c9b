"""``aicmo reply …``: the replies from every mailbox and LinkedIn account, with the category
the rules gave each one and the rule that fired; the operator's correction."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from aicmo.cam.domain.reply_categories import ReplyCategory
from aicmo.cli.common import WorkspaceOpt, cell, console, db_session, esc
from aicmo.cli.main import app
from aicmo.operator_services import accounts
from aicmo.operator_services.crm import replies

reply_app = typer.Typer(
    help="Human replies (email and LinkedIn): list them by category, correct a category.",
    no_args_is_help=True,
)
app.add_typer(reply_app, name="reply")

CATEGORIES = ", ".join(c.value for c in ReplyCategory)


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else ""


@reply_app.command("list")
def reply_list(
    category: Annotated[
        str | None, typer.Option("--category", "-c", help=f"Only this category ({CATEGORIES})")
    ] = None,
    campaign: Annotated[int | None, typer.Option(help="Only replies to this campaign id")] = None,
    channel: Annotated[str | None, typer.Option(help="Only email or linkedin")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500, help="How many, newest first")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print the replies as JSON")] = False,
    workspace: WorkspaceOpt = "default",
) -> None:
    """Replies newest first: when, who, channel, category and the rule that gave it."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        rows = replies.list_replies(
            db,
            workspace_id=ws.id,
            category=category,
            campaign_id=campaign,
            channel=channel,
            limit=limit,
        )
    if as_json:
        console.print_json(json.dumps(rows, default=str))
        return
    table = Table("id", "received", "channel", "from", "category", "rule", "snippet")
    for r in rows:
        who = r["lead_name"] or r["lead_email"] or r["sender"] or ""
        table.add_row(
            str(r["id"]),
            _when(r["received_at"]),
            r["channel"].lower(),
            cell(who),
            cell(
                r["category"], "bold" if r["category"] in ("interested", "meeting_booked") else ""
            ),
            cell(r["rule"]),
            cell((r["snippet"] or "")[:80]),
        )
    console.print(table)
    if not rows:
        console.print("No replies yet." if category is None else "No replies in that category.")


@reply_app.command("set")
def reply_set(
    reply_id: Annotated[int, typer.Argument(help="The reply's id (see `aicmo reply list`)")],
    category: Annotated[str, typer.Argument(help=f"The right category: {CATEGORIES}")],
    workspace: WorkspaceOpt = "default",
) -> None:
    """Correct a reply's category; the lead's stage and grade follow."""
    with db_session() as db:
        ws = accounts.resolve_workspace(db, workspace)
        out = replies.set_reply_category(db, reply_id, category, workspace_id=ws.id, actor="cli")
    if not out["changed"]:
        console.print(f"Reply #{out['id']} is already {esc(out['category'])}; nothing changed.")
        return
    stage = f" Lead stage: {esc(out['lead_stage'])}." if out["lead_stage"] else ""
    console.print(f"Reply #{out['id']} is now {esc(out['category'])}.{stage}")
