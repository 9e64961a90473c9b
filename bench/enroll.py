"""Benchmark: `aicmo campaign validate` and `aicmo campaign start` over a large audience.

Builds N leads (default 1M) straight through the bulk writer, graded so that an audience
`grade: [A, B]` takes about half of them (1 % of the leads have no address for the
default sequence's second step, so validation has problems to report), and a campaign on
the `default` sequence (Email → LinkedIn → Contact form) with that audience. Then, as a
user runs them, each in its own process (the CLI's entry point, `aicmo.cli.main`):

- `campaign validate` (one untimed run first, as a warm-up),
- `campaign start` (every A/B lead enrolled),
- `campaign start` again (nobody new: what re-checking a large audience costs),

and measures each child's wall time, the command's own time (after the imports) and
peak memory (its own ``ru_maxrss``); a child that only starts the CLI gives the start-up
time (under load from other work, most of a short command's wall time). Baseline,
in the same run and database: one bare ``INSERT … SELECT`` of the same enrollments into
another campaign, from a child process too (what the database itself needs for the
rows). With ``--cycles`` above 1 the enrollments are deleted and the campaign set back
to DRAFT between cycles; medians and minima are printed.

    python bench/enroll.py [--leads 1000000] [--cycles 1] [--pg URL]

One line per database, ``ratio`` (baseline time / our start's time) first, then the goal
checks (validate < 10 s, start < 60 s, peak memory < 300 MB), last. PostgreSQL runs
with ``--pg`` or AICMO_TEST_DATABASE_URL (own schema, dropped after).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Table, delete, func, select, text, update
from sqlalchemy.orm import Session

from aicmo.cam.db_models import CampaignDB, EnrollmentDB, LeadDB
from aicmo.db import bulk, migrate
from aicmo.db.connect import make_engine, session_factory
from aicmo.operator_services import campaigns
from aicmo.operator_services.crm.workspace import ensure_workspace_defaults
from pgschema import pg_schema

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
CHUNK = 20_000
NAME = "Bench A/B"
BASELINE = "Bench baseline"
GOAL_VALIDATE_S = 10.0
GOAL_START_S = 60.0
GOAL_RSS_MB = 300.0
#: Grade by a lead's draw from 0..99: A below 20, B below 48, C below 75, D above.
GRADE_CUTS = ((20, "A", 80), (48, "B", 60), (75, "C", 40), (100, "D", 0))


def lead_row(i: int, rnd: random.Random) -> dict[str, Any]:
    draw = rnd.randrange(100)
    grade, floor = next((g, lo) for cut, g, lo in GRADE_CUTS if draw < cut)
    domain = f"company{i // 3}.example"
    email = f"first{i}.{i}@{domain}"
    # One lead in a hundred: an email only, so the LinkedIn / form step cannot reach it.
    reachable = i % 100 != 7
    linkedin = f"https://www.linkedin.com/in/first{i}" if reachable and i % 2 else None
    return {
        "email": email,
        "email_key": email,
        "first_name": f"First{i}",
        "last_name": f"Last{rnd.randrange(99_999)}",
        "company": f"Company {i // 3}",
        "title": "VP Sales",
        "linkedin_url": linkedin,
        "linkedin_key": linkedin.removeprefix("https://www.") if linkedin else None,
        "website": f"https://{domain}" if reachable else None,
        "grade": grade,
        "score": floor + rnd.randrange(20),
    }


def build(engine: Engine, leads: int) -> int:
    """N leads through the bulk writer, the campaign; returns the audience's size."""
    migrate.upgrade(engine)
    rnd = random.Random(7)
    shared = {
        "workspace_id": 1,
        "stage": "NEW",
        "custom_fields": {},
        "grade_reasons": [],
        "source": "bench",
        "created_at": NOW,
        "updated_at": NOW,
        "graded_at": NOW,
    }
    table = cast(Table, LeadDB.__table__)
    with session_factory(engine)() as db:
        ensure_workspace_defaults(db)
        for start in range(0, leads, CHUNK):
            rows = [lead_row(i, rnd) for i in range(start, min(leads, start + CHUNK))]
            bulk.insert_rows(db, table, rows, shared=shared)
            db.commit()
        if engine.dialect.name == "postgresql":
            db.execute(text("ANALYZE leads"))  # as the importer does after a load
            db.commit()
        campaigns.create_campaign(
            db, NAME, sequence="default", audience={"grade": ["A", "B"]}, now=NOW
        )
        campaigns.create_campaign(
            db, BASELINE, sequence="default", audience={"grade": ["A", "B"]}, now=NOW
        )
        return int(db.scalar(select(func.count()).where(LeadDB.grade.in_(["A", "B"]))) or 0)


