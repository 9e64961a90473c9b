"""Exit codes under concurrency and errors: two imports of one file at once both succeed
(the second waits for SQLite's write lock), and a command that hit an error never exits 0."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROWS = 12_000  # three batches of 5000: the two imports interleave batch by batch


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AICMO_")}
    env["AICMO_DATA_DIR"] = str(tmp_path / "data")
    env["AICMO_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    env["COLUMNS"] = "200"
    return env


def _aicmo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aicmo", *args],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=300,
        check=False,
    )


def test_two_processes_importing_one_file_at_once_both_exit_0_without_duplicates(
    tmp_path: Path,
) -> None:
    assert _aicmo(tmp_path, "init").returncode == 0
    path = tmp_path / "leads.csv"
    lines = ["Email,First Name,Company,Tags"]
    lines += [f"p{i}@acme{i % 97}.example,P{i},Acme {i % 97},t{i % 5}" for i in range(ROWS)]
    path.write_text("\n".join(lines) + "\n")

    args = [sys.executable, "-m", "aicmo", "leads", "import", str(path), "--json"]
    procs = [
        subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(tmp_path)
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=300) for p in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err and "conflicts" not in err
    reports = [json.loads(out) for out, _ in outputs]
    for r in reports:
        assert r["rows"] == ROWS and r["rejected"] == 0
        assert r["created"] + r["updated"] + r["unchanged"] == ROWS
    assert sum(r["created"] for r in reports) == ROWS  # each person created exactly once

    with sqlite3.connect(tmp_path / "cli.db") as conn:
        leads, keys = conn.execute(
            "SELECT count(*), count(DISTINCT email_key) FROM leads"
        ).fetchone()
        tags = conn.execute("SELECT count(*) FROM lead_tags").fetchone()[0]
    assert leads == keys == ROWS
    assert tags == ROWS


def test_inbox_poll_exits_1_when_a_mailbox_cannot_be_read(tmp_path: Path) -> None:
    assert _aicmo(tmp_path, "init").returncode == 0
    env_name = "TEST_IMAP_PASSWORD"
    os.environ[env_name] = "pw"
    try:
        added = _aicmo(
            tmp_path,
            "mailbox",
            "add",
            "sales",
            "--from",
            "alex@acme.example",
            "--imap-host",
            "127.0.0.1",
            "--imap-port",
            "1",  # nothing listens there: connection refused
            "--imap-security",
            "none",
            "--imap-password-env",
            env_name,
        )
    finally:
        del os.environ[env_name]
    assert added.returncode == 0, added.stderr
    polled = _aicmo(tmp_path, "inbox", "poll")
    assert polled.returncode == 1
    assert "cannot reach IMAP server" in polled.stdout and "Traceback" not in polled.stderr
