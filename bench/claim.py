"""Benchmark: claiming 500 due enrollments with 10k vs 1M enrollments in the table.

The claim must cost what the due work costs, not what the table holds: finished rows
pile up forever. Each case builds a fresh database with the same 500 due enrollments
among N (the others finished, or active but due later), then times `claim_due` for 500
(median of several cycles after a warm-up; claims released between cycles).

    python bench/claim.py [--big 1000000] [--small 10000] [--cycles 7]

Prints one line per database, `ratio = time(big) / time(small)` first (goal <= 1.5).
PostgreSQL runs when AICMO_TEST_DATABASE_URL is set (own schema, dropped after).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, insert, text, update

from aicmo.cam.db_models import CampaignDB, EnrollmentDB, LeadDB, SequenceConfigDB
from aicmo.db import migrate
from aicmo.db.connect import make_engine, session_factory
from aicmo.operator_services.engine.tick import claim_due

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DUE = 500
CHUNK = 20_000


def populate(engine: Engine, total: int) -> None:
    with session_factory(engine)() as db:
        seq = SequenceConfigDB(
            workspace_id=1, name="bench", steps=[], created_at=NOW, updated_at=NOW
        )
        db.add(seq)
        db.flush()
        campaign = CampaignDB(
            workspace_id=1,
            name="bench",
            status="ACTIVE",
            sequence_id=seq.id,
            settings={},
            created_at=NOW,
            updated_at=NOW,
        )
        db.add(campaign)
        db.commit()
        campaign_id = campaign.id
        for start in range(0, total, CHUNK):
            ids = range(start, min(total, start + CHUNK))
            db.execute(
                insert(LeadDB),
                [
                    {
                        "id": i + 1,
                        "workspace_id": 1,
                        "email": f"l{i}@bench.example",
                        "email_key": f"l{i}@bench.example",
                        "stage": "NEW",
                        "custom_fields": {},
                        "grade_reasons": [],
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                    for i in ids
                ],
            )
            rows = []
            for i in ids:
                if i < DUE:
                    state, at = "ACTIVE", NOW - timedelta(minutes=5)
                elif i % 5 == 0:
                    state, at = "ACTIVE", NOW + timedelta(days=3)
                else:
                    state, at = "COMPLETED", None
                rows.append(
                    {
                        "workspace_id": 1,
                        "campaign_id": campaign_id,
                        "lead_id": i + 1,
                        "state": state,
                        "step_index": 0,
                        "channel_index": 0,
                        "retries": 0,
                        "next_run_at": at,
                        "created_at": NOW,
                        "updated_at": NOW,
                    }
                )
            db.execute(insert(EnrollmentDB), rows)
            db.commit()
        db.execute(text("ANALYZE"))  # the planner sees the table as it is
        db.commit()


def time_claims(engine: Engine, cycles: int) -> list[float]:
    times = []
    with session_factory(engine)() as db:
        for cycle in range(cycles + 1):
            t0 = time.perf_counter()
            got = claim_due(db, now=NOW, worker=f"w{cycle}", batch=DUE)
            elapsed = time.perf_counter() - t0
            assert len(got) == DUE, len(got)
            db.execute(update(EnrollmentDB).values(claimed_by=None, claimed_until=None))
            db.commit()
            if cycle:  # the first is the warm-up
                times.append(elapsed)
    return times


def case(
    url_for: Callable[[str], tuple[str, Callable[[], None]]], total: int, cycles: int
) -> list[float]:
    url, cleanup = url_for(str(total))
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        populate(engine, total)
        return time_claims(engine, cycles)
    finally:
        engine.dispose()
        cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--cycles", type=int, default=7)
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory(prefix="aicmo-claim-") as tmp:

        def sqlite_url(tag: str) -> tuple[str, Callable[[], None]]:
            return f"sqlite:///{Path(tmp) / f'claim-{tag}.db'}", lambda: None

        targets = [("sqlite", sqlite_url)]
        base = os.environ.get("AICMO_TEST_DATABASE_URL")
        if base:
            admin = make_engine(base)

            def pg_url(tag: str) -> tuple[str, Callable[[], None]]:
                schema = f"bench_claim_{uuid.uuid4().hex[:8]}"
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))

                def drop() -> None:
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))

                sep = "&" if "?" in base else "?"
                return f"{base}{sep}options=-csearch_path%3D{schema}", drop

            targets.append(("postgresql", pg_url))
        else:
            print("db=postgresql skipped (set AICMO_TEST_DATABASE_URL)")
        for name, url_for in targets:
            small = case(url_for, args.small, args.cycles)
            big = case(url_for, args.big, args.cycles)
            ratio = statistics.median(big) / statistics.median(small)
            lines.append(
                (
                    ratio,
                    (
                        f"ratio={ratio:.2f} big_median_ms={statistics.median(big) * 1000:.1f} "
                        f"small_median_ms={statistics.median(small) * 1000:.1f} "
                        f"big_min_ms={min(big) * 1000:.1f} small_min_ms={min(small) * 1000:.1f} "
                        f"due={DUE} big={args.big} small={args.small} "
                        f"cycles={args.cycles} db={name}"
                    ),
                )
            )
            print(lines[-1][1], flush=True)
    print("# worst case last:")
    for _, line in sorted(lines):
        print(line)


if __name__ == "__main__":
    main()
