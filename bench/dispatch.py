"""Benchmark: messages end to end through the engine vs a bare smtplib loop.

Ours: N leads in one-step campaigns; ``run_due`` ticks until nothing is due: claim,
stop/suppression/limit checks, render, build, SENDING committed, SMTP to a loopback
aiosmtpd sink (its own process, like a real server) over one connection, outcome and
events recorded, with the garbage collector tuned as ``aicmo worker`` tunes it.
Baseline: the same messages built beforehand (not timed) and sent with ``smtplib`` over
one connection to the same sink. Neither side signs with DKIM.

The two alternate in rounds (baseline for a round's leads, then ours for the same number
of other leads, whose campaign starts then), so that a machine whose speed drifts during
the run slows both sides alike; the ratio is of the totals.

    python bench/dispatch.py [--messages 10000] [--rounds 5] [--batch 500]

Prints `ratio=… ours_per_s=… baseline_per_s=… conn=1 db=…` per database (goal ≥ 0.8),
the worst case last. PostgreSQL runs when AICMO_TEST_DATABASE_URL is set (own schema).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import smtplib
import socket
import tempfile
import time
from pathlib import Path
from typing import Any

_TMP = tempfile.mkdtemp(prefix="aicmo-dispatch-")
os.environ.setdefault("AICMO_DATA_DIR", _TMP)
os.environ.setdefault("AICMO_SECRET_KEY", "bench-secret-key-bench-secret-key-0123456789")
os.environ["AICMO_ALLOW_LOOPBACK"] = "1"

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import Engine, func, insert, select  # noqa: E402

from aicmo.bootstrap import initialize  # noqa: E402
from aicmo.cam.db_models import LeadDB, OutreachMessageDB  # noqa: E402
from aicmo.config import get_settings  # noqa: E402
from aicmo.db.connect import make_engine, session_factory  # noqa: E402
from aicmo.operator_services import campaigns  # noqa: E402
from aicmo.operator_services.channels import update_channel_config  # noqa: E402
from aicmo.operator_services.channels.email import close_transports  # noqa: E402
from aicmo.operator_services.channels.email_message import (  # noqa: E402
    EmailContent,
    EmailEnvelope,
    build_email,
    make_message_id,
)
from aicmo.operator_services.channels.mailboxes import add_mailbox  # noqa: E402
from aicmo.operator_services.engine.tick import run_due  # noqa: E402
from aicmo.operator_services.uow import utcnow  # noqa: E402
from aicmo.worker import tune_gc  # noqa: E402
from pgschema import pg_schema  # noqa: E402

SUBJECT = "Quick question, {{ first_name | default('there') }}"
BODY = (
    "Hi {{ first_name | default('there') }},\n\nI saw what {{ company | default('your team') }}"
    " is building and wanted to ask one question.\n"
)


class Sink:
    def __init__(self, count: Any) -> None:
        self.count = count

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.count.get_lock():
            self.count.value += 1
        return "250 2.0.0 Ok"


def run_sink(port: int, count: Any, stop: Any) -> None:
    """The SMTP server in its own process, as a real one would be (and off our GIL)."""
    controller = Controller(Sink(count), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


def populate(engine: Engine, n: int, port: int, rounds: int) -> list[str]:
    settings = get_settings()
    initialize(settings, engine)
    with session_factory(engine)() as db:
        now = utcnow()
        db.execute(
            insert(LeadDB),
            [
                {
                    "workspace_id": 1,
                    "email": f"lead{i}@bench.example",
                    "email_key": f"lead{i}@bench.example",
                    "first_name": f"Lead{i}",
                    "company": "Acme",
                    "stage": "NEW",
                    "source": "bench",
                    "custom_fields": {},
                    "grade_reasons": [],
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(n)
            ],
        )
        db.commit()
        for channel in ("EMAIL", "LINKEDIN", "CONTACT_FORM"):
            update_channel_config(
                db, channel, rate_limit_per_hour=1_000_000, rate_limit_per_day=1_000_000
            )
        add_mailbox(
            db,
            "bench",
            "sender@bench.example",
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            daily_cap=1_000_000,
            hourly_cap=1_000_000,
        )
        steps = [{"channel": "EMAIL", "template": {"subject": SUBJECT, "body": BODY}}]
        ids = list(db.scalars(select(LeadDB.id).order_by(LeadDB.id)))
        names = []
        for r in range(rounds):
            names.append(f"bench-{r}")
            campaigns.create_campaign(
                db, names[-1], steps=steps, audience={"lead_ids": ids[r::rounds]}
            )
    return names


def start(engine: Engine, name: str) -> None:
    with session_factory(engine)() as db:
        campaigns.start_campaign(db, name)


def ours(engine: Engine, batch: int) -> float:
    began = time.perf_counter()
    with session_factory(engine)() as db:
        while True:
            tick = run_due(db, now=utcnow(), worker="bench", batch=batch)
            if not tick["processed"]:
                break
    elapsed = time.perf_counter() - began
    close_transports()
    return elapsed


def sent_count(engine: Engine) -> int:
    with session_factory(engine)() as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(OutreachMessageDB)
                .where(OutreachMessageDB.status == "SENT")
            )
            or 0
        )


def baseline(leads: range, port: int) -> float:
    messages = [
        build_email(
            EmailContent(
                subject=f"Quick question, Lead{i}",
                text=f"Hi Lead{i},\n\nI saw what Acme is building and wanted to ask one "
                "question.\n",
                html=None,
            ),
            EmailEnvelope(
                from_name="",
                from_address="sender@bench.example",
                to_name=f"Lead{i}",
                to_address=f"lead{i}@bench.example",
            ),
            message_id=make_message_id(f"bench:{i}", "bench.example"),
            date=utcnow(),
            unsubscribe_https=f"https://localhost:8000/u/token{i}",
            unsubscribe_mailto="mailto:sender@bench.example?subject=unsubscribe",
            postal_address=None,
        )
        for i in leads
    ]
    began = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i, msg in zip(leads, messages, strict=True):
            smtp.sendmail("sender@bench.example", [f"lead{i}@bench.example"], msg)
    return time.perf_counter() - began


def _wait_for(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the SMTP sink did not start")


def run_case(engine: Engine, label: str, args: argparse.Namespace) -> float:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    count = multiprocessing.Value("i", 0)
    stop = multiprocessing.Event()
    sink = multiprocessing.Process(target=run_sink, args=(port, count, stop), daemon=True)
    sink.start()
    _wait_for(port)
    n, rounds = args.messages, args.rounds
    base_s = our_s = 0.0
    try:
        names = populate(engine, n, port, rounds)
        tune_gc()
        for r, name in enumerate(names):
            base_s += baseline(range(r, n, rounds), port)
            start(engine, name)
            our_s += ours(engine, args.batch)
        sent = sent_count(engine)
        assert sent == n, f"only {sent} of {n} sent"
        assert count.value == 2 * n, count.value
    finally:
        stop.set()
        sink.join(timeout=10)
    ratio = base_s / our_s
    print(
        f"ratio={ratio:.2f} ours_per_s={n / our_s:.0f} baseline_per_s={n / base_s:.0f} "
        f"messages={n} rounds={rounds} conn=1 db={label}",
        flush=True,
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    results: list[tuple[float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'dispatch.db'}")
        try:
            results.append((run_case(engine, "sqlite", args), "sqlite"))
        finally:
            engine.dispose()
    base = os.environ.get("AICMO_TEST_DATABASE_URL")
    if not base:
        print("db=postgresql skipped (AICMO_TEST_DATABASE_URL is not set)")
    else:
        with pg_schema(base) as url:
            engine = make_engine(url)
            try:
                results.append((run_case(engine, "postgresql", args), "postgresql"))
            finally:
                engine.dispose()
    worst = min(results)
    print(f"ratio={worst[0]:.2f} worst={worst[1]}")


if __name__ == "__main__":
    main()
