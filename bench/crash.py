"""Crash run at scale: a 2-step campaign of 2,000 leads (or more) to a loopback SMTP sink,
worker processes killed with SIGKILL 20 times at random moments and restarted until done.

The suite runs the same harness at 150 leads (``tests/e2e/test_kill.py``); this is the
larger run the engine issue asks for. It prints one line per database:
`duplicates=0 unknown=… sent=… kills=… leads=… db=…` (the invariant is duplicates=0, one
attempt per lead and step, every attempt SENT or UNKNOWN; the run stops with an
AssertionError otherwise).

    python bench/crash.py [--leads 2000] [--kills 20] [--delay 0.005]

PostgreSQL runs when AICMO_TEST_DATABASE_URL is set (own schema, dropped after).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the harness lives in tests/
os.environ.setdefault("AICMO_SECRET_KEY", "bench-secret-key-bench-secret-key-0123456789")

from tests.e2e.crash import check_crash, run_crash

from aicmo.bootstrap import initialize
from aicmo.config import get_settings
from aicmo.db.connect import make_engine, session_factory
from pgschema import pg_schema


def case(url: str, label: str, args: argparse.Namespace, data_dir: Path) -> None:
    engine = make_engine(url)
    try:
        initialize(get_settings(), engine)
        began = time.perf_counter()
        with session_factory(engine)() as db:
            run = run_crash(
                db,
                url,
                data_dir,
                leads=args.leads,
                kills=args.kills,
                delay=args.delay,
                batch=100,
                finish_within=600,
            )
            statuses = check_crash(db, run)
        print(
            f"duplicates=0 unknown={statuses.get('UNKNOWN', 0)} sent={statuses.get('SENT', 0)} "
            f"received={len(run.received)} kills={run.kills} leads={args.leads} steps=2 "
            f"wall_s={time.perf_counter() - began:.0f} db={label}",
            flush=True,
        )
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--delay", type=float, default=0.005, help="sink pause per message (s)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["AICMO_DATA_DIR"] = str(Path(tmp) / "data")
        get_settings.cache_clear()
        case(f"sqlite:///{Path(tmp) / 'crash.db'}", "sqlite", args, Path(tmp) / "data")
    base = os.environ.get("AICMO_TEST_DATABASE_URL")
    if not base:
        print("db=postgresql skipped (AICMO_TEST_DATABASE_URL is not set)")
        return
    with pg_schema(base) as url, tempfile.TemporaryDirectory() as tmp:
        case(url, "postgresql", args, Path(tmp))


if __name__ == "__main__":
    main()
