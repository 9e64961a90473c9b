"""``aicmo demo``: the main job on the embedded default, start to finish."""

from __future__ import annotations

import uuid
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer
from rich.panel import Panel

from aicmo import operator_services as ops
from aicmo.app import initialize
from aicmo.cli.common import console, leads_table
from aicmo.cli.main import app, print_import_report
from aicmo.config import get_settings
from aicmo.db.engine import make_engine, session_factory

DEMO_CSV = "demo_leads.csv"


def demo_csv_path() -> Path:
    return Path(str(resources.files("aicmo.data").joinpath(DEMO_CSV)))


@app.command()
def demo(
    once: Annotated[bool, typer.Option("--once", help="Exit when done (for scripts)")] = False,
    database: Annotated[
        Path | None,
        typer.Option(help="SQLite file for the demo (default: <data dir>/demo/aicmo-demo.db)"),
    ] = None,
) -> None:
    """Run the main job on a fresh embedded database: import, grade, show the leads."""
    settings = get_settings()
    db_file = database or settings.data_dir / "demo" / "aicmo-demo.db"
    db_file.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    demo_settings = settings.model_copy(update={"database_url": f"sqlite:///{db_file}"})
    engine = make_engine(demo_settings.resolved_database_url)
    try:
        initialize(demo_settings, engine)
        console.print(Panel.fit(f"aicmo demo: fresh SQLite database at {db_file}", style="bold"))
        csv_path = demo_csv_path()
        console.print(
            f"\n[bold]1. Import[/] {csv_path.name} (made-up leads, reserved example domains)"
        )
        with session_factory(engine)() as db:
            report = ops.import_leads_csv(db, csv_path, source="demo")
            print_import_report(report)
            console.print("\n[bold]2. Re-import the same file[/]: nothing is duplicated")
            again = ops.import_leads_csv(db, csv_path, source="demo")
            console.print(
                f"created {again.created}, updated {again.updated}, "
                f"unchanged {again.unchanged}, rejected {again.rejected_count} (same bad lines)"
            )
            console.print("\n[bold]3. Grade[/] against the default ideal-customer profile")
            result = ops.grade_leads(db)
            g = result["grades"]
            console.print(f"A {g['A']}  B {g['B']}  C {g['C']}  D {g['D']}")
            console.print(
                leads_table(ops.find_leads(db, limit=100), title="Graded leads, best first")
            )
            console.print(
                "\n[bold]4. Email the A leads[/] (no mailbox configured: the local outbox)"
            )
            best = ops.find_leads(db, grade=["A"], limit=10)
            run = uuid.uuid4().hex[:8]
            for lead in best:
                sent = ops.send_outreach_message(
                    db,
                    lead["id"],
                    "Hi {{ first_name | default('there') }},\n\n"
                    "I saw what {{ company | default('your team') }} is building and wanted to "
                    "ask one question.\n",
                    "Quick question, {{ first_name | default('there') }}",
                    idempotency_key=f"demo:{run}:{lead['id']}",
                )
                console.print(f"  {lead['email']}: {sent['status']} via {sent['transport']}")
            if best:
                console.print(f"  [dim]{sent['response']}[/]", soft_wrap=True)
            suppressed = (
                ops.add_suppression(db, best[-1]["email"], reason="unsubscribed") if best else None
            )
            if suppressed is not None:
                follow_up = ops.send_outreach_message(
                    db,
                    best[-1]["id"],
                    "One more thing",
                    "Follow-up",
                    idempotency_key=f"demo:{run}:{best[-1]['id']}:2",
                )
                console.print(
                    f"  {best[-1]['email']} unsubscribed, a follow-up is {follow_up['status']}: "
                    f"{follow_up['error']}"
                )
            console.print("\n[bold]5. Channels and metrics[/] (last 7 days)")
            m = ops.get_channel_metrics(db, days=7)
            for c in ops.list_channel_configs(db):
                mc = m[c["channel"]]
                console.print(
                    f"  {c['channel']}: limits {c['rate_limit_per_hour']}/hour, "
                    f"{c['rate_limit_per_day']}/day; attempted {mc['attempted']}, sent {mc['sent']}"
                )
            console.print(
                "  [dim]LinkedIn and contact-form transports and the campaign engine come next.[/]"
            )
    finally:
        engine.dispose()
    console.print("\nDone. Explore it:")
    console.print(f"  AICMO_DATABASE_URL=sqlite:///{db_file} aicmo leads list", soft_wrap=True)
    if not once:
        console.print("[dim](nothing to serve yet: the web dashboard comes later; exiting)[/]")
