"""``aicmo demo``: the main job on the embedded default, start to finish."""

from __future__ import annotations

import os
import secrets
import socket
import uuid
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.panel import Panel
from sqlalchemy.orm import Session

from aicmo import operator_services as ops
from aicmo.bootstrap import initialize
from aicmo.cli.common import console, esc, leads_table
from aicmo.cli.main import app, print_import_report
from aicmo.cli.sending import serve_app
from aicmo.config import get_settings
from aicmo.db.connect import make_engine, session_factory
from aicmo.demo_site import DemoSite, create_demo_site
from aicmo.operator_services import accounts, campaigns
from aicmo.operator_services.channels import contact_form as contact_forms
from aicmo.operator_services.channels import tasks
from aicmo.operator_services.crm.replies import list_replies
from aicmo.operator_services.engine.tick import run_due
from aicmo.operator_services.inbound.processing import process_inbound_message
from aicmo.operator_services.uow import utcnow
from aicmo.transports.safe_http import SafeHttpClient
from aicmo.web.background import serve_in_background

DEMO_CSV = "demo_leads.csv"
DEMO_STEPS: list[dict[str, Any]] = [
    {
        "channel": "EMAIL",
        "fallback": ["LINKEDIN", "CONTACT_FORM"],
        "template": {
            "subject": "Quick question, {{ first_name | default('there') }}",
            "body": "Hi {{ first_name | default('there') }},\n\nI saw what "
            "{{ company | default('your team') }} is building and wanted to ask one question.\n",
        },
    },
    {
        "channel": "EMAIL",
        "delay_business_days": 2,
        "template": {
            "subject": "Re: quick question",
            "body": "Hi {{ first_name | default('there') }}, floating this back up.\n",
        },
    },
]

#: The demo admin's login (a reserved example domain).
DEMO_ADMIN = "admin@aicmo-demo.example"


def _outcomes(tick: dict[str, Any]) -> str:
    parts = [f"{what} {n}" for what, n in sorted(tick["by_outcome"].items())]
    return ", ".join(parts) or "nothing due"


SOCIAL_STEPS: list[dict[str, Any]] = [
    {
        "channel": "LINKEDIN",
        "fallback": ["CONTACT_FORM"],
        "template": {
            "LINKEDIN": {
                "body": "Hi {{ first_name }}, I enjoyed your post about {{ company }}'s "
                "roadmap. Open to compare notes?",
                "note": "Hi {{ first_name }}, fellow data person here.",
            },
            "CONTACT_FORM": {
                "subject": "Question for {{ company | default('your team') }}",
                "body": "Hello,\n\nI would like to ask {{ first_name | default('you') }} one "
                "question about your analytics work. Could you pass this on?\n",
            },
        },
    },
]


def _linkedin_and_forms(db: Session, run: str, now: datetime) -> None:
    """LinkedIn as operator tasks, and contact forms on a small site served on loopback."""
    console.print(
        "\n[bold]5. LinkedIn and contact forms[/]: no LinkedIn provider account is set, so "
        "LinkedIn steps become tasks for a person; leads without a profile fall back to the "
        "contact form of their site (a demo site on 127.0.0.1, the only address the demo "
        "lets the SSRF guard reach)"
    )
    site = DemoSite()
    settings = get_settings()
    if not settings.sender_name:
        # Forms need a name to sign with; a real installation sets AICMO_SENDER_*.
        os.environ["AICMO_SENDER_NAME"] = "Alex Martin"
        os.environ.setdefault("AICMO_SENDER_COMPANY", "aicmo demo")
        get_settings.cache_clear()
    previous = contact_forms.client_factory
    contact_forms.client_factory = lambda _s: SafeHttpClient(allow_loopback=True)
    try:
        with (
            serve_in_background(create_demo_site(site)) as base,
            serve_in_background(create_demo_site(DemoSite())) as other,
        ):
            people: list[dict[str, Any]] = [
                {
                    "first_name": "Mary",
                    "last_name": "Somerville",
                    "company": "Connexion Labs",
                    "linkedin_url": "https://www.linkedin.com/in/mary-somerville-demo",
                },
                {
                    "first_name": "Ada",
                    "last_name": "Yonath",
                    "company": "Ribosome Analytics",
                    "email": "ada@ribosome-analytics.example",
                    "website": f"{base}/",
                },
                {
                    "first_name": "Lise",
                    "last_name": "Meitner",
                    "company": "Fission Partners",
                    "email": "lise@fission-partners.example",
                    "form_url": f"{other}/captcha/",  # another site: one form per site
                },
            ]
            for person in people:
                ops.create_lead(db, tags=[f"social-{run}"], source="demo", **person)
            name = f"Demo social {run}"
            campaigns.create_campaign(
                db, name, steps=SOCIAL_STEPS, audience={"tag": f"social-{run}"}
            )
            campaigns.start_campaign(db, name)
            now = utcnow()
            first = run_due(db, now=now, worker=f"demo-{run}")
            again = run_due(db, now=now, worker=f"demo-{run}")  # the fallbacks, at once
            console.print(f"  tick 1: {_outcomes(first)}; tick 2 (fallbacks): {_outcomes(again)}")
            for m in ops.get_outreach_history(db, channel="CONTACT_FORM", limit=10):
                if m["status"] == "SENT":
                    d = m["details"] or {}
                    console.print(
                        f"  form submitted at {d.get('page')}: HTTP {d.get('status')} → "
                        f"{d.get('final_url')} ({d.get('verdict')})",
                        soft_wrap=True,
                    )
            for got in site.received:
                console.print(
                    f"  the site received: name={got.get('your-name')!r} "
                    f"email={got.get('your-email')!r} honeypot left empty="
                    f"{not got.get('url')}",
                    soft_wrap=True,
                )
            open_tasks = tasks.list_tasks(db, now=now)
            for t in open_tasks:
                console.print(f"  task #{t['id']}: {t['title']} — {t['url']}", soft_wrap=True)
                console.print(f"    [dim]why a person: {t['reason']}[/]", soft_wrap=True)
            linkedin = [t for t in open_tasks if t["channel"] == "LINKEDIN"]
            if linkedin:
                done = tasks.complete_task(
                    db, linkedin[0]["id"], note="sent from the demo", now=now
                )
                console.print(
                    f"  the operator marks task #{done['id']} done "
                    f"(`aicmo tasks done {done['id']}`): the sequence goes on ({done['sequence']})"
                )
            st = campaigns.campaign_status(db, name)
            console.print(
                "  enrollments: "
                + ", ".join(f"{k.lower()} {v}" for k, v in sorted(st["enrollments"].items()))
            )
    finally:
        contact_forms.client_factory = previous


