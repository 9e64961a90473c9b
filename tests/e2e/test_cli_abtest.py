"""`aicmo campaign ab` as a user runs it: a campaign file with variants, a real worker
pass through the outbox, then the table and the verdict."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli import aicmo

CAMPAIGN = """\
name: Subject test
audience: {tag: ab}
settings:
  ab_test: {baseline_rate: 0.05, min_effect: 0.05}
steps:
  - channel: EMAIL
    template: {subject: "Hello {{ first_name }}", body: "Long body"}
    variants:
      - {name: control}
      - {name: short, subject: "Quick question", weight: 1}
  - channel: EMAIL
    delay_hours: 48
    template: {subject: "Again", body: "Two"}
"""


def test_campaign_ab_shows_each_variant_and_the_verdict(tmp_path: Path) -> None:
    assert aicmo(tmp_path, "init").returncode == 0
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "Email,First Name,Tags\n" + "".join(f"p{i}@acme.example,P{i},ab\n" for i in range(30)),
        encoding="utf-8",
    )
    assert aicmo(tmp_path, "leads", "import", str(leads)).returncode == 0
    spec = tmp_path / "campaign.yaml"
    spec.write_text(CAMPAIGN, encoding="utf-8")
    created = aicmo(tmp_path, "campaign", "create", str(spec))
    assert created.returncode == 0, created.stderr
    started = aicmo(tmp_path, "campaign", "start", "Subject test")
    assert started.returncode == 0, started.stderr
    worked = aicmo(tmp_path, "worker", "--once")
    assert worked.returncode == 0, worked.stderr

    run = aicmo(tmp_path, "campaign", "ab", "Subject test", "--metric", "replied")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "replies per lead sent" in out
    assert "Step 1" in out and "control (control)" in out and "short" in out
    rows = [line for line in out.splitlines() if "control (control)" in line or "short " in line]
    sent = [int(line.split("│")[3].strip()) for line in rows]
    assert sum(sent) == 30 and all(n > 0 for n in sent)
    assert "not enough data: about" in out

    wrong = aicmo(tmp_path, "campaign", "ab", "Subject test", "--step", "2")
    assert wrong.returncode == 1
    assert "step 2 has no variants (steps with variants: 1)" in wrong.stderr
    bad = aicmo(tmp_path, "campaign", "ab", "Subject test", "--metric", "opened")
    assert bad.returncode == 2
