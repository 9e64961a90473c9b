"""Benchmark: `aicmo leads import` against pandas.read_csv + DataFrame.to_sql.

Generates a CSV of made-up leads (Apollo-style header, reserved example domains), then,
in the same run and on the same file, imports it with our full path (encoding check,
delimiter sniff, header mapping, email validation, dedupe, batched inserts, grading)
into a fresh database, and loads it with pandas (`read_csv` + `to_sql(method="multi",
chunksize=1000)`, no validation at all) into another. Each side runs in its own child
process so its peak RSS is its own. Prints one line per case, ratio first, worst last.

    python bench/import_csv.py [--rows 200000] [--cycles 3]

PostgreSQL cases run when AICMO_TEST_DATABASE_URL is set (own schema, dropped after).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

HEADER = [
    "First Name",
    "Last Name",
    "Title",
    "Company",
    "Email",
    "Seniority",
    "Person Linkedin Url",
    "Website",
    "City",
    "Country",
    "# Employees",
    "Industry",
]
TITLES = [
    "CEO",
    "VP Sales",
    "Head of Growth",
    "Director of Engineering",
    "Software Engineer",
    "Marketing Manager",
    "Founder",
    "CTO",
    "Account Executive",
    "Office Manager",
]
INDUSTRIES = ["Computer Software", "SaaS", "Financial Services", "Retail", "Logistics", "Marketing"]
COUNTRIES = ["United States", "France", "Germany", "United Kingdom", "Canada", "Spain"]


def generate(path: Path, rows: int, seed: int = 7) -> None:
    rnd = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(HEADER)
        for i in range(rows):
            first, last = f"First{i}", f"Last{rnd.randint(0, 99999)}"
            company = f"Company {i // 3}"
            domain = f"company{i // 3}.example"
            w.writerow(
                [
                    first,
                    last,
                    rnd.choice(TITLES),
                    company,
                    f"{first.lower()}.{i}@{domain}",
                    rnd.choice(["c_suite", "vp", "director", "manager", "senior", ""]),
                    f"https://www.linkedin.com/in/{first.lower()}-{i}" if i % 2 else "",
                    domain,
                    "Springfield",
                    rnd.choice(COUNTRIES),
                    str(rnd.choice([5, 40, 250, 1200, 8000])),
                    rnd.choice(INDUSTRIES),
                ]
            )


def pg_url_with_schema(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options=-csearch_path%3D{schema}"


def child_ours(csv_path: str, url: str) -> dict[str, float]:
    from aicmo.db import migrate
    from aicmo.db.connect import make_engine, session_factory
    from aicmo.operator_services import import_leads_csv
    from aicmo.operator_services.crm.workspace import ensure_workspace_defaults

    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_factory(engine)() as db:
        ensure_workspace_defaults(db)
        t0 = time.perf_counter()
        report = import_leads_csv(db, csv_path)
        elapsed = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": elapsed, "rows": report.created, "rejected": report.rejected_count}


def child_pandas(csv_path: str, url: str) -> dict[str, float]:
    import pandas as pd
    from sqlalchemy import create_engine

    from aicmo.db.connect import normalize_url

    engine = create_engine(normalize_url(url))
    t0 = time.perf_counter()
    frame = pd.read_csv(csv_path)
    frame.to_sql(
        "leads_pandas", engine, if_exists="replace", index=False, method="multi", chunksize=1000
    )
    elapsed = time.perf_counter() - t0
    engine.dispose()
    return {"seconds": elapsed, "rows": len(frame), "rejected": 0}


def run_child(kind: str, csv_path: Path, url: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--csv", str(csv_path), "--url", url],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def fresh_sqlite(tmp: Path, name: str) -> str:
    path = tmp / f"{name}-{uuid.uuid4().hex[:6]}.db"
    return f"sqlite:///{path}"


def bench_case(db: str, csv_path: Path, tmp: Path, cycles: int) -> tuple[float, str]:
    ours_s: list[float] = []
    theirs_s: list[float] = []
    rss_ours = rss_theirs = 0.0
    rows = 0
    base = os.environ.get("AICMO_TEST_DATABASE_URL")
    for _ in range(cycles):
        for kind in ("ours", "pandas"):
            if db == "sqlite":
                url = fresh_sqlite(tmp, kind)
                cleanup = None
            else:
                assert base is not None
                from sqlalchemy import create_engine, text

                from aicmo.db.connect import normalize_url

                schema = f"bench_{uuid.uuid4().hex[:8]}"
                admin = create_engine(normalize_url(base))
                with admin.begin() as conn:
                    conn.execute(text(f'CREATE SCHEMA "{schema}"'))
                url = pg_url_with_schema(base, schema)
                cleanup = (admin, schema)
            try:
                result = run_child(kind, csv_path, url)
            finally:
                if cleanup is not None:
                    admin, schema = cleanup
                    with admin.begin() as conn:
                        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                    admin.dispose()
            if kind == "ours":
                ours_s.append(result["seconds"])
                rss_ours = max(rss_ours, result["peak_rss_mb"])
                rows = int(result["rows"])
            else:
                theirs_s.append(result["seconds"])
                rss_theirs = max(rss_theirs, result["peak_rss_mb"])
    ours_rate = rows / statistics.median(ours_s)
    theirs_rate = rows / statistics.median(theirs_s)
    ratio = ours_rate / theirs_rate
    line = (
        f"ratio={ratio:.2f} ours_rows_per_s={ours_rate:.0f} pandas_rows_per_s={theirs_rate:.0f} "
        f"ours_min_s={min(ours_s):.2f} ours_median_s={statistics.median(ours_s):.2f} "
        f"pandas_min_s={min(theirs_s):.2f} pandas_median_s={statistics.median(theirs_s):.2f} "
        f"ours_peak_rss_mb={rss_ours:.0f} pandas_peak_rss_mb={rss_theirs:.0f} "
        f"rows={rows} cycles={cycles} db={db}"
    )
    return ratio, line


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--cycles", type=int, default=3)
    parser.add_argument("--child", choices=["ours", "pandas"])
    parser.add_argument("--csv")
    parser.add_argument("--url")
    args = parser.parse_args()
    if args.child:
        fn = child_ours if args.child == "ours" else child_pandas
        result = fn(args.csv, args.url)
        result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(result))
        return
    with tempfile.TemporaryDirectory(prefix="aicmo-bench-") as tmpdir:
        tmp = Path(tmpdir)
        csv_path = tmp / "leads.csv"
        generate(csv_path, args.rows)
        print(
            f"# {args.rows} rows, {csv_path.stat().st_size / 1e6:.1f} MB; warm-up run first",
            flush=True,
        )
        warm = tmp / "warm.csv"
        generate(warm, 2000)
        run_child("ours", warm, fresh_sqlite(tmp, "warm"))
        run_child("pandas", warm, fresh_sqlite(tmp, "warm"))
        results = [bench_case("sqlite", csv_path, tmp, args.cycles)]
        if os.environ.get("AICMO_TEST_DATABASE_URL"):
            results.append(bench_case("postgresql", csv_path, tmp, args.cycles))
        else:
            print("db=postgresql skipped (set AICMO_TEST_DATABASE_URL)")
        for _, line in sorted(results, key=lambda r: -r[0]):
            print(line, flush=True)


if __name__ == "__main__":
    main()