def demo_csv_path() -> Path:
    return Path(str(resources.files("aicmo.data").joinpath(DEMO_CSV)))


@app.command()
def demo(
    once: Annotated[
        bool, typer.Option("--once", help="Exit when done instead of serving the dashboard")
    ] = False,
    port: Annotated[
        int,
        typer.Option(help="Port of the dashboard (another free one if it is taken)", min=0),
    ] = 8000,
    database: Annotated[
        Path | None,
        typer.Option(help="SQLite file for the demo (default: <data dir>/demo/aicmo-demo.db)"),
    ] = None,
) -> None:
    """Run the main job on a fresh embedded database (import, grade, run campaigns, replies
    arrive), then serve the web dashboard on it until Ctrl-C (not with --once)."""
    settings = get_settings()
    db_file = database or settings.data_dir / "demo" / "aicmo-demo.db"
    db_file.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_file}{suffix}").unlink(missing_ok=True)
    demo_settings = settings.model_copy(update={"database_url": f"sqlite:///{db_file}"})
    engine = make_engine(demo_settings.resolved_database_url)
    try:
        initialize(demo_settings, engine)
        console.print(
            Panel.fit(f"aicmo demo: fresh SQLite database at {esc(db_file)}", style="bold")
        )
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
                "\n[bold]4. A two-step campaign[/] over the A and B leads, through the real "
                "engine (no mailbox configured: email goes to the local outbox)"
            )
            run = uuid.uuid4().hex[:6]
            name = f"Demo {run}"
            campaigns.create_campaign(db, name, steps=DEMO_STEPS, audience={"grade": ["A", "B"]})
            started = campaigns.start_campaign(db, name)
            console.print(f"  started: {started['enrolled']} lead(s) enrolled")
            now = utcnow()
            tick = run_due(db, now=now, worker=f"demo-{run}")
            console.print(f"  step 1 now: {_outcomes(tick)}")
            history = ops.get_outreach_history(db, limit=1)
            if history:
                console.print(f"  [dim]{history[0]['provider_message_id']}[/]", soft_wrap=True)
            quitter = ops.find_leads(db, grade=["A"], limit=1)
            if quitter:
                ops.add_suppression(db, quitter[0]["email"], reason="unsubscribed")
                console.print(f"  {quitter[0]['email']} unsubscribes before the follow-up")
            later = run_due(db, now=now + timedelta(days=4), worker=f"demo-{run}")
            console.print(f"  step 2, four days later (simulated clock): {_outcomes(later)}")
            st = campaigns.campaign_status(db, name)
            console.print(
                "  enrollments: "
                + ", ".join(f"{k.lower()} {v}" for k, v in sorted(st["enrollments"].items()))
            )
            _linkedin_and_forms(db, run, now)
            _replies_arrive(db, skip={q["email"] for q in quitter})
            console.print("\n[bold]7. Channels and metrics[/] (last 7 days)")
            m = ops.get_channel_metrics(db, days=7)
            for c in ops.list_channel_configs(db):
                mc = m[c["channel"]]
                console.print(
                    f"  {c['channel']}: limits {c['rate_limit_per_hour']}/hour, "
                    f"{c['rate_limit_per_day']}/day; attempted {mc['attempted']}, sent {mc['sent']}"
                )
            access = _demo_access(db)
    finally:
        engine.dispose()
    url = f"sqlite:///{db_file}"
    console.print("\nDone. Explore it:")
    console.print(f"  AICMO_DATABASE_URL={esc(url)} aicmo leads list", soft_wrap=True)
    console.print(
        "\n[bold]8. The dashboard and the REST API[/] on this demo database: a demo admin "
        "and an API key "
        "(made for the demo only; shown once)"
    )
    console.print(f"  admin: {esc(access['email'])}  password: {esc(access['password'])}")
    console.print(f"  API key: {esc(access['key'])}", soft_wrap=True)
    if once:
        console.print(f"  serve it:  AICMO_DATABASE_URL={esc(url)} aicmo serve", soft_wrap=True)
        console.print("  then open http://127.0.0.1:8000/ (the dashboard) or /docs (the API)")
        return
    _serve_dashboard(url, port, access)


