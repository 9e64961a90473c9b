"""``aicmo metrics rebuild`` and ``aicmo retention prune`` as a user runs them."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import aicmo


def test_rebuild_and_prune_commands_report_and_refuse_bad_input(tmp_path: Path) -> None:
    assert aicmo(tmp_path, "init").returncode == 0
    leads = tmp_path / "leads.csv"
    leads.write_text("Email,First Name\nceo@acme.example,Ada\n")
    assert aicmo(tmp_path, "leads", "import", str(leads)).returncode == 0
    rebuilt = aicmo(tmp_path, "metrics", "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert "Rebuilt 1 day(s)" in rebuilt.stdout
    ranged = aicmo(tmp_path, "metrics", "rebuild", "--from", "2026-01-01", "--to", "2026-01-03")
    assert ranged.returncode == 0 and "Rebuilt 3 day(s), 2026-01-01 to 2026-01-03" in ranged.stdout
    bad = aicmo(tmp_path, "metrics", "rebuild", "--from", "01/02/2026")
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr
    backwards = aicmo(tmp_path, "metrics", "rebuild", "--from", "2026-02-02", "--to", "2026-02-01")
    assert backwards.returncode == 1 and "after" in backwards.stderr
    unset = aicmo(tmp_path, "retention", "prune")
    assert unset.returncode == 1 and "AICMO_RETENTION_DAYS" in unset.stderr
    pruned = aicmo(tmp_path, "retention", "prune", "--days", "30")
    assert pruned.returncode == 0 and "0 sent message(s)" in pruned.stdout
