"""The crash test: worker processes killed with SIGKILL at random moments, restarted until
the campaign is done; no lead ever gets a step twice, and every attempt is accounted for.

A loopback SMTP sink (slowed down so kills land mid-send) counts what really arrived.
Runs on SQLite, and on PostgreSQL when AICMO_TEST_DATABASE_URL is set. The harness is in
``tests/e2e/crash.py``; ``bench/crash.py`` runs it at 2,000 leads.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from tests.e2e.crash import check_crash, run_crash

LEADS = 150
KILLS = 20


def test_killed_workers_never_send_a_step_twice(db: Session, db_url: str, tmp_path: Path) -> None:
    run = run_crash(db, db_url, tmp_path / "data", leads=LEADS, kills=KILLS)
    statuses = check_crash(db, run)
    print(f"kills={run.kills} received={len(run.received)} statuses={dict(statuses)}")
    assert run.kills >= KILLS, "the campaign finished before enough kills: make the sink slower"
