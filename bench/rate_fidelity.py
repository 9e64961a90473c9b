"""Benchmark: do mailbox limits let through what they promise, and never more?

1,000 mailboxes at 50 emails/day with a 60 s minimum gap between two sends of one
mailbox, unlimited demand, a simulated clock ticking every 5 s (a worker's tick) for 3
days. At each tick, every mailbox whose next slot has come sends once: the slot is asked
of the engine's own ``mailbox_next_slot`` (the function ``pick_sender`` uses, reading the
attempts recorded in the database), and each send is recorded as an attempt row.

Afterwards an independent brute-force check counts violations over the recorded rows:
any sliding 24 h (or 1 h) window with more sends than its cap, any two sends of one
mailbox closer than the gap. Fidelity = sends achieved / sends the configuration allows
(mailboxes x 50 x days).

    python bench/rate_fidelity.py [--mailboxes 1000] [--days 3] [--tick 5]

Prints `fidelity=… violations=…` per database, the last line for the worst case.
PostgreSQL runs when AICMO_TEST_DATABASE_URL is set (own schema, dropped after).
"""

from __future__ import annotations

import argparse
import heapq
import os
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

from sqlalchemy import Engine, insert, select

from aicmo.cam.db_models import MailboxDB, OutreachMessageDB
from aicmo.db import migrate
from aicmo.db.connect import make_engine, session_factory
from aicmo.operator_services.channels.limits import mailbox_next_slot
from pgschema import pg_schema

START = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
DAILY, HOURLY, GAP = 50, 50, timedelta(seconds=60)


def add_mailboxes(engine: Engine, n: int) -> list[int]:
    with session_factory(engine)() as db:
        rows = [
            {
                "workspace_id": 1,
                "name": f"mb{i}",
                "enabled": True,
                "from_address": f"s{i}@bench.example",
                "daily_cap": DAILY,
                "hourly_cap": HOURLY,
                "min_gap_seconds": int(GAP.total_seconds()),
                "smtp_host": "smtp.bench.example",
                "smtp_port": 587,
                "smtp_security": "starttls",
                "smtp_auth": "password",
                "imap_security": "tls",
                "imap_auth": "password",
                "imap_folder": "INBOX",
                "created_at": START,
                "updated_at": START,
            }
            for i in range(n)
        ]
        db.execute(insert(MailboxDB), rows)
        db.commit()
        return list(db.scalars(select(MailboxDB.id).order_by(MailboxDB.id)))


def simulate(engine: Engine, mailboxes: int, days: int, tick: int) -> tuple[int, float]:
    """Run the clock; returns (sends, seconds of wall time)."""
    ids = add_mailboxes(engine, mailboxes)
    end = START + timedelta(days=days)
    step = timedelta(seconds=tick)
    heap = [(START, mb) for mb in ids]
    heapq.heapify(heap)
    sends = 0
    seq = 0
    began = time.perf_counter()
    with session_factory(engine)() as db:
        boxes = {mb.id: mb for mb in db.scalars(select(MailboxDB))}
        now = START
        while now < end:
            batch: list[dict[str, object]] = []
            ready: list[int] = []
            while heap and heap[0][0] <= now:
                ready.append(heapq.heappop(heap)[1])
            for mb_id in ready:
                # The engine's question, asked of the database at this tick.
                slot = mailbox_next_slot(db, boxes[mb_id], now)
                if slot == now:
                    seq += 1
                    batch.append(
                        {
                            "workspace_id": 1,
                            "mailbox_id": mb_id,
                            "channel": "EMAIL",
                            "message_type": "cold_outreach",
                            "status": "SENT",
                            "idempotency_key": f"bench:{seq}",
                            "retry_count": 0,
                            "created_at": now,
                            "updated_at": now,
                            "sent_at": now,
                        }
                    )
                    sends += 1
            if batch:
                db.execute(insert(OutreachMessageDB), batch)
                db.commit()
            for mb_id in ready:
                slot = mailbox_next_slot(db, boxes[mb_id], now + timedelta(microseconds=1))
                if slot is not None:
                    heapq.heappush(heap, (slot, mb_id))
            now += step
    return sends, time.perf_counter() - began


def violations(engine: Engine) -> int:
    """Brute force over the recorded sends, independent of the engine's arithmetic."""
    per_box: dict[int, list[datetime]] = defaultdict(list)
    with engine.connect() as conn:
        for mb, at in conn.execute(
            select(OutreachMessageDB.mailbox_id, OutreachMessageDB.created_at)
        ):
            per_box[int(mb or 0)].append(at)
    bad = 0
    for times in per_box.values():
        times.sort()
        bad += sum(1 for a, b in pairwise(times) if b - a < GAP)
        for length, cap in ((timedelta(days=1), DAILY), (timedelta(hours=1), HOURLY)):
            lo = 0
            for hi, t in enumerate(times):
                while times[lo] <= t - length:
                    lo += 1
                if hi - lo + 1 > cap:
                    bad += 1
    return bad


def run_case(engine: Engine, label: str, args: argparse.Namespace) -> tuple[float, int]:
    migrate.upgrade(engine)
    sends, secs = simulate(engine, args.mailboxes, args.days, args.tick)
    allowed = args.mailboxes * DAILY * args.days
    bad = violations(engine)
    fidelity = sends / allowed
    print(
        f"fidelity={fidelity:.4f} violations={bad} sends={sends} allowed={allowed} "
        f"mailboxes={args.mailboxes} days={args.days} tick_s={args.tick} "
        f"wall_s={secs:.1f} db={label}",
        flush=True,
    )
    return fidelity, bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--tick", type=int, default=5, help="seconds between worker ticks")
    args = parser.parse_args()
    results: list[tuple[float, int, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'fidelity.db'}")
        try:
            f, v = run_case(engine, "sqlite", args)
            results.append((f, v, "sqlite"))
        finally:
            engine.dispose()
    base = os.environ.get("AICMO_TEST_DATABASE_URL")
    if not base:
        print("db=postgresql skipped (AICMO_TEST_DATABASE_URL is not set)")
    else:
        with pg_schema(base) as url:
            engine = make_engine(url)
            try:
                f, v = run_case(engine, "postgresql", args)
                results.append((f, v, "postgresql"))
            finally:
                engine.dispose()
    worst = min(results, key=lambda r: (r[0], -r[1]))
    print(f"fidelity={worst[0]:.4f} violations={max(r[1] for r in results)} worst={worst[2]}")


if __name__ == "__main__":
    main()
