"""`aicmo tasks`, `aicmo linkedin` and `aicmo form check` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.form_sites import FormSites, create_form_sites
from tests.http_server import serve


def aicmo(tmp_path: Path, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env["AICMO_DATA_DIR"] = str(tmp_path / "data")
    env["AICMO_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    env["COLUMNS"] = "200"
    env.update(env_extra)
    return subprocess.run(
        [sys.executable, "-m", "aicmo", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_a_linkedin_step_becomes_a_task_the_operator_lists_and_completes(tmp_path: Path) -> None:
    assert aicmo(tmp_path, "init").returncode == 0
    listed = aicmo(tmp_path, "linkedin", "list")
    assert "No LinkedIn account" in listed.stdout
    campaign = tmp_path / "li.yaml"
    campaign.write_text(
        "name: LI\n"
        "audience: {tag: li}\n"
        "steps:\n"
        "  - channel: LINKEDIN\n"
        "    template:\n"
        "      body: 'Hi {{ first_name }}, loved your talk.'\n"
        "  - channel: LINKEDIN\n"
        "    delay_hours: 48\n"
        "    template: {body: 'A follow-up.'}\n"
    )
    added = aicmo(
        tmp_path,
        "lead",
        "add",
        "linkedin_url=https://www.linkedin.com/in/ada-l",
        "first_name=Ada",
        "--tag",
        "li",
    )
    assert added.returncode == 0, added.stderr
    assert aicmo(tmp_path, "campaign", "create", str(campaign)).returncode == 0
    assert aicmo(tmp_path, "campaign", "start", "LI").returncode == 0
    assert aicmo(tmp_path, "worker", "--once").returncode == 0
    tasks = aicmo(tmp_path, "tasks", "list", "--full")
    assert tasks.returncode == 0
    assert "Hi Ada, loved your talk." in tasks.stdout
    assert "https://www.linkedin.com/in/ada-l" in tasks.stdout
    done = aicmo(tmp_path, "tasks", "done", "1", "--note", "sent")
    assert done.returncode == 0 and "advance" in done.stdout
    again = aicmo(tmp_path, "tasks", "done", "1")
    assert again.returncode == 1 and "already done" in again.stderr
    skipped = aicmo(tmp_path, "tasks", "skip", "99", "--reason", "x")
    assert skipped.returncode == 1 and "no task #99" in skipped.stderr
    assert "Nothing to do" in aicmo(tmp_path, "tasks", "list").stdout


def test_linkedin_add_reads_the_key_from_the_environment_and_never_prints_it(
    tmp_path: Path,
) -> None:
    assert aicmo(tmp_path, "init").returncode == 0
    missing = aicmo(
        tmp_path,
        "linkedin",
        "add",
        "alex",
        "--dsn",
        "https://api1.unipile.example:13111",
        "--account-id",
        "acc1",
    )
    assert missing.returncode == 2 and "UNIPILE_API_KEY" in missing.stderr
    added = aicmo(
        tmp_path,
        "linkedin",
        "add",
        "alex",
        "--dsn",
        "https://api1.unipile.example:13111",
        "--account-id",
        "acc1",
        UNIPILE_API_KEY="very-secret-key-123",
    )
    assert added.returncode == 0, added.stderr
    listed = aicmo(tmp_path, "linkedin", "list")
    assert "alex" in listed.stdout and "very-secret-key-123" not in listed.stdout + added.stdout


def test_form_check_explains_the_choice_and_the_filling_without_submitting(
    tmp_path: Path,
) -> None:
    sites = FormSites()
    with serve(create_form_sites(sites)) as base:
        report = aicmo(
            tmp_path,
            "form",
            "check",
            f"{base}/multi_form/",
            AICMO_ALLOW_LOOPBACK="1",
            AICMO_SENDER_NAME="Alex Martin",
        )
        assert report.returncode == 0, report.stdout + report.stderr
        assert "picked form #3" in report.stdout and "would be submitted" in report.stdout
        blocked = aicmo(tmp_path, "form", "check", f"{base}/recaptcha/", AICMO_ALLOW_LOOPBACK="1")
        assert blocked.returncode == 1 and "recaptcha" in blocked.stdout.lower()
        refused = aicmo(tmp_path, "form", "check", f"{base}/cf7/")
        assert refused.returncode == 1 and "refused" in refused.stderr
    assert sites.posts == []
