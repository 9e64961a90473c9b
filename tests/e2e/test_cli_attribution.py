"""`aicmo costs …` and `aicmo attribution` as an operator uses them, on a database that
holds a real history (``tests.attribution_history``)."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

from aicmo.config import get_settings
from aicmo.db.connect import make_engine, session_factory
from tests.attribution_history import make_history


def aicmo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env.update(
        AICMO_DATA_DIR=str(tmp_path / "data"),
        AICMO_DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        AICMO_SECRET_KEY=get_settings().get_secret_key(),
        COLUMNS="250",
    )
    return subprocess.run(
        [sys.executable, "-m", "aicmo", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_an_operator_sets_costs_and_reads_the_attribution_report(tmp_path: Path) -> None:
    assert aicmo(tmp_path, "init").returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    try:
        with session_factory(engine)() as db:
            make_history(db)
    finally:
        engine.dispose()

    empty = aicmo(tmp_path, "costs", "list")
    assert empty.returncode == 0 and "No cost set" in empty.stdout
    email = aicmo(tmp_path, "costs", "set", "--channel", "EMAIL", "--monthly", "30",
                  "--per-action", "0.10", "--currency", "eur")  # fmt: skip
    assert email.returncode == 0, email.stderr
    assert "30.00 EUR a month, 0.10 EUR per send" in email.stdout
    linkedin = aicmo(tmp_path, "costs", "set", "--channel", "linkedin", "--per-action", "2")
    assert linkedin.returncode == 0, linkedin.stderr
    listed = aicmo(tmp_path, "costs", "list")
    lines = [line.split() for line in listed.stdout.splitlines()]
    assert ["channel", "EMAIL", "EMAIL", "30.00", "0.10", "EUR"] in lines
    assert ["channel", "LINKEDIN", "LINKEDIN", "0.00", "2.00", "EUR"] in lines
    refused = aicmo(tmp_path, "costs", "set", "--mailbox", "nope", "--monthly", "5")
    assert refused.returncode == 1 and "no mailbox named 'nope'" in refused.stderr
    other = aicmo(tmp_path, "costs", "set", "--channel", "EMAIL", "--monthly", "5",
                  "--currency", "USD")  # fmt: skip
    assert other.returncode == 1 and "one currency per workspace" in other.stderr

    table = aicmo(tmp_path, "attribution", "--model", "position_based",
                  "--from", "2026-11-01", "--to", "2026-11-30")  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "Attribution (position_based), 2026-11-01 to 2026-11-30" in table.stdout
    assert "Q4" in table.stdout and "(no campaign)" in table.stdout
    assert "Money in EUR" in table.stdout
    assert "Unattributed" in table.stdout and "1 reply" in table.stdout

    out = aicmo(tmp_path, "attribution", "--model", "linear", "--from", "2026-11-01",
                "--to", "2026-11-30", "--campaign", "Q4", "--format", "csv")  # fmt: skip
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    by_key = {(r["campaign"], r["step"], r["channel"], r["variant"]): r for r in rows}
    # Steps are numbered from 1. Linear, A's three touches: a third each (the odd cent to
    # the first); costs as in the service test: 6.10 per email, 2.00 for the LinkedIn task.
    first = by_key[("Q4", "1", "EMAIL", "A")]
    assert (first["won_value"], first["cost"], first["roi"]) == ("333.34", "6.10", "53.6459")
    task = by_key[("Q4", "3", "LINKEDIN", "A")]
    assert (task["won_value"], task["cost"], task["replies"]) == ("333.33", "2.00", "0.3333")
    assert rows[-1]["campaign"] == "TOTAL" and rows[-1]["won_value"] == "1000.00"
    assert rows[-1]["cost"] == "26.40"  # this campaign's share only
    assert not any(r["campaign"] == "" for r in rows)  # the one-off email is not Q4's

    bad_model = aicmo(tmp_path, "attribution", "--model", "time_decay",
                      "--from", "2026-11-01", "--to", "2026-11-30")  # fmt: skip
    assert bad_model.returncode == 1 and "use one of first_touch" in bad_model.stderr
    bad_day = aicmo(tmp_path, "attribution", "--from", "November", "--to", "2026-11-30")
    assert bad_day.returncode == 2 and "--from must be a date" in bad_day.stderr
    unknown = aicmo(tmp_path, "attribution", "--from", "2026-11-01", "--to", "2026-11-30",
                    "--campaign", "Nope")  # fmt: skip
    assert unknown.returncode == 1 and "no campaign named 'Nope'" in unknown.stderr
    assert "Traceback" not in unknown.stderr + bad_day.stderr + bad_model.stderr