def run_child(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """(wall seconds, stdout) of one child process running this script."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def cli(env: dict[str, str], *words: str) -> dict[str, Any]:
    """`aicmo WORDS` in a child process: ``wall_s`` as the user waits for it (Python's
    start and the imports included), ``work_s`` the command alone, ``peak_rss_mb`` the
    child's own peak memory (``ru_maxrss``), ``output``."""
    elapsed, out = run_child(["--child", "cli", "--", *words], env)
    lines = out.strip().splitlines()
    report = json.loads(lines[-1])
    return {
        "wall_s": elapsed,
        "work_s": float(report["work_s"]),
        "peak_rss_mb": float(report["peak_rss_mb"]),
        "output": "\n".join(lines[:-1]),
    }


def child_cli(words: list[str]) -> None:
    from aicmo.cli import main as aicmo_main

    t0 = time.perf_counter()
    code = aicmo_main(words)
    work = time.perf_counter() - t0
    sys.stdout.flush()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("\n" + json.dumps({"peak_rss_mb": peak, "work_s": work, "exit": code}))
    raise SystemExit(code)


def child_baseline(url: str) -> None:
    """The floor: the same enrollments in one INSERT … SELECT, nothing checked."""
    engine = make_engine(url)
    with session_factory(engine)() as db:
        campaign_id = db.scalar(select(CampaignDB.id).where(CampaignDB.name == BASELINE))
        t0 = time.perf_counter()
        db.execute(
            text(
                "INSERT INTO enrollments (workspace_id, campaign_id, lead_id, state, step_index, "
                "channel_index, retries, next_run_at, created_at, updated_at) "
                "SELECT 1, :cid, id, 'ACTIVE', 0, 0, 0, :at, :at, :at FROM leads "
                "WHERE workspace_id = 1 AND grade IN ('A', 'B')"
            ),
            {"cid": campaign_id, "at": NOW.replace(tzinfo=None)},
        )
        db.commit()
        elapsed = time.perf_counter() - t0
        db.execute(delete(EnrollmentDB).where(EnrollmentDB.campaign_id == campaign_id))
        db.commit()
    engine.dispose()
    print(json.dumps({"seconds": elapsed}))


def reset(engine: Engine) -> None:
    """Back to before the start: no enrollments, the campaign a DRAFT."""
    with session_factory(engine)() as db:
        campaign_id = db.scalar(select(CampaignDB.id).where(CampaignDB.name == NAME))
        db.execute(delete(EnrollmentDB).where(EnrollmentDB.campaign_id == campaign_id))
        db.execute(
            update(CampaignDB)
            .where(CampaignDB.id == campaign_id)
            .values(status="DRAFT", started_at=None, finished_at=None)
        )
        db.commit()


def enrolled(db: Session) -> tuple[int, int]:
    """(enrollments, distinct leads among them) of the benchmark's campaign."""
    campaign_id = db.scalar(select(CampaignDB.id).where(CampaignDB.name == NAME))
    total, distinct = db.execute(
        select(func.count(), func.count(func.distinct(EnrollmentDB.lead_id))).where(
            EnrollmentDB.campaign_id == campaign_id
        )
    ).one()
    return int(total), int(distinct)


def run_case(db_name: str, url: str, tmp: Path, leads: int, cycles: int) -> dict[str, Any]:
    engine = make_engine(url)
    try:
        t0 = time.perf_counter()
        audience = build(engine, leads)
        print(
            f"# {db_name}: {leads} leads built in {time.perf_counter() - t0:.0f} s, "
            f"audience {audience}",
            flush=True,
        )
        env = {
            **os.environ,
            "AICMO_DATABASE_URL": url,
            "AICMO_DATA_DIR": str(tmp / f"data-{db_name}"),
            "AICMO_SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
            "COLUMNS": "200",
        }
        cli(env, "campaign", "validate", NAME)  # warm-up
        got: dict[str, list[dict[str, Any]]] = {"validate": [], "start": [], "again": []}
        baseline: list[float] = []
        for cycle in range(cycles):
            if cycle:
                reset(engine)
            got["validate"].append(cli(env, "campaign", "validate", NAME))
            got["start"].append(cli(env, "campaign", "start", NAME))
            if cycle == 0:
                for name in ("validate", "start"):
                    print(f"# {name}: {got[name][0]['output'].strip().splitlines()[-1]}")
            with session_factory(engine)() as db:
                total, distinct = enrolled(db)
            if total != audience or distinct != audience:
                raise RuntimeError(f"{total} enrollments of {distinct} leads, audience {audience}")
            got["again"].append(cli(env, "campaign", "start", NAME))
            with session_factory(engine)() as db:
                if enrolled(db) != (audience, audience):
                    raise RuntimeError("the second start changed the enrollments")
            _, out = run_child(["--child", "baseline", "--url", url], env)
            baseline.append(float(json.loads(out.strip().splitlines()[-1])["seconds"]))
            # Python's start and the CLI's imports, alone: how much of each wall time
            # is the machine's load rather than the command.
            startup, _ = run_child(["--child", "cli", "--", "--help"], env)
            got.setdefault("startup", []).append({"wall_s": startup})
    finally:
        engine.dispose()

    def med(name: str, key: str) -> float:
        return float(statistics.median(r[key] for r in got[name]))

    return {
        "db": db_name,
        "ratio": statistics.median(baseline) / med("start", "wall_s"),
        "validate_s": med("validate", "wall_s"),
        "start_s": med("start", "wall_s"),
        "start_again_s": med("again", "wall_s"),
        "validate_work_s": med("validate", "work_s"),
        "start_work_s": med("start", "work_s"),
        "start_again_work_s": med("again", "work_s"),
        "startup_s": med("startup", "wall_s"),
        "baseline_s": statistics.median(baseline),
        "validate_min_s": min(r["wall_s"] for r in got["validate"]),
        "start_min_s": min(r["wall_s"] for r in got["start"]),
        "peak_rss_mb": max(
            r["peak_rss_mb"] for k in ("validate", "start", "again") for r in got[k]
        ),
        "validate_rss_mb": max(r["peak_rss_mb"] for r in got["validate"]),
        "start_rss_mb": max(r["peak_rss_mb"] for r in got["start"]),
        "audience": audience,
        "leads": leads,
        "cycles": cycles,
    }


def line(r: dict[str, Any]) -> str:
    return (
        f"ratio={r['ratio']:.2f} validate_s={r['validate_s']:.1f} start_s={r['start_s']:.1f} "
        f"start_again_s={r['start_again_s']:.1f} baseline_s={r['baseline_s']:.1f} "
        f"validate_work_s={r['validate_work_s']:.1f} start_work_s={r['start_work_s']:.1f} "
        f"start_again_work_s={r['start_again_work_s']:.1f} startup_s={r['startup_s']:.1f} "
        f"validate_min_s={r['validate_min_s']:.1f} start_min_s={r['start_min_s']:.1f} "
        f"validate_rss_mb={r['validate_rss_mb']:.0f} start_rss_mb={r['start_rss_mb']:.0f} "
        f"audience={r['audience']} leads={r['leads']} cycles={r['cycles']} db={r['db']}"
    )


def goals(r: dict[str, Any]) -> list[str]:
    """Verdicts on the wall time, as the user waits for it; the command's own time and
    Python's start (imports), measured apart, follow in brackets."""

    def check(name: str, wall: float, work: float | None, limit: float, unit: str) -> str:
        verdict = "met" if wall < limit else "MISSED"
        detail = f"{wall:.1f} {unit}"
        if work is not None:
            detail += f"; the command alone {work:.1f} s, start-up {r['startup_s']:.1f} s"
        return f"goal {name} < {limit:g} {unit}: {verdict} ({detail}) db={r['db']}"

    scale = f" (at {r['leads']} leads)" if r["leads"] != 1_000_000 else ""
    return [
        check("validate" + scale, r["validate_s"], r["validate_work_s"], GOAL_VALIDATE_S, "s"),
        check("start" + scale, r["start_s"], r["start_work_s"], GOAL_START_S, "s"),
        check("peak memory", r["peak_rss_mb"], None, GOAL_RSS_MB, "MB"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--cycles", type=int, default=1)
    parser.add_argument("--pg", help="PostgreSQL URL (default: AICMO_TEST_DATABASE_URL)")
    parser.add_argument("--no-sqlite", action="store_true", help="PostgreSQL only")
    parser.add_argument("--child", choices=["cli", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("words", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "cli":
        child_cli(args.words)
        return
    if args.child == "baseline":
        child_baseline(args.url)
        return
    results = []
    with tempfile.TemporaryDirectory(prefix="aicmo-enroll-") as tmpdir:
        tmp = Path(tmpdir)
        if not args.no_sqlite:
            url = f"sqlite:///{tmp / 'enroll.db'}"
            results.append(run_case("sqlite", url, tmp, args.leads, args.cycles))
            print(line(results[-1]), flush=True)
        base = args.pg or os.environ.get("AICMO_TEST_DATABASE_URL")
        if base:
            with pg_schema(base, "aicmo_bench_enroll") as url:
                results.append(run_case("postgresql", url, tmp, args.leads, args.cycles))
                print(line(results[-1]), flush=True)
        else:
            print("db=postgresql skipped (set AICMO_TEST_DATABASE_URL or --pg)")
    print("# worst case last:")
    for r in sorted(results, key=lambda r: -r["ratio"]):
        print(line(r))
    for r in results:
        for g in goals(r):
            print(g)


if __name__ == "__main__":
    main()