def _free_port(wanted: int) -> int:
    """``wanted`` if nothing listens there, else a free port the system picks."""
    for candidate in (wanted, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As the server will bind: a port left in TIME_WAIT by the last run is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise typer.BadParameter("no free port on 127.0.0.1")


def _serve_dashboard(url: str, port: int, access: dict[str, str]) -> None:
    """The dashboard on the demo's database, on loopback only, with a worker (a campaign
    started in the browser sends to the local outbox), until Ctrl-C."""
    os.environ["AICMO_DATABASE_URL"] = url
    get_settings.cache_clear()
    chosen = _free_port(port)
    base = f"http://127.0.0.1:{chosen}"
    console.print(
        Panel.fit(
            f"[bold]The dashboard:[/] {base}/\n"
            f"sign in as {esc(access['email'])}  password: {esc(access['password'])}\n"
            f"the API: {base}/api/v1 (documentation at {base}/docs)\n"
            "[dim]Ctrl-C stops it. Run `make demo` again for a fresh demo.[/]",
            title="Serving the demo",
        )
    )
    if chosen != port and port:
        console.print(f"[yellow]port {port} is taken; serving on {chosen}[/]")
    serve_app("127.0.0.1", chosen, with_worker=True, log_level="warning")


#: What two leads answer to the first email: the inbox and the reply categories have data.
DEMO_REPLIES: tuple[tuple[str, str], ...] = (
    (
        "Re: Quick question",
        "Hi, thanks for reaching out. Sounds interesting: could you send more details "
        "about pricing? Happy to set up a call next week.",
    ),
    (
        "Re: Quick question",
        "Thanks, but we are not looking for anything like this right now.",
    ),
    (
        "Automatic reply: Quick question",
        "I am out of the office until Monday with limited access to email. "
        "I will reply when I am back.",
    ),
)


def _replies_arrive(db: Session, *, skip: set[str]) -> None:
    """Answers to the first email, threaded to it: interested, not interested, and an
    out-of-office notice (which is not a reply: the sequence goes on)."""
    console.print(
        "\n[bold]6. Replies arrive[/] (parsed, threaded to the email they answer and "
        "categorised; an out-of-office reply does not stop the sequence)"
    )
    sent = [
        m
        for m in ops.get_outreach_history(db, channel="EMAIL", limit=50)
        if m["status"] == "SENT"
        and m["rfc_message_id"]
        and m["step_index"] == 0
        and m["recipient"] not in skip  # who unsubscribed does not write back
    ]
    for message, (subject, body) in zip(reversed(sent), DEMO_REPLIES, strict=False):
        lead = ops.get_lead(db, message["lead_id"])
        raw = (
            f"From: {lead['first_name'] or ''} <{lead['email']}>\r\n"
            f"To: outreach@aicmo-demo.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <{uuid.uuid4().hex}@{lead['email'].split('@')[1]}>\r\n"
            f"In-Reply-To: {message['rfc_message_id']}\r\n"
            f"References: {message['rfc_message_id']}\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{body}\r\n"
        ).encode()
        result = process_inbound_message(db, raw)
        console.print(f"  from {esc(lead['email'])}: read as {esc(str(result['kind']))}")
    for reply in list_replies(db, workspace_id=1)[:5]:
        console.print(
            f"  inbox: reply #{reply['id']} from {esc(reply['lead_email'] or '')}, "
            f"category {reply['category']} (rule {reply['rule'] or 'none'})"
        )


def _demo_access(db: Session) -> dict[str, str]:
    """A demo admin (random password) and an admin API key for the demo database."""
    password = secrets.token_urlsafe(12)
    user = accounts.add_user(db, DEMO_ADMIN, password, role="admin", workspace_id=1)
    key = accounts.create_api_key(
        db, workspace_id=1, name="demo", role="admin", created_by=int(user["id"])
    )
    return {"email": DEMO_ADMIN, "password": password, "key": str(key["key"])}
